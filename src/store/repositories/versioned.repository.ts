import type { Model } from 'mongoose';
import type { OutboxEntryValue } from '../../domain/changes/change-event.js';
import type { Versioned, VersionedStore } from '../../domain/common/versioned-upsert.js';
import { DomainError } from '../../domain/common/errors.js';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import { outboxOnInsert, withOutbox, WITHOUT_OUTBOX, type OutboxSignal } from '../outbox.js';
import { isDuplicateKeyError } from './mongo-errors.js';

/** Maps one record type to its stored document and back: the record's key becomes `_id`. */
export interface DocumentMapper<T, D> {
  toRecord(document: D): T;
  toDocument(record: T): D;
  keyOf(record: T): string;
}

/**
 * Optimistic single-document writes shared by every versioned aggregate (products, SKUs, locations, channels,
 * mappings). Subclasses add their own queries.
 */
export class VersionedRepository<T extends Versioned, D extends { _id: string }> implements VersionedStore<T> {
  constructor(
    protected readonly model: Model<D>,
    protected readonly mapper: DocumentMapper<T, D>,
    protected readonly signal: OutboxSignal,
  ) {}

  async findByKey(key: string): Promise<T | null> {
    return (await this.findByKeys([key]))[0] ?? null;
  }

  /**
   * Records for the keys that exist, in no particular order. Through the driver's collection: a lookup by `_id`
   * needs no casting, and every mutation checks its references this way (mongoose's query building was most of
   * such a read's cost in the gateway). The outbox is the relay's business and is left out.
   */
  async findByKeys(keys: readonly string[]): Promise<T[]> {
    if (keys.length === 0) return [];
    const documents = await this.model.collection.find({ _id: { $in: [...keys] } } as never, { projection: WITHOUT_OUTBOX }).toArray();
    return documents.map((document) => this.mapper.toRecord(document as unknown as D));
  }

  async insert(record: T, change: OutboxEntryValue): Promise<boolean> {
    try {
      await this.model.create({ ...this.mapper.toDocument(record), ...outboxOnInsert([change]) });
      this.signal.notify(this.model.collection.collectionName, this.mapper.keyOf(record));
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error, '_id')) return false;
      throw this.uniqueConflict(error, record);
    }
  }

  async replace(record: T, expectedVersion: number, change: OutboxEntryValue): Promise<boolean> {
    const { _id, ...fields } = this.mapper.toDocument(record);
    try {
      // Every field is set (not the document replaced) so the outbox entries still waiting for the relay stay.
      const result = await this.model.updateOne({ _id, version: expectedVersion } as never, withOutbox({ $set: fields }, [change]) as never, { runValidators: true }).exec();
      if (result.matchedCount !== 1) return false;
      this.signal.notify(this.model.collection.collectionName, _id);
      return true;
    } catch (error) {
      throw this.uniqueConflict(error, record);
    }
  }

  /**
   * One keyset page ordered by `_id`: index-backed on real MongoDB for every filter whose index ends in `_id`.
   * `afterId` is the `_id` to start after; `cursorKey` what the page's cursors carry (default: the record key).
   */
  protected async page(query: Record<string, unknown>, request: PageRequest, afterId: string | null = request.afterKey, cursorKey: (record: T) => string = this.mapper.keyOf): Promise<Page<T>> {
    const paged = afterId === null ? query : { ...query, _id: { $gt: afterId } };
    const documents = await this.model.find(paged).sort({ _id: 1 }).limit(request.first + 1).lean<D[]>().exec();
    return pageOf(
      documents.map((document) => this.mapper.toRecord(document)),
      request,
      cursorKey,
      () => this.model.countDocuments(query).exec(),
    );
  }

  /**
   * A secondary unique index refused the write: a concurrent request took the same unique value after our
   * checks ran. That is the caller's conflict to retry, not an internal error.
   */
  private uniqueConflict(error: unknown, record: T): unknown {
    if (!isDuplicateKeyError(error)) return error;
    return new DomainError('CONFLICT', `"${this.mapper.keyOf(record)}" conflicts with a concurrent write of a unique value; retry the request.`);
  }
}
