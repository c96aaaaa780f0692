import type { mongo } from 'mongoose';
import { operationEventId, outboxEntry, systemOrigin, type ChangeOriginValue } from '../../src/domain/changes/change-event.js';
import { encodeOutboxEntry } from '../../src/store/outbox.js';
import type { LoggedDocument } from '../../src/store/repositories/change-log.repository.js';
import { copyIndexes, type MovementDoc } from './inventory-raw.js';

/**
 * The change feed's store writes, sent by the bare driver for the decomposition's "gateway's commands" side
 * (`--decompose`): what the gateway writes so that every change is logged exactly once without a multi-document
 * transaction, in the same commands and batching as its relay (`src/events/change-relay.ts`) and its
 * available-to-sell derivation (`src/domain/inventory/availability-deriver.ts`):
 *
 * - each position write pushes its event, with its operation id, onto the position's outbox (in the
 *   compare-and-set itself: {@link RawChangeFeed.outboxUpdate});
 * - a drain loop takes what the requests wrote, up to 500 documents per batch (the relay's batch size), appends
 *   their events to a change log with consecutive sequence numbers (one `insertMany`), then writes the ledger's
 *   movements of the batch (one unordered `insertMany`, as the gateway's relay) alongside deriving each
 *   channel's available-to-sell for the SKUs in the batch (positions and stored values read by `$in`, changed
 *   values written by compare-and-set with their own outbox entry, in one `bulkWrite`), then clears the drained
 *   outboxes (one `bulkWrite` of `{ _id, version }` compare-and-sets);
 * - the available-to-sell values written go through the same loop (their events logged, their outboxes cleared).
 *
 * Left out, because they are not store writes: the bus publish and every replica's delivery (gateway software,
 * "step 3"). Decisions are made as the gateway makes them, from the documents as written (the relay of the
 * writing replica does not read them back either).
 */
export interface RawChannel {
  readonly code: string;
  readonly locationCodes: readonly string[];
  readonly inventoryBuffer: number;
}

/** A document a request wrote, with its pending outbox entry, as the relay gets it from its writer. */
export interface RawFeedWrite {
  readonly collection: 'positions' | 'availability';
  readonly id: string;
  readonly version: number;
  readonly stored: string;
  /** The event as the relay's finalizer makes it (change-finalizers.ts). */
  readonly event: Omit<LoggedDocument, '_id' | 'loggedAt' | 'epoch'>;
  /** Positions only: the SKU and location whose available-to-sell it changes, and the ledger's movement. */
  readonly sku?: string;
  readonly location?: string;
  readonly movement?: MovementDoc;
}


interface AvailabilityDoc {
  _id: string;
  channelCode: string;
  skuCode: string;
  availableToSell: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  outbox?: string[];
  outboxAt?: Date;
}

interface QuantitiesDoc {
  _id: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
}

const BATCH = 500; // the relay's default batch size
const ORIGIN = systemOrigin('API', { apiKeyId: 'bench-raw', apiKey: 'bench-raw', reason: 'SALE' });

export class RawChangeFeed {
  readonly log: mongo.Collection<LoggedDocument>;
  readonly availability: mongo.Collection<AvailabilityDoc>;
  private pending: RawFeedWrite[] = [];
  private draining: Promise<void> | null = null;
  private nextSeq = 1;
  private failure: unknown = null;
  /** Requests held back by the backlog, released after each drained batch. */
  private batchWaiters: (() => void)[] = [];

  constructor(
    db: mongo.Db,
    prefix: string,
    private readonly positions: mongo.Collection<QuantitiesDoc & Record<string, unknown>>,
    private readonly movements: mongo.Collection<MovementDoc>,
    private readonly channels: readonly RawChannel[],
  ) {
    this.log = db.collection<LoggedDocument>(`${prefix}_change_log`);
    this.availability = db.collection<AvailabilityDoc>(`${prefix}_channel_availability`);
  }

  /** Every logged event so far (the check after timing: one per applied change). */
  get logged(): number {
    return this.nextSeq - 1;
  }

