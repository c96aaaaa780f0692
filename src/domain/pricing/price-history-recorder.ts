import type { ChangeDraftValue } from '../changes/change-event.js';
import { recordsOfOperations } from '../changes/operation-recorder.js';
import type { PriceChangeRecord } from './pricing.types.js';

/** The history entries the store holds, or will once the relay has them (OperationRecorder), for these changes. */
export function priceChangesOfChanges(changes: readonly ChangeDraftValue[]): PriceChangeRecord[] {
  return recordsOfOperations(changes, 'Price', priceChangeOfChange);
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
