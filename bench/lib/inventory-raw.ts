import { createHash, randomUUID } from 'node:crypto';
import { EJSON } from 'bson';
import { mongo } from 'mongoose';
import pMap from 'p-map';
import { stableStringify } from '../../src/domain/common/stable-stringify.js';
import { decodeAppliedOp, encodeAppliedOp } from '../../src/store/applied-op-codec.js';
import type { RawChangeFeed, RawFeedWrite } from './inventory-raw-feed.js';

/**
 * Stock adjustments written with the bare driver, from the bench process: the floor `adjustInventory` is
 * measured against, and (with `--decompose`) the steps between that floor and the gateway.
 *
 * The floor (`RAW_FLOOR`) is what a hand-written service without the gateway minimally does for a durable,
 * ledgered, exactly-once adjustment. Per item, one atomic findAndModify of the position by `_id` that `$inc`s
 * onHand and version and `$push`es the operation id (keeping the last 100), conditional on that id not being
 * there yet (a retry cannot apply it twice) and, for a decrease, on enough stock (the gateway's default REJECT
 * policy); it returns onHand from before the write. Then the ledger entry, with before/after from that answer:
 * `insertOne` for one item, one `insertMany` for a batch. Left out, because the floor does not need them: a
 * per-request idempotency record, reading the SKUs and locations to check they exist, and reading the position
 * before writing it.
 *
 * Its documents live in their own collections, with the gateway's document shapes and indexes (copied from the
 * gateway's collections at start), in the same database.
 */
export interface RawDesign {
  /**
   * 'findAndModify': the conditional `$inc` above, before-value from the write. 'readCas': read the positions
   * first (one `$in`), decide in code, then compare-and-set on `{ _id, version }` pushing the operation with its
   * before/after — a request's writes in one unordered bulkWrite when its positions are distinct — re-reading on
   * a lost race: the gateway's way (PositionWriter).
   */
  readonly positionWrite: 'findAndModify' | 'readCas';
  /**
   * The rest of the gateway's commands and choices: an idempotency claim (insert) before and its completion with
   * the encoded result (EJSON, positions without their operations and holds, as the gateway stores it) after;
   * positions read without their operations (a first attempt cannot find its own there: the gateway reads them
   * only for a resumed request); no reference reads (a position that exists proves its SKU, and the gateway
   * keeps locations in a per-replica cache).
   */
  readonly gatewayExtras: boolean;
  /** The change feed's writes: each change's event in the position's outbox, logged, cleared, and available-to-sell derived (inventory-raw-feed.ts). */
  readonly changeFeed: boolean;
}

export const RAW_FLOOR: RawDesign = { positionWrite: 'findAndModify', gatewayExtras: false, changeFeed: false };
/** The floor with the gateway's position write: read, then compare-and-set on the version. */
export const RAW_READ_CAS: RawDesign = { positionWrite: 'readCas', gatewayExtras: false, changeFeed: false };
/**
 * Every store command the gateway sends for adjustInventory and its change feed, in its order and batching, from
 * the bare driver: the same logical writes (position with its event, idempotency record, change log, the ledger
 * written from the changes, outbox clean-up, available-to-sell).
 */
export const RAW_GATEWAY_PATTERN: RawDesign = { positionWrite: 'readCas', gatewayExtras: true, changeFeed: true };

/** The gateway keeps the last 100 operation ids per position (RECENT_OPS_KEPT); so does the raw side. */
export const RECENT_OPS_KEPT = 100;
/** Positions written in parallel within one request, as the gateway's InventoryService does (POSITION_CONCURRENCY). */
export const IN_REQUEST_CONCURRENCY = 8;
/** Who the raw side's ledger entries name as the writer (the gateway names the API key). */
const RAW_WRITER = { apiKeyId: 'bench-raw', apiKey: 'bench-raw' } as const;
const LEASE_MS = 60_000; // the gateway's default idempotency lease, 1 minute
const RETENTION_MS = 24 * 60 * 60 * 1000; // and its retention, 24 hours
const MAX_RACE_RETRIES = 20; // as PositionWriter

