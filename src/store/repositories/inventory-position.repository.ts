import type { Connection, Model } from 'mongoose';
import { pageOf, type Page, type PageRequest } from '../../domain/common/pagination.js';
import type { AppliedOp, InventoryPositionRecord, PositionQuantitiesRecord, RecentOps } from '../../domain/inventory/inventory.types.js';
import { inventoryPositionSchema, type InventoryPositionDocument } from '../models/inventory-position.model.js';
import type { OutboxEntryValue } from '../../domain/changes/change-event.js';
import { EmptyOutboxReads, encodeOutboxEntry, outboxOnInsert, withOutbox, WITHOUT_OUTBOX_ENTRIES, type OutboxSignal, type WrittenOutbox } from '../outbox.js';
import { encodeAppliedOp, StoredRecentOps, UnreadRecentOps, type StoredAppliedOp } from '../applied-op-codec.js';
import { isDuplicateKeyError } from './mongo-errors.js';
import { findByIds } from './by-ids.js';

type StoredPosition = InventoryPositionDocument & { _id: string };

/**
 * How many applied operations a position remembers. Retries that need them come within an idempotency lease
 * (a minute), long before a position sees this many further changes; whole requests are deduplicated by the
 * idempotency record for 24 hours regardless.
 */
export const RECENT_OPS_KEPT = 100;

const WITHOUT_OUTBOX_ENTRIES_OR_OPS = { ...WITHOUT_OUTBOX_ENTRIES, recentOps: 0 } as const;
const QUANTITIES = { skuCode: 1, locationCode: 1, onHand: 1, reserved: 1, safetyStock: 1 } as const;

function toRecord(document: StoredPosition): InventoryPositionRecord {
  return recordOf(document, new StoredRecentOps(document.recentOps as StoredAppliedOp[]));
}

