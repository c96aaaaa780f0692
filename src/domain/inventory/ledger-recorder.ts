import type { ChangeDraftValue } from '../changes/change-event.js';
import { recordsOfOperations } from '../changes/operation-recorder.js';
import type { InventoryFlag, InventoryMovementRecord, InventoryReason } from './inventory.types.js';

/** The movements the ledger holds, or will once the relay has them (OperationRecorder), for these changes. */
export function movementsOfChanges(changes: readonly ChangeDraftValue[]): InventoryMovementRecord[] {
  return recordsOfOperations(changes, 'InventoryPosition', movementOfChange);
}

/**
 * The movement of operation `operationId`, from the position change it made (see the position finalizer in
 * store/change-finalizers.ts: onHand after the change, its delta, its flags; the origin says who and why).
 */
export function movementOfChange(operationId: string, change: ChangeDraftValue): InventoryMovementRecord {
  const data = change.data as { readonly onHand: number; readonly delta: { readonly onHand: number }; readonly flags?: readonly InventoryFlag[] };
  const { origin } = change;
  return {
    id: operationId,
    skuCode: change.sku!,
    locationCode: change.location!,
    delta: data.delta.onHand,
    reason: origin.reason as InventoryReason,
    referenceDocument: origin.referenceDocument,
    // Position writes come from requests (the sweeper's as the system caller): the origin names the API key.
    apiKeyId: origin.apiKeyId ?? 'system',
    apiKey: origin.apiKey ?? 'system',
    idempotencyKey: origin.idempotencyKey,
    onHandBefore: data.onHand - data.delta.onHand,
    onHandAfter: data.onHand,
    flags: data.flags ?? [],
    at: change.at,
  };
}
