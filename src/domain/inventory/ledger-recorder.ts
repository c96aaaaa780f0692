import type { ChangeLogRepository } from '../../store/repositories/change-log.repository.js';
import type { InventoryMovementRepository } from '../../store/repositories/inventory-movement.repository.js';
import { operationEventId, type ChangeDraftValue } from '../changes/change-event.js';
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

/**
 * The movements of these operations wherever they are, for a resumed request or reset run whose operations their
 * positions no longer remember: in the ledger, else rebuilt from the change the operation made (its event id
 * derives from the operation id), pending in the position's outbox while the relay has not written the movement,
 * or logged (the log is kept at least as long as idempotency keys). Absent: never applied.
 */
export async function findMovements(
  stores: { readonly movements: InventoryMovementRepository; readonly changeLog: ChangeLogRepository },
  operations: readonly { readonly opId: string; readonly positionKey: string }[],
): Promise<Map<string, InventoryMovementRecord>> {
  const found = new Map<string, InventoryMovementRecord>();
  if (operations.length === 0) return found;
  for (const movement of await stores.movements.findByIds(operations.map((operation) => operation.opId))) found.set(movement.id, movement);
  const byEventId = new Map(operations.filter((operation) => !found.has(operation.opId)).map((operation) => [operationEventId('InventoryPosition', operation.opId), operation]));
  if (byEventId.size === 0) return found;
  const keys = [...new Set([...byEventId.values()].map((operation) => operation.positionKey))];
  // findChanges reads the outboxes before the log: an entry leaves its outbox only once it is logged.
  for (const change of await stores.changeLog.findChanges('InventoryPosition', keys, [...byEventId.keys()])) {
    const operation = byEventId.get(change.eventId);
    if (operation) found.set(operation.opId, movementOfChange(operation.opId, change));
  }
  return found;
}
