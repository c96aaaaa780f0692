import type { Connection, Model } from 'mongoose';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import { priceKey, type PriceChangeRecord, type PriceRecord, type PriceStateValue, type StoredPrice } from '../../domain/pricing/pricing.types.js';
import { priceSchema, type PriceDocument } from '../models/price.model.js';
import type { OutboxEntryValue } from '../../domain/changes/change-event.js';
import { outboxOnInsert, withOutbox, type OutboxSignal } from '../outbox.js';
import { isDuplicateKeyError } from './mongo-errors.js';

type StoredPriceDocument = PriceDocument & { _id: string };
type StoredState = { amount: number; compareAtAmount?: number | null; version: number };

/**
 * How many applied operations a price document remembers. They only need to cover a crash between the price
 * write and its history write (the history itself is checked too), so a handful is plenty.
 */
export const RECENT_CHANGES_KEPT = 16;

/** Reads that return prices leave the recent operations on the server. */
const WITHOUT_RECENT_CHANGES = { recentChanges: 0 } as const;

function stateOf(state: StoredState): PriceStateValue {
  return { amount: state.amount, compareAtAmount: state.compareAtAmount ?? null, version: state.version };
}

function toRecord(document: Omit<StoredPriceDocument, 'recentChanges'>): PriceRecord {
  return {
    key: document._id,
    priceList: document.priceList,
    sku: document.sku,
    amount: document.amount,
    compareAtAmount: document.compareAtAmount ?? null,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

function toStored(document: StoredPriceDocument): StoredPrice {
  return {
    record: toRecord(document),
    recentChanges: document.recentChanges.map((change) => ({
      id: change.id,
      priceList: document.priceList,
      sku: document.sku,
      before: change.before ? stateOf(change.before) : null,
      after: stateOf(change.after),
      apiKeyId: change.apiKeyId,
      apiKey: change.apiKey,
      idempotencyKey: change.idempotencyKey,
      at: change.at,
    })),
  };
}

/** The change as kept in the price document (list and SKU are the document's own). */
function recentChange({ priceList: _priceList, sku: _sku, ...change }: PriceChangeRecord) {
  return { ...change, before: change.before ? { ...change.before } : null, after: { ...change.after } };
}

/**
 * Prices are written only as a {@link PriceChangeRecord} applied in one single-document update: the new amount,
 * the version bump and the operation id land together or not at all.
 */
export class PriceRepository {
  private readonly model: Model<StoredPriceDocument>;

  constructor(
    connection: Connection,
    private readonly signal: OutboxSignal,
  ) {
    this.model = connection.model<StoredPriceDocument>('Price', priceSchema);
  }

  /** Prices with their recent operations, for the write path; in no particular order. */
  async findForWrite(keys: readonly string[]): Promise<StoredPrice[]> {
    if (keys.length === 0) return [];
    const documents = await this.model.find({ _id: { $in: [...keys] } }).lean<StoredPriceDocument[]>().exec();
    return documents.map(toStored);
  }

  async findByKey(key: string): Promise<PriceRecord | null> {
    const document = await this.model.findById(key, WITHOUT_RECENT_CHANGES).lean<StoredPriceDocument>().exec();
    return document ? toRecord(document) : null;
  }

  /** Every list's price of one SKU (index on sku). */
  async findBySku(sku: string): Promise<PriceRecord[]> {
    const documents = await this.model.find({ sku }, WITHOUT_RECENT_CHANGES).sort({ _id: 1 }).lean<StoredPriceDocument[]>().exec();
    return documents.map(toRecord);
  }

  /** One page of a list's prices ordered by SKU code; cursors carry the SKU code. */
  async list(priceList: string, request: PageRequest): Promise<Page<PriceRecord>> {
    const query = { priceList };
    const paged = request.afterKey === null ? query : { ...query, _id: { $gt: priceKey(priceList, request.afterKey) } };
    const documents = await this.model.find(paged, WITHOUT_RECENT_CHANGES).sort({ _id: 1 }).limit(request.first + 1).lean<StoredPriceDocument[]>().exec();
    return pageOf(documents.map(toRecord), request, (record) => record.sku, () => this.model.countDocuments(query).exec());
  }

  /** Creates the price at the change's `after` state; false when a price for the key already exists. */
  async insert(change: PriceChangeRecord, entry: OutboxEntryValue): Promise<boolean> {
    try {
      await this.model.create({
        _id: priceKey(change.priceList, change.sku),
        priceList: change.priceList,
        sku: change.sku,
        amount: change.after.amount,
        compareAtAmount: change.after.compareAtAmount,
        recentChanges: [recentChange(change)],
        version: change.after.version,
        createdAt: change.at,
        updatedAt: change.at,
        ...outboxOnInsert([entry]),
      });
      this.signal.notify(this.model.collection.collectionName, priceKey(change.priceList, change.sku));
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error, '_id')) return false;
      throw error;
    }
  }

  /** Applies the change only if the stored version is still `change.before.version`; false otherwise. */
  async apply(change: PriceChangeRecord & { readonly before: PriceStateValue }, entry: OutboxEntryValue): Promise<boolean> {
    const result = await this.model
      .updateOne(
        { _id: priceKey(change.priceList, change.sku), version: change.before.version },
        withOutbox(
          {
            $set: { amount: change.after.amount, compareAtAmount: change.after.compareAtAmount, version: change.after.version, updatedAt: change.at },
            $push: { recentChanges: { $each: [recentChange(change)], $slice: -RECENT_CHANGES_KEPT } },
          },
          [entry],
        ),
      )
      .exec();
    if (result.matchedCount !== 1) return false;
    this.signal.notify(this.model.collection.collectionName, priceKey(change.priceList, change.sku));
    return true;
  }
}
