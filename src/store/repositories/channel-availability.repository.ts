import type { Connection, Model } from 'mongoose';
import type { OutboxEntryValue } from '../../domain/changes/change-event.js';
import type { ChannelAvailabilityRecord } from '../../domain/inventory/inventory.types.js';
import { channelAvailabilitySchema, type ChannelAvailabilityDocument } from '../models/channel-availability.model.js';
import { EmptyOutboxReads, encodeOutboxEntry, outboxOnInsert, withOutbox, WITHOUT_OUTBOX_ENTRIES, type OutboxSignal, type WrittenOutbox } from '../outbox.js';
import { isDuplicateKeyError } from './mongo-errors.js';
import { findByIds } from './by-ids.js';

type StoredAvailability = ChannelAvailabilityDocument & { _id: string };

/** A value's document as the relay's derivation wrote it (what the ChannelAvailability finalizer reads). */
function written(record: Omit<ChannelAvailabilityRecord, 'version'>, version: number, stored: readonly string[]): WrittenOutbox {
  return { version, fields: { channelCode: record.channelCode, skuCode: record.skuCode }, stored };
}

export class ChannelAvailabilityRepository {
  private readonly model: Model<StoredAvailability>;
  private readonly emptyOutboxReads = new EmptyOutboxReads<ChannelAvailabilityRecord>();

  constructor(
    connection: Connection,
    private readonly signal: OutboxSignal,
  ) {
    this.model = connection.model<StoredAvailability>('ChannelAvailability', channelAvailabilitySchema);
  }

  async findByKeys(keys: readonly string[]): Promise<ChannelAvailabilityRecord[]> {
    if (keys.length === 0) return [];
    // The driver's collection: the relay reads these for every batch, and a lookup by `_id` needs no casting.
    const documents = await findByIds<StoredAvailability & { outboxAt?: Date }>(this.model.collection, keys, { projection: WITHOUT_OUTBOX_ENTRIES });
    return documents.map((document) =>
      this.emptyOutboxReads.note({ key: document._id, channelCode: document.channelCode, skuCode: document.skuCode, availableToSell: document.availableToSell, version: document.version, updatedAt: document.updatedAt }, document),
    );
  }

  /**
   * Records a channel's first value for a SKU, with its event, at version 1. False when a concurrent derivation
   * inserted it first (the caller re-reads and derives again); later values go through {@link updateMany}.
   */
  async insert(record: Omit<ChannelAvailabilityRecord, 'version'>, entry: OutboxEntryValue): Promise<boolean> {
    const stored = [encodeOutboxEntry(entry)];
    try {
      await this.model.create({ _id: record.key, channelCode: record.channelCode, skuCode: record.skuCode, availableToSell: record.availableToSell, updatedAt: record.updatedAt, version: 1, createdAt: record.updatedAt, ...outboxOnInsert([entry], stored) });
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
    this.signal.notify(this.model.collection.collectionName, record.key, written(record, 1, stored));
    return true;
  }

  /**
   * Compare-and-sets of existing values, each single-document, in one round trip. True when every one matched;
   * false when some lost a race: bulk results do not say which, so the caller re-reads them all (those that
   * were written then compare equal and write nothing).
   */
  async updateMany(writes: readonly { readonly record: Omit<ChannelAvailabilityRecord, 'version'>; readonly previous: ChannelAvailabilityRecord; readonly entry: OutboxEntryValue }[]): Promise<boolean> {
    if (writes.length === 0) return true;
    const stored = writes.map(({ entry }) => [encodeOutboxEntry(entry)]);
    const operations = writes.map(({ record, previous, entry }, index) => ({
      updateOne: {
        filter: { _id: record.key, version: previous.version },
        update: withOutbox({ $set: { channelCode: record.channelCode, skuCode: record.skuCode, availableToSell: record.availableToSell, updatedAt: record.updatedAt }, $inc: { version: 1 } }, [entry], stored[index]),
      },
    }));
    let allMatched = false;
    try {
      // The driver's collection, as the position writes: the update is built here from typed values.
      const result = await this.model.collection.bulkWrite(operations as never, { ordered: false });
      allMatched = result.matchedCount === writes.length;
      return allMatched;
    } finally {
      // As the position writes: known whole only when every write matched and the outbox was read empty.
      writes.forEach(({ record, previous }, index) => {
        const known = allMatched && this.emptyOutboxReads.had(previous);
        this.signal.notify(this.model.collection.collectionName, record.key, known ? written(record, previous.version + 1, stored[index]!) : null);
      });
    }
  }
}