  /** The first value of every (SKU, channel), as the gateway's setup receipts derived them: `onHand` at each of `stocked`. */
  async seedAvailability(skus: readonly string[], stocked: readonly string[], onHand: number): Promise<void> {
    const at = new Date();
    const docs = skus.flatMap((sku) =>
      this.channels.map((channel) => {
        const sum = onHand * channel.locationCodes.filter((location) => stocked.includes(location)).length;
        return { _id: `${channel.code}:${sku}`, channelCode: channel.code, skuCode: sku, availableToSell: Math.max(0, sum - channel.inventoryBuffer), version: 1, createdAt: at, updatedAt: at };
      }),
    );
    for (let start = 0; start < docs.length; start += 1_000) await this.availability.insertMany(docs.slice(start, start + 1_000));
  }

  /**
   * The `$push`/`$min` a position's compare-and-set carries, and what the relay needs once it is written.
   * `after`: the position's quantities and version as written.
   */
  outboxUpdate(opId: string, at: Date, before: QuantitiesDoc, after: QuantitiesDoc & { skuCode: string; locationCode: string; version: number }, flags: readonly string[]): { push: Record<string, unknown>; min: Record<string, unknown>; written: RawFeedWrite } {
    const delta = { onHand: after.onHand - before.onHand, reserved: after.reserved - before.reserved, safetyStock: after.safetyStock - before.safetyStock };
    const entry = outboxEntry(ORIGIN, at, { delta, data: { flags: [...flags] }, operationId: opId }, operationEventId('InventoryPosition', opId));
    const stored = encodeOutboxEntry(entry);
    const changed = delta.onHand !== 0 || delta.reserved !== 0 || delta.safetyStock !== 0;
    return {
      push: { outbox: { $each: [stored] } },
      min: { outboxAt: at },
      written: {
        collection: 'positions',
        id: after._id,
        version: after.version,
        stored,
        sku: after.skuCode,
        location: after.locationCode,
        event: {
          eventId: entry.id,
          entity: 'InventoryPosition',
          key: after._id,
          version: after.version,
          at,
          origin: ORIGIN,
          sku: after.skuCode,
          location: after.locationCode,
          channels: null,
          data: { onHand: after.onHand, reserved: after.reserved, safetyStock: after.safetyStock, available: after.onHand - after.reserved - after.safetyStock, delta, changed, flags: [...flags] },
        },
      },
    };
  }

  /**
   * Hands a request's writes to the drain loop. The request does not wait for them to be logged (the gateway's
   * relay works behind its requests too), only for a backlog past two batches to go: without that, this side's
   * requests could run ahead of its change feed and leave the feed's work outside the measured windows.
   */
  async enqueue(written: readonly RawFeedWrite[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.pending.push(...written);
    this.draining ??= this.drainLoop().finally(() => (this.draining = null));
    while (this.pending.length > 2 * BATCH && this.draining) await new Promise<void>((resolve) => this.batchWaiters.push(resolve));
  }

  /** The gateway's indexes on its change log and available-to-sell values, on this side's. */
  async copyIndexes(from: { readonly log: mongo.Collection; readonly availability: mongo.Collection }): Promise<void> {
    await copyIndexes(from.log, this.log);
    await copyIndexes(from.availability, this.availability);
  }

  /** Resolves once everything handed over is logged, derived and cleared. */
  async settled(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.failure) throw this.failure;
  }

