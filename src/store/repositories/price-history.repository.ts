import type { Connection, Model } from 'mongoose';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import type { PriceChangeRecord } from '../../domain/pricing/pricing.types.js';
import { priceHistorySchema, type PriceHistoryDocument } from '../models/price-history.model.js';
import { isDuplicateKeyError } from './mongo-errors.js';

type StoredChange = PriceHistoryDocument & { _id: string };

function toRecord(document: StoredChange): PriceChangeRecord {
  const state = (s: { amount: number; compareAtAmount?: number | null; version: number }) => ({ amount: s.amount, compareAtAmount: s.compareAtAmount ?? null, version: s.version });
  return {
    id: document._id,
    priceList: document.priceList,
    sku: document.sku,
    before: document.before ? state(document.before) : null,
    after: state(document.after),
    apiKeyId: document.apiKeyId,
    apiKey: document.apiKey,
    idempotencyKey: document.idempotencyKey,
    at: document.at,
  };
}

/** The price history: append-only, one entry per applied change, keyed by the operation id. */
export class PriceHistoryRepository {
  private readonly model: Model<StoredChange>;

  constructor(connection: Connection) {
    this.model = connection.model<StoredChange>('PriceChange', priceHistorySchema);
  }

  /** Inserts the entry unless one with its id exists: safe to repeat, so a retried item never duplicates it. */
  async ensure(change: PriceChangeRecord): Promise<void> {
    const { id, ...entry } = change;
    try {
      await this.model.updateOne({ _id: id }, { $setOnInsert: { ...entry, before: entry.before ? { ...entry.before } : null, after: { ...entry.after } } }, { upsert: true }).exec();
    } catch (error) {
      // Two upserts of the same id raced (possible on real MongoDB): the other one inserted it.
      if (isDuplicateKeyError(error, '_id')) return;
      throw error;
    }
  }

  async findByIds(ids: readonly string[]): Promise<PriceChangeRecord[]> {
    if (ids.length === 0) return [];
    const documents = await this.model.find({ _id: { $in: [...ids] } }).lean<StoredChange[]>().exec();
    return documents.map(toRecord);
  }

  /** One page of a price's history, newest first (by version); cursors carry the version. */
  async page(priceList: string, sku: string, request: PageRequest, beforeVersion: number | null): Promise<Page<PriceChangeRecord>> {
    const query = { priceList, sku };
    const paged = beforeVersion === null ? query : { ...query, 'after.version': { $lt: beforeVersion } };
    const documents = await this.model.find(paged).sort({ 'after.version': -1 }).limit(request.first + 1).lean<StoredChange[]>().exec();
    return pageOf(documents.map(toRecord), request, (change) => String(change.after.version), () => this.model.countDocuments(query).exec());
  }
}
