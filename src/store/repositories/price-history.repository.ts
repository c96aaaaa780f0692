import type { Connection, Model } from 'mongoose';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import type { PriceChangeRecord } from '../../domain/pricing/pricing.types.js';
import { priceHistorySchema, type PriceHistoryDocument } from '../models/price-history.model.js';
import { isOnlyDuplicateKeyErrors } from './mongo-errors.js';

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

  /**
   * Writes the entries that do not exist yet, in one round trip (the relay, from the changes: OperationRecorder);
   * those written before are left as they are.
   */
  async insertManyIfAbsent(changes: readonly PriceChangeRecord[]): Promise<void> {
    if (changes.length === 0) return;
    const documents = changes.map(({ id, ...entry }) => ({ _id: id, ...entry, before: entry.before ? { ...entry.before } : null, after: { ...entry.after } }));
    try {
      // The driver's collection, as the inventory ledger's (mongoose's per-document validation adds nothing here).
      await this.model.collection.insertMany(documents as never[], { ordered: false });
    } catch (error) {
      // Written before (a batch drained again): the unique _id refuses the copy, which is the point.
      if (!isOnlyDuplicateKeyErrors(error)) throw error;
    }
  }

  async findByIds(ids: readonly string[]): Promise<PriceChangeRecord[]> {
    if (ids.length === 0) return [];
    const documents = await this.model.find({ _id: { $in: [...ids] } }).lean<StoredChange[]>().exec();
    return documents.map(toRecord);
  }

  /**
   * One page of a price's history, newest first (by version); cursors carry the version. `unwritten`: the price's
   * entries the relay may not have written yet (from its outbox, read before this), merged in by id and version.
   */
  async page(priceList: string, sku: string, request: PageRequest, beforeVersion: number | null, unwritten: readonly PriceChangeRecord[] = []): Promise<Page<PriceChangeRecord>> {
    const query = { priceList, sku };
    const paged = beforeVersion === null ? query : { ...query, 'after.version': { $lt: beforeVersion } };
    const documents = await this.model.find(paged).sort({ 'after.version': -1 }).limit(request.first + 1).lean<StoredChange[]>().exec();
    const written = documents.map(toRecord);
    const extra = unwritten.filter((change) => beforeVersion === null || change.after.version < beforeVersion);
    const ids = new Set(written.map((change) => change.id));
    const rows = extra.length === 0 ? written : [...written, ...extra.filter((change) => !ids.has(change.id))].sort((a, b) => b.after.version - a.after.version).slice(0, request.first + 1);
    const count = () => this.model.countDocuments(query).exec();
    return pageOf(rows, request, (change) => String(change.after.version), async () => {
      if (unwritten.length === 0) return count();
      const [total, alreadyWritten] = await Promise.all([count(), this.model.countDocuments({ _id: { $in: unwritten.map((change) => change.id) } }).exec()]);
      return total + unwritten.length - alreadyWritten;
    });
  }
}