  private async drainLoop(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve)); // the writes of this tick in one batch, as the relay
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, BATCH);
        await this.drain(batch);
        this.releaseWaiters();
      }
    } catch (error) {
      this.failure = error;
    }
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    const waiters = this.batchWaiters;
    this.batchWaiters = [];
    for (const release of waiters) release();
  }

  private async drain(batch: readonly RawFeedWrite[]): Promise<void> {
    const loggedAt = new Date();
    const events = batch.map((pending, index) => ({ ...pending.event, _id: this.nextSeq + index, loggedAt, epoch: 1 })); // one writer, one lease
    await this.log.insertMany(events, { ordered: true });
    this.nextSeq += events.length;
    const positions = batch.filter((pending) => pending.collection === 'positions');
    const movements = positions.flatMap((pending) => (pending.movement ? [pending.movement] : []));
    await Promise.all([this.derive(positions), movements.length > 0 ? this.movements.insertMany(movements, { ordered: false }) : null]);
    const clears = (collection: RawFeedWrite['collection']) =>
      batch.filter((pending) => pending.collection === collection).map(({ id, version }) => ({ updateOne: { filter: { _id: id, version }, update: { $unset: { outbox: '', outboxAt: '' } } } }));
    const positionClears = clears('positions');
    const availabilityClears = clears('availability');
    await Promise.all([
      positionClears.length > 0 ? this.positions.bulkWrite(positionClears as never, { ordered: false }) : null,
      availabilityClears.length > 0 ? this.availability.bulkWrite(availabilityClears as never, { ordered: false }) : null,
    ]);
  }

  /** Each channel's available-to-sell for the SKUs the batch changed, written only where the number changed. */
  private async derive(changed: readonly RawFeedWrite[]): Promise<void> {
    const locationsBySku = new Map<string, Set<string>>();
    for (const { sku, location } of changed) locationsBySku.set(sku!, (locationsBySku.get(sku!) ?? new Set()).add(location!));
    const pairs = [...locationsBySku].flatMap(([sku, locations]) => this.channels.filter((channel) => channel.locationCodes.some((location) => locations.has(location))).map((channel) => ({ sku, channel })));
    if (pairs.length === 0) return;
    const positionKeys = [...new Set(pairs.flatMap(({ sku, channel }) => channel.locationCodes.map((location) => `${sku}:${location}`)))];
    const [positions, stored] = await Promise.all([
      this.positions.find({ _id: { $in: positionKeys } }, { projection: { onHand: 1, reserved: 1, safetyStock: 1 } }).toArray(),
      this.availability.find({ _id: { $in: pairs.map(({ sku, channel }) => `${channel.code}:${sku}`) } }, { projection: { outbox: 0 } }).toArray(),
    ]);
    const positionsByKey = new Map(positions.map((position) => [position._id, position]));
    const storedByKey = new Map(stored.map((doc) => [doc._id, doc]));
    const now = new Date();
    const writes: { updateOne: { filter: mongo.Filter<AvailabilityDoc>; update: mongo.UpdateFilter<AvailabilityDoc> } }[] = [];
    const written: RawFeedWrite[] = [];
    for (const { sku, channel } of pairs) {
      const key = `${channel.code}:${sku}`;
      const sum = channel.locationCodes.reduce((total, location) => {
        const position = positionsByKey.get(`${sku}:${location}`);
        return total + Math.max(0, position ? position.onHand - position.reserved - position.safetyStock : 0);
      }, 0);
      const availableToSell = Math.max(0, sum - channel.inventoryBuffer);
      const previous = storedByKey.get(key);
      if (!previous || previous.availableToSell === availableToSell) continue; // every pair was seeded
      const version = previous.version + 1;
      const entry = outboxEntry(ORIGIN, now, { version, data: { channel: channel.code, sku, availableToSell, previous: previous.availableToSell } });
      const storedEntry = encodeOutboxEntry(entry);
      writes.push({
        updateOne: {
          filter: { _id: key, version: previous.version },
          update: { $set: { channelCode: channel.code, skuCode: sku, availableToSell, updatedAt: now }, $inc: { version: 1 }, $push: { outbox: { $each: [storedEntry] } }, $min: { outboxAt: now } },
        },
      });
      written.push({
        collection: 'availability',
        id: key,
        version,
        stored: storedEntry,
        event: { eventId: entry.id, entity: 'ChannelAvailability', key, version, at: now, origin: ORIGIN, sku, location: null, channels: [channel.code], data: { ...entry.data } },
      });
    }
    if (writes.length === 0) return;
    await this.availability.bulkWrite(writes as never, { ordered: false });
    // Logged and cleared by the next batch, as the relay logs the values its derivation wrote.
    this.pending.push(...written);
  }
}