export interface AdjustmentItem {
  readonly sku: string;
  readonly location: string;
  readonly delta: number;
  readonly reason: 'SALE' | 'RETURN' | 'RECEIPT';
  readonly referenceDocument: string;
}

/** Per item, what every side answers: the quantities before and after, from the write itself. */
export interface AppliedItem {
  readonly onHandBefore: number;
  readonly onHandAfter: number;
}

interface RawOp {
  id: string;
  delta: number;
  /** Only with 'readCas': the floor's findAndModify cannot know them when it writes the operation. */
  onHandBefore?: number;
  onHandAfter?: number;
  flags: string[];
  at: Date;
}

export interface RawPositionDoc {
  _id: string;
  skuCode: string;
  locationCode: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  lastResetAsOf: Date | null;
  lastResetJobId: string | null;
  lastSetAt: Date | null;
  /** The floor's operations as objects (its filter looks inside them); read + CAS stores the gateway's strings. */
  recentOps: (RawOp | string)[];
  holds: { reservationId: string; quantity: number }[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface MovementDoc {
  _id: string;
  positionKey: string;
  orderKey: string;
  skuCode: string;
  locationCode: string;
  delta: number;
  reason: string;
  referenceDocument: string | null;
  apiKeyId: string;
  apiKey: string;
  idempotencyKey: string | null;
  onHandBefore: number;
  onHandAfter: number;
  flags: string[];
  at: Date;
}

interface ClaimDoc {
  _id: string;
  operation: string;
  requestHash: string;
  state: 'IN_PROGRESS' | 'COMPLETED';
  token: string;
  lockedUntil: Date;
  result: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface RawCollectionNames {
  readonly positions: string;
  readonly movements: string;
  /** Idempotency claims, for designs with gatewayExtras. */
  readonly idempotency: string;
}

/** Creates `source`'s indexes (but `_id`'s) on `target`, so both maintain the same index entries per write. */
export async function copyIndexes(source: mongo.Collection, target: { createIndexes(indexes: mongo.IndexDescription[]): Promise<string[]> }): Promise<void> {
  const indexes = (await source.listIndexes().toArray()).filter((index) => index['name'] !== '_id_');
  if (indexes.length === 0) return;
  await target.createIndexes(
    indexes.map((index): mongo.IndexDescription => ({
      key: index['key'] as Record<string, mongo.IndexDirection>,
      name: index['name'] as string,
      ...(index['unique'] === true ? { unique: true } : {}),
      ...(index['sparse'] === true ? { sparse: true } : {}),
      ...(typeof index['expireAfterSeconds'] === 'number' ? { expireAfterSeconds: index['expireAfterSeconds'] } : {}),
    })),
  );
}

export const positionKeyOf = (sku: string, location: string): string => `${sku}:${location}`;

export class RawInventory {
  readonly positions: mongo.Collection<RawPositionDoc>;
  readonly movements: mongo.Collection<MovementDoc>;
  private readonly idempotency: mongo.Collection<ClaimDoc>;

  /** The change feed's writes, for designs with `changeFeed` (set before the first adjustment). */
  feed: RawChangeFeed | null = null;

  constructor(
    db: mongo.Db,
    names: RawCollectionNames,
    private readonly design: RawDesign,
  ) {
    this.positions = db.collection<RawPositionDoc>(names.positions);
    this.movements = db.collection<MovementDoc>(names.movements);
    this.idempotency = db.collection<ClaimDoc>(names.idempotency);
  }

  /**
   * The gateway's indexes on its own collections, created on this side's: both sides then maintain the same
   * index entries per write, and the store serves (or scans for) the same filters on both.
   */
  async copyIndexes(from: { readonly positions: mongo.Collection; readonly movements: mongo.Collection; readonly idempotency: mongo.Collection }): Promise<void> {
    await copyIndexes(from.positions, this.positions);
    await copyIndexes(from.movements, this.movements);
    if (this.design.gatewayExtras) await copyIndexes(from.idempotency, this.idempotency);
  }

  /** An operation as this side stores it: as the gateway does (a string) for read + CAS, an object for the floor. */
  private storedOp(op: RawOp): RawOp | string {
    return this.design.positionWrite === 'readCas' ? encodeAppliedOp({ ...op, onHandBefore: op.onHandBefore!, onHandAfter: op.onHandAfter!, flags: [] }) : op;
  }

  /** Creates each position with `onHand` as a RECEIPT, with its ledger entry: what the gateway side gets through the API. */
  async createPositions(keys: readonly { sku: string; location: string }[], onHand: number, requestId: string): Promise<void> {
    const at = new Date();
    const chunk = 500;
    for (let start = 0; start < keys.length; start += chunk) {
      const requestKey = `${requestId}-${start / chunk}`;
      const slice = keys.slice(start, start + chunk);
      const opIds = slice.map((_, i) => opIdOf(requestKey, i));
      await this.positions.insertMany(
        slice.map(({ sku, location }, i) => ({
          _id: positionKeyOf(sku, location),
          skuCode: sku,
          locationCode: location,
          onHand,
          reserved: 0,
          safetyStock: 0,
          lastResetAsOf: null,
          lastResetJobId: null,
          lastSetAt: null,
          recentOps: [this.storedOp({ id: opIds[i]!, delta: onHand, onHandBefore: 0, onHandAfter: onHand, flags: [], at })],
          holds: [],
          version: 1,
          createdAt: at,
          updatedAt: at,
        })),
      );
      await this.movements.insertMany(slice.map(({ sku, location }, i) => movementDoc(opIds[i]!, { sku, location, delta: onHand, reason: 'RECEIPT', referenceDocument: 'BENCH-SETUP' }, requestKey, 0, at)));
    }
  }

  /**
   * One request's worth of adjustments, each applied exactly once per operation id `${writer}:${requestKey}:${index}`.
   * Null when an item was not applied (not enough stock, the operation was applied before, an unknown SKU or
   * location): the bench provokes none of these while timing, so null counts as a failed request.
   */
  async adjust(requestKey: string, items: readonly AdjustmentItem[]): Promise<AppliedItem[] | null> {
    const claim = this.design.gatewayExtras ? await this.claim(requestKey, items) : null;

    const written = this.design.positionWrite === 'findAndModify' ? await this.findAndModifyAll(requestKey, items) : await this.readAndCasAll(requestKey, items);
    if (written.some((entry) => entry === null)) return null;
    const entries = written as Written[];
    // With the change feed the ledger is its relay's to write, from the changes (as the gateway's relay does).
    if (!this.feed) {
      if (entries.length === 1) await this.movements.insertOne(entries[0]!.movement);
      else await this.movements.insertMany(entries.map((entry) => entry.movement));
    }

    if (claim) {
      const result = { kind: 'batch', replayed: false, items: entries.map((entry, index) => ({ index, outcome: 'APPLIED', position: positionView(entry.position!), movement: entry.movement, flags: [], error: null })) };
      await this.idempotency.updateOne({ _id: claim.id, token: claim.token }, { $set: { state: 'COMPLETED', result: EJSON.stringify(result, { relaxed: false }) } });
    }
    if (this.feed) await this.feed.enqueue(entries.map((entry) => ({ ...entry.feed!, movement: entry.movement })));
    return entries.map(({ movement }) => ({ onHandBefore: movement.onHandBefore, onHandAfter: movement.onHandAfter }));
  }

  /** The floor's position writes (8 at a time within a request, as the gateway). */
  private findAndModifyAll(requestKey: string, items: readonly AdjustmentItem[]): Promise<(Written | null)[]> {
    return pMap(
      items,
      async (item, index): Promise<Written | null> => {
        const opId = opIdOf(requestKey, index);
        const at = new Date();
        const filter: mongo.Filter<RawPositionDoc> = { _id: positionKeyOf(item.sku, item.location), 'recentOps.id': { $ne: opId } };
        if (item.delta < 0) filter.onHand = { $gte: -item.delta };
        const before = await this.positions.findOneAndUpdate(
          filter,
          { $inc: { onHand: item.delta, version: 1 }, $set: { updatedAt: at }, $push: { recentOps: { $each: [{ id: opId, delta: item.delta, flags: [], at }], $slice: -RECENT_OPS_KEPT } } },
          // 'before', not 'after': the embedded store can return repeated 'after' documents under concurrency (STORE.md).
          { returnDocument: 'before', projection: { onHand: 1 } },
        );
        if (!before) return null;
        return { position: null, movement: movementDoc(opId, item, requestKey, before.onHand, at), feed: null };
      },
      { concurrency: IN_REQUEST_CONCURRENCY },
    );
  }

  /**
   * The gateway's position writes: one read of every position, then a compare-and-set per item on the version,
   * all of a request's in one unordered bulkWrite when its items are on distinct positions (as the gateway). A
   * race lost in the bulk write re-reads and goes one by one; an item that did get written is found in its
   * position's operations.
   */
  private async readAndCasAll(requestKey: string, items: readonly AdjustmentItem[]): Promise<(Written | null)[]> {
    const keys = items.map((item) => positionKeyOf(item.sku, item.location));
    const projection = this.design.gatewayExtras ? { recentOps: 0, outbox: 0 } : {};
    const loaded = new Map((await this.positions.find({ _id: { $in: [...new Set(keys)] } }, { projection }).toArray()).map((doc) => [doc._id, doc as RawPositionDoc]));
    const attempted = new Map<string, CasPlan>();
    if (new Set(keys).size === items.length) {
      const planned = items.map((item, index) => planCas(loaded.get(keys[index]!) ?? null, item, opIdOf(requestKey, index), this.feed));
      const writes = planned.filter((plan): plan is CasPlan => plan !== null);
      for (const plan of writes) attempted.set(plan.op.id, plan);
      const result = writes.length === 0 ? null : await this.positions.bulkWrite(writes.map((plan) => ({ updateOne: { filter: plan.filter, update: plan.update } })), { ordered: false });
      if (!result || result.matchedCount === writes.length) {
        const written: (Written | null)[] = [];
        for (const [index, plan] of planned.entries()) {
          if (!plan) {
            written.push(null);
            continue;
          }
          written.push({ position: plan.after, movement: movementDoc(plan.op.id, items[index]!, requestKey, plan.op.onHandBefore!, plan.op.at), feed: plan.feed });
        }
        return written;
      }
      for (const doc of await this.positions.find({ _id: { $in: keys } }).toArray()) loaded.set(doc._id, doc);
    }
    return pMap(
      items,
      async (item, index): Promise<Written | null> => {
        const key = keys[index]!;
        const opId = opIdOf(requestKey, index);
        let current = loaded.get(key) ?? null;
        for (let attempt = 0; attempt <= MAX_RACE_RETRIES && current; attempt++) {
          const recorded = findOp(current, opId);
          if (recorded) {
            if (!attempted.has(opId)) return null; // applied by an earlier request (the bench's idempotency check)
            // Written by the bulk attempt above.
            return { position: current, movement: movementDoc(opId, item, requestKey, recorded.onHandBefore!, recorded.at), feed: attempted.get(opId)!.feed };
          }
          const plan = planCas(current, item, opId, this.feed);
          if (!plan) return null;
          const result = await this.positions.updateOne(plan.filter, plan.update);
          if (result.matchedCount === 1) {
            loaded.set(key, plan.after);
            return { position: plan.after, movement: movementDoc(opId, item, requestKey, current.onHand, plan.op.at), feed: plan.feed };
          }
          current = await this.positions.findOne({ _id: key });
        }
        return null;
      },
      { concurrency: IN_REQUEST_CONCURRENCY },
    );
  }

  /** The gateway's idempotency claim: a hash of the request, inserted IN_PROGRESS under a lease. */
  private async claim(requestKey: string, items: readonly AdjustmentItem[]): Promise<{ id: string; token: string }> {
    const id = `${RAW_WRITER.apiKeyId}:${requestKey}`;
    const now = new Date();
    const token = randomUUID();
    const requestHash = createHash('sha256').update(stableStringify({ operation: 'adjustInventory', input: { input: items } })).digest('hex');
    await this.idempotency.insertOne({ _id: id, operation: 'adjustInventory', requestHash, state: 'IN_PROGRESS', token, lockedUntil: new Date(now.getTime() + LEASE_MS), result: null, createdAt: now, expiresAt: new Date(now.getTime() + RETENTION_MS) });
    return { id, token };
  }

}

interface Written {
  /** The position after the write, as the gateway keeps it for its stored result ('readCas' only). */
  readonly position: RawPositionDoc | null;
  readonly movement: MovementDoc;
  /** What the change feed's drain loop takes from the write (designs with changeFeed). */
  readonly feed: RawFeedWrite | null;
}

/** The recorded operation with this id, in either stored form (none in a position read without them). */
function findOp(position: RawPositionDoc, opId: string): RawOp | null {
  for (const stored of position.recentOps ?? []) {
    const op: RawOp = typeof stored === 'string' ? { ...decodeAppliedOp(stored), flags: [] } : stored;
    if (op.id === opId) return op;
  }
  return null;
}

/** One compare-and-set on a position's version, and the position as it is once it went through. */
interface CasPlan {
  readonly filter: mongo.Filter<RawPositionDoc>;
  readonly update: mongo.UpdateFilter<RawPositionDoc>;
  readonly op: RawOp;
  readonly after: RawPositionDoc;
  readonly feed: RawFeedWrite | null;
}

/**
 * The write for one item on `current`; null when there is nothing to write (no position, applied before, or the
 * REJECT policy). With a change feed, the write also pushes the change's event onto the position's outbox.
 */
function planCas(current: RawPositionDoc | null, item: AdjustmentItem, opId: string, feed: RawChangeFeed | null): CasPlan | null {
  if (!current || findOp(current, opId)) return null; // applied before
  const onHandAfter = current.onHand + item.delta;
  if (item.delta < 0 && onHandAfter < 0) return null; // the REJECT policy
  const at = new Date();
  const op: RawOp = { id: opId, delta: item.delta, onHandBefore: current.onHand, onHandAfter, flags: [], at };
  const stored = encodeAppliedOp({ ...op, onHandBefore: current.onHand, onHandAfter, flags: [] }); // as the gateway stores it
  const after: RawPositionDoc = { ...current, onHand: onHandAfter, version: current.version + 1, updatedAt: at, recentOps: [...(current.recentOps ?? []), stored] };
  const outbox = feed ? feed.outboxUpdate(opId, at, current, after, []) : null;
  return {
    filter: { _id: current._id, version: current.version },
    update: {
      $set: { onHand: onHandAfter, safetyStock: current.safetyStock, updatedAt: at },
      $inc: { version: 1 },
      $push: { recentOps: { $each: [stored], $slice: -RECENT_OPS_KEPT }, ...outbox?.push },
      ...(outbox ? { $min: outbox.min } : {}),
    } as mongo.UpdateFilter<RawPositionDoc>,
    op,
    after,
    feed: outbox?.written ?? null,
  };
}

/** A position as the gateway's stored result holds it: without its operations, holds and pending events. */
function positionView(position: RawPositionDoc): Omit<RawPositionDoc, 'recentOps' | 'holds'> {
  const { recentOps: _recentOps, holds: _holds, outbox: _outbox, outboxAt: _outboxAt, ...view } = position as RawPositionDoc & { outbox?: unknown; outboxAt?: unknown };
  return view;
}

const opIdOf = (requestKey: string, index: number): string => `${RAW_WRITER.apiKeyId}:${requestKey}:${index}`;

function movementDoc(opId: string, item: AdjustmentItem, idempotencyKey: string, onHandBefore: number, at: Date): MovementDoc {
  return {
    _id: opId,
    positionKey: positionKeyOf(item.sku, item.location),
    orderKey: `${at.toISOString()}|${opId}`,
    skuCode: item.sku,
    locationCode: item.location,
    delta: item.delta,
    reason: item.reason,
    referenceDocument: item.referenceDocument,
    ...RAW_WRITER,
    idempotencyKey,
    onHandBefore,
    onHandAfter: onHandBefore + item.delta,
    flags: [],
    at,
  };
}