function recordOf({ _id, ...document }: StoredPosition, recentOps: RecentOps): InventoryPositionRecord {
  return {
    key: _id,
    skuCode: document.skuCode,
    locationCode: document.locationCode,
    onHand: document.onHand,
    reserved: document.reserved,
    safetyStock: document.safetyStock,
    lastResetAsOf: document.lastResetAsOf ?? null,
    lastResetJobId: document.lastResetJobId ?? null,
    lastSetAt: document.lastSetAt ?? null,
    holds: (document.holds ?? []).map((hold) => ({ reservationId: hold.reservationId, quantity: hold.quantity })),
    recentOps,
    version: document.version,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

/** Appends an operation to the position's list, keeping the last {@link RECENT_OPS_KEPT}. */
function pushOp(op: AppliedOp): { recentOps: { $each: string[]; $slice: number } } {
  return { recentOps: { $each: [encodeAppliedOp(op)], $slice: -RECENT_OPS_KEPT } };
}

export interface PositionChange {
  readonly onHand: number;
  readonly safetyStock: number;
  /** Set only by changes that move reserved stock too (committing a reservation), with the hold they consume. */
  readonly reserved?: number;
  readonly removeHold?: string;
  readonly op: AppliedOp;
  readonly at: Date;
  /** Set by absolute writes (setInventory): the daily reset leaves a position alone whose value is newer than its snapshot. */
  readonly lastSetAt?: Date;
  /** The change event, written in the same update (positionChangeEntry). */
  readonly entry: OutboxEntryValue;
}

/**
 * One position write of the daily reset: a compare-and-set on `expectedVersion` (null: create the position),
 * recording the operation and the job in the same single-document update.
 */
export interface ResetWrite {
  readonly key: string;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly expectedVersion: number | null;
  readonly onHand: number;
  readonly safetyStock: number;
  /** Null when the snapshot equals the current values: the position is only marked as reset, no operation. */
  readonly op: AppliedOp | null;
  readonly resetAsOf: Date;
  readonly resetJobId: string;
  readonly at: Date;
  /** The change event, written in the same update: every version bump logs one. */
  readonly entry: OutboxEntryValue;
}

export interface PositionQuery {
  readonly skuCodes?: readonly string[] | null;
  readonly locationCodes?: readonly string[] | null;
  readonly availableBelow?: number | null;
}

/** A position's document as its writer knows it (what the InventoryPosition finalizer reads). */
function writtenPosition(skuCode: string, locationCode: string, version: number, onHand: number, reserved: number, safetyStock: number, stored: readonly string[]): WrittenOutbox {
  return { version, fields: { skuCode, locationCode, onHand, reserved, safetyStock }, stored };
}

export class InventoryPositionRepository {
  private readonly model: Model<StoredPosition>;
  private readonly emptyOutboxReads = new EmptyOutboxReads<InventoryPositionRecord>();

  constructor(
    connection: Connection,
    private readonly signal: OutboxSignal,
  ) {
    this.model = connection.model<StoredPosition>('InventoryPosition', inventoryPositionSchema);
  }

  private notify(key: string, written: WrittenOutbox | null = null): void {
    this.signal.notify(this.model.collection.collectionName, key, written);
  }

  async findByKey(key: string): Promise<InventoryPositionRecord | null> {
    return (await this.findByKeys([key]))[0] ?? null;
  }

  /** Through the driver's collection, as the writes: a lookup by `_id` needs no casting (see VersionedRepository). */
  /**
   * `recentOps: false` leaves the operations out (`UnreadRecentOps`): for a first attempt under a fresh operation
   * scope, which cannot find its own operations there and so need not decode a busy position's hundred.
   */
  async findByKeys(keys: readonly string[], { recentOps = true }: { readonly recentOps?: boolean } = {}): Promise<InventoryPositionRecord[]> {
    if (keys.length === 0) return [];
    const documents = await findByIds<StoredPosition & { outboxAt?: Date }>(this.model.collection, keys, { projection: recentOps ? WITHOUT_OUTBOX_ENTRIES : WITHOUT_OUTBOX_ENTRIES_OR_OPS });
    return documents.map((document) => this.emptyOutboxReads.note(recentOps ? toRecord(document) : recordOf(document, new UnreadRecentOps()), document));
  }

  /** Quantities only: available-to-sell reads many positions and needs none of their operations. */
  async findQuantitiesByKeys(keys: readonly string[]): Promise<PositionQuantitiesRecord[]> {
    if (keys.length === 0) return [];
    const documents = await findByIds<Pick<StoredPosition, '_id' | 'skuCode' | 'locationCode' | 'onHand' | 'reserved' | 'safetyStock'>>(this.model.collection, keys, { projection: QUANTITIES });
    return documents.map(({ _id, skuCode, locationCode, onHand, reserved, safetyStock }) => ({ key: _id, skuCode, locationCode, onHand, reserved, safetyStock }));
  }

  /** Creates the position with its first operation; false when it already exists (someone else created it). */
  async create(skuCode: string, locationCode: string, key: string, change: PositionChange): Promise<boolean> {
    const stored = [encodeOutboxEntry(change.entry)];
    try {
      await this.model.create({
        _id: key,
        skuCode,
        locationCode,
        onHand: change.onHand,
        reserved: 0,
        safetyStock: change.safetyStock,
        lastResetAsOf: null,
        lastSetAt: change.lastSetAt ?? null,
        recentOps: [encodeAppliedOp(change.op)],
        holds: [],
        version: 1,
        createdAt: change.at,
        updatedAt: change.at,
        ...outboxOnInsert([change.entry], stored),
      });
      this.notify(key, writtenPosition(skuCode, locationCode, 1, change.onHand, 0, change.safetyStock, stored));
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /**
   * Applies a change if the position is still at the version of `current`, recording the operation in the same
   * single-document update: the quantities and "this operation was applied" cannot separate.
   */
  async applyIfVersion(current: InventoryPositionRecord, change: PositionChange): Promise<boolean> {
    return this.applyIfVersions([{ current, change }]);
  }

  /**
   * {@link applyIfVersion} for several positions in one round trip, each write its own single-document
   * compare-and-set. True when every write matched; false when some lost a race: bulk results do not say which,
   * so the caller re-reads and finds its operation recorded in the positions it was applied to.
   */
  async applyIfVersions(writes: readonly { readonly current: InventoryPositionRecord; readonly change: PositionChange }[]): Promise<boolean> {
    if (writes.length === 0) return true;
    const stored = writes.map(({ change }) => [encodeOutboxEntry(change.entry)]);
    const operations = writes.map(({ current, change }, index) => ({
      updateOne: {
        filter: { _id: current.key, version: current.version },
        update: withOutbox(
          {
            $set: { onHand: change.onHand, safetyStock: change.safetyStock, ...(change.reserved === undefined ? {} : { reserved: change.reserved }), ...(change.lastSetAt ? { lastSetAt: change.lastSetAt } : {}), updatedAt: change.at },
            $inc: { version: 1 },
            $push: pushOp(change.op),
            ...(change.removeHold === undefined ? {} : { $pull: { holds: { reservationId: change.removeHold } } }),
          },
          [change.entry],
          stored[index],
        ),
      },
    }));
    let allMatched = false;
    try {
      // The driver's collection directly, as applyResetWrites: the update is built here from typed values, so
      // mongoose's query building and casting (mongoose was 16% of the gateway's CPU on single adjustments) buy
      // nothing; and a request's positions go in one command instead of one each.
      const result = await this.model.collection.bulkWrite(operations as never, { ordered: false });
      allMatched = result.matchedCount === writes.length;
      return allMatched;
    } finally {
      // Signal them all, matched or not (a signal for an unchanged position is harmless). Only when every write
      // matched is each document known as written; and only where the outbox was read empty is it known whole.
      writes.forEach(({ current, change }, index) => {
        const known = allMatched && this.emptyOutboxReads.had(current);
        this.notify(current.key, known ? writtenPosition(current.skuCode, current.locationCode, current.version + 1, change.onHand, change.reserved ?? current.reserved, change.safetyStock, stored[index]!) : null);
      });
    }
  }

  /**
   * Holds `quantity` for a reservation if available (onHand − reserved − safetyStock) covers it, in one
   * conditional update: a thousand concurrent reservations on one position neither oversell nor retry.
   * Resolves 'applied', 'already-held' (a retry) or 'insufficient'.
   */
  async hold(key: string, reservationId: string, quantity: number, entry: OutboxEntryValue): Promise<'applied' | 'already-held' | 'insufficient'> {
    const result = await this.model
      .updateOne(
        { _id: key, 'holds.reservationId': { $ne: reservationId }, $expr: { $gte: [{ $subtract: ['$onHand', { $add: ['$reserved', '$safetyStock'] }] }, quantity] } },
        withOutbox({ $inc: { reserved: quantity, version: 1 }, $set: { updatedAt: entry.at }, $push: { holds: { reservationId, quantity } } }, [{ ...entry, delta: { onHand: 0, reserved: quantity, safetyStock: 0 } }]),
      )
      .exec();
    if (result.matchedCount === 1) {
      this.notify(key);
      return 'applied';
    }
    return (await this.model.countDocuments({ _id: key, 'holds.reservationId': reservationId }).exec()) > 0 ? 'already-held' : 'insufficient';
  }

  /** Gives a reservation's held stock back at one position; nothing happens when it holds nothing there. */
  async releaseHold(key: string, reservationId: string, entry: OutboxEntryValue): Promise<void> {
    const document = await this.model.findOne({ _id: key, 'holds.reservationId': reservationId }, { holds: 1 }).lean<StoredPosition>().exec();
    const hold = document?.holds.find((entry) => entry.reservationId === reservationId);
    if (!hold) return;
    // Conditional on the very hold we read: a concurrent release of it cannot subtract twice.
    const result = await this.model
      .updateOne(
        { _id: key, holds: { $elemMatch: { reservationId, quantity: hold.quantity } } },
        withOutbox({ $pull: { holds: { reservationId } }, $inc: { reserved: -hold.quantity, version: 1 }, $set: { updatedAt: entry.at } }, [{ ...entry, delta: { onHand: 0, reserved: -hold.quantity, safetyStock: 0 } }]),
      )
      .exec();
    if (result.matchedCount === 1) this.notify(key);
  }

  /** Positions where a reservation holds stock: what a crashed reservation left behind. */
  async findHolding(reservationId: string): Promise<InventoryPositionRecord[]> {
    const documents = await this.model.find({ 'holds.reservationId': reservationId }).lean<StoredPosition[]>().exec();
    return documents.map(toRecord);
  }

  /**
   * The daily reset's writes for one chunk, each its own single-document compare-and-set, sent in one round
   * trip. Resolves true when every write matched; false when some lost a race (a concurrent change, or a
   * concurrent create): bulk results do not say which, so the caller re-reads and the job marker tells.
   */
  async applyResetWrites(writes: readonly ResetWrite[]): Promise<boolean> {
    if (writes.length === 0) return true;
    const operations = writes.map((write) => {
      const marks = { lastResetAsOf: write.resetAsOf, lastResetJobId: write.resetJobId, updatedAt: write.at };
      if (write.expectedVersion === null) {
        return {
          insertOne: {
            document: {
              _id: write.key,
              skuCode: write.skuCode,
              locationCode: write.locationCode,
              onHand: write.onHand,
              reserved: 0,
              safetyStock: write.safetyStock,
              lastSetAt: null,
              recentOps: write.op ? [encodeAppliedOp(write.op)] : [],
              holds: [],
              version: 1,
              createdAt: write.at,
              ...marks,
              ...outboxOnInsert([write.entry]),
            },
          },
        };
      }
      return {
        updateOne: {
          filter: { _id: write.key, version: write.expectedVersion },
          update: withOutbox(
            {
              $set: { onHand: write.onHand, safetyStock: write.safetyStock, ...marks },
              $inc: { version: 1 },
              ...(write.op ? { $push: pushOp(write.op) } : {}),
            },
            [write.entry],
          ),
        },
      };
    });
    try {
      // The driver's collection directly: the documents are built here from typed records, and mongoose's casting
      // of 500 operations cost more than the store's work (measured 4x on the embedded store).
      const result = await this.model.collection.bulkWrite(operations as never, { ordered: false });
      return result.matchedCount + result.insertedCount === writes.length;
    } catch (error) {
      // A concurrent create of the same position: that write lost; the others went through.
      if (isDuplicateKeyError(error) || everyWriteErrorIsDuplicateKey(error)) return false;
      throw error;
    } finally {
      // Bulk results do not say which writes matched: signal them all (a signal for an unchanged one is harmless).
      for (const write of writes) this.notify(write.key);
    }
  }

  /**
   * Positions at these locations that the given reset job has not marked, in batches, for AbsentPositions
   * ZERO. One pass of a cursor (no sort): on real MongoDB an index scan on locationCode; a position the job
   * marks meanwhile is skipped by the caller's re-check.
   */
  async *findNotMarkedByReset(jobId: string, locationCodes: readonly string[], batchSize: number): AsyncGenerator<InventoryPositionRecord[]> {
    const cursor = this.model
      .find({ locationCode: { $in: [...locationCodes] }, lastResetJobId: { $ne: jobId } })
      .lean<StoredPosition>()
      .cursor({ batchSize });
    let batch: InventoryPositionRecord[] = [];
    try {
      for await (const document of cursor) {
        batch.push(toRecord(document as StoredPosition));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      await cursor.close();
    }
  }

  async list(query: PositionQuery, page: PageRequest): Promise<Page<InventoryPositionRecord>> {
    const filter: Record<string, unknown> = {};
    if (query.skuCodes) filter['skuCode'] = { $in: [...query.skuCodes] };
    if (query.locationCodes) filter['locationCode'] = { $in: [...query.locationCodes] };
    if (query.availableBelow !== null && query.availableBelow !== undefined) {
      filter['$expr'] = { $lt: [{ $subtract: ['$onHand', { $add: ['$reserved', '$safetyStock'] }] }, Number(query.availableBelow)] };
    }
    const paged = page.afterKey === null ? filter : { ...filter, _id: { $gt: page.afterKey } };
    const documents = await this.model.find(paged).sort({ _id: 1 }).limit(page.first + 1).lean<StoredPosition[]>().exec();
    return pageOf(documents.map(toRecord), page, (record) => record.key, () => this.model.countDocuments(filter).exec());
  }
}

function everyWriteErrorIsDuplicateKey(error: unknown): boolean {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((entry: { code?: unknown; err?: { code?: unknown } }) => (entry.code ?? entry.err?.code) === 11000);
}
