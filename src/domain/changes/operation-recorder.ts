import type { ChangeDeriver } from '../../events/change-relay.js';
import type { ChangeDraftValue, ChangeEntity } from './change-event.js';

/**
 * Writes a record per operation — the inventory ledger's movements, the price history's entries — from the changes
 * that carry an operation id (set by the writer in the outbox entry), in the relay, before those changes leave
 * their outboxes. So a record exists for every applied change whatever dies when (the request's gateway right after
 * its write included, with or without a retry), the same way the change's event does, and a request sends one
 * command fewer. Readers merge the records still pending in the document's outbox (`recordsOfOperations` over
 * its pending changes, read before the records): see InventoryService.listMovements, PriceService.historyOf.
 *
 * `insert` must insert only what is absent (a record's id is its operation id): a batch is drained again when a
 * relay dies before clearing it.
 */
export class OperationRecorder<R> implements ChangeDeriver {
  constructor(
    private readonly recordsOf: (changes: readonly ChangeDraftValue[]) => R[],
    private readonly insert: (records: readonly R[]) => Promise<void>,
  ) {}

  async derive(changes: readonly ChangeDraftValue[]): Promise<void> {
    const records = this.recordsOf(changes);
    if (records.length > 0) await this.insert(records);
  }
}

/** The records of the changes of `entity` that carry an operation id, in the order of the changes. */
export function recordsOfOperations<R>(changes: readonly ChangeDraftValue[], entity: ChangeEntity, recordOf: (operationId: string, change: ChangeDraftValue) => R): R[] {
  return changes.flatMap((change) => (change.entity === entity && change.operationId !== undefined ? [recordOf(change.operationId, change)] : []));
}
