import type { ChangeDeriver } from '../../events/change-relay.js';
import type { PriceHistoryRepository } from '../../store/repositories/price-history.repository.js';
import type { ChangeDraftValue } from '../changes/change-event.js';
import type { PriceChangeRecord } from './pricing.types.js';

/**
 * Writes the price history from the change log's side of a price write, as the inventory ledger is written
 * (ledger-recorder.ts): each price change that records an operation becomes its history entry, inserted by the
 * relay before the change leaves the price's outbox, so no applied change lacks its entry whatever dies when.
 * Readers take entries still pending from the price's outbox ({@link PriceService.historyOf}).
 */
export class PriceHistoryRecorder implements ChangeDeriver {
  constructor(private readonly history: PriceHistoryRepository) {}

  async derive(changes: readonly ChangeDraftValue[]): Promise<void> {
    await this.history.insertManyIfAbsent(priceChangesOfChanges(changes));
  }
}

/** The history entries the store holds, or will hold once the relay has them, for these price changes. */
export function priceChangesOfChanges(changes: readonly ChangeDraftValue[]): PriceChangeRecord[] {
  return changes.flatMap((change) => (change.entity === 'Price' && change.operationId !== undefined ? [priceChangeOfChange(change.operationId, change)] : []));
}

/** The history entry of operation `operationId`, from the change its price write made (`previous`: the state before). */
export function priceChangeOfChange(operationId: string, change: ChangeDraftValue): PriceChangeRecord {
  type State = { readonly amount: number; readonly compareAtAmount: number | null };
  const data = change.data as State & { readonly priceList: string; readonly sku: string; readonly previous?: State | null };
  return {
    id: operationId,
    priceList: data.priceList,
    sku: data.sku,
    before: data.previous ? { amount: data.previous.amount, compareAtAmount: data.previous.compareAtAmount, version: change.version - 1 } : null,
    after: { amount: data.amount, compareAtAmount: data.compareAtAmount, version: change.version },
    apiKeyId: change.origin.apiKeyId ?? 'system',
    apiKey: change.origin.apiKey ?? 'system',
    // setPrices requires a key: its changes always carry one.
    idempotencyKey: change.origin.idempotencyKey ?? '',
    at: change.at,
  };
}
