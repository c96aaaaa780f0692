import type { ChangeDeriver } from '../../events/change-relay.js';
import type { InventoryMovementRepository } from '../../store/repositories/inventory-movement.repository.js';
import type { ChangeDraftValue } from '../changes/change-event.js';
import type { InventoryFlag, InventoryMovementRecord, InventoryReason } from './inventory.types.js';

/**
 * Writes the ledger from the change log's side of a position write: each change that records an operation
 * (`operationId`, set by the position writer) becomes that operation's movement, inserted by the relay before the
 * change leaves the position's outbox. A movement therefore exists for every applied change whatever dies when —
 * the request's gateway after its position write included, with or without a retry — the same way the change's
 * event does. A request sends one command fewer; its movements can be read at once all the same, since a reader
 * takes those still pending from the position's outbox ({@link InventoryService.listMovements}).
 *
 * Repeats (a relay that died before clearing the outbox, a batch drained again) insert nothing: a movement's id is
 * its operation id.
 */
export class LedgerRecorder implements ChangeDeriver {
  constructor(private readonly movements: InventoryMovementRepository) {}

  async derive(changes: readonly ChangeDraftValue[]): Promise<void> {
    await this.movements.insertManyIfAbsent(movementsOfChanges(changes));
  }
}

/** The movements the ledger holds, or will hold once the relay has them, for these position changes. */
export function movementsOfChanges(changes: readonly ChangeDraftValue[]): InventoryMovementRecord[] {
  return changes.flatMap((change) => (change.entity === 'InventoryPosition' && change.operationId !== undefined ? [movementOfChange(change.operationId, change)] : []));
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
