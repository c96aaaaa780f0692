import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeDraftValue, ChangeEventValue } from '../domain/changes/change-event.js';
import { failpoint } from '../faults/failpoints.js';
import type { ChangeFinalizer, OutboxSource } from '../store/change-finalizers.js';
import type { OutboxSignal, WrittenOutbox } from '../store/outbox.js';
import { outboxDocumentAsWritten, SequenceTakenError, type ChangeLogRepository, type DrainedOutbox, type OutboxDocumentValue } from '../store/repositories/change-log.repository.js';
import type { EventBus } from './bus/event-bus.js';
import { decodePending, encodeChanges, encodePending, TOPICS } from './change-codec.js';

/**
 * Something recorded from the events before they leave their outboxes: the inventory ledger's movements and the
 * price history's entries (OperationRecorder), available-to-sell (written back with its own events).
 */
export interface ChangeDeriver {
  /**
   * Called with every batch drained from the outboxes, before it leaves them, including entries an earlier
   * relay logged but died before clearing: a crash anywhere repeats the derivation. Must be idempotent.
   */
  derive(changes: readonly ChangeDraftValue[]): Promise<void>;
  /** Background work of the relay (e.g. a walk left by a relay that died): called on taking and renewing the lease. */
  resume?(isLeader: () => boolean): void;
  /** Ends background work; the relay calls it when it stops. */
  stop?(): Promise<void>;
}

export interface ChangeRelayOptions {
  /** How long a relay's lease lasts without renewal: the longest pause before another replica takes over. */
  readonly leaseMs: number;
  /**
   * How often the leader scans every outbox for entries nobody signalled (a writer that died between its write
   * and its signal, a signal lost with the bus). The repair path only: signals carry the normal flow, so this is
   * the worst-case delay of an event, not the usual one. Each scan reads every outbox collection's `outboxAt`
   * index (a full scan on the embedded store, which does not use sparse indexes).
   */
  readonly scanIntervalMs: number;
  /** Events logged per round trip. */
  readonly batchSize: number;
  /** Events older than this are deleted; a cursor before them gets CURSOR_EXPIRED. */
  readonly retentionMs: number;
  readonly retentionSweepIntervalMs: number;
}

export const DEFAULT_CHANGE_RELAY_OPTIONS: ChangeRelayOptions = {
  leaseMs: 10_000, // 10 seconds
  scanIntervalMs: 5_000, // 5 seconds
  batchSize: 500,
  retentionMs: 7 * 24 * 60 * 60 * 1000, // 7 days
  retentionSweepIntervalMs: 10 * 60 * 1000, // 10 minutes
};

/** Logged batches whose derivation and outbox clean-up may still be running while the next batch is logged. */
const MAX_FINISHES_IN_FLIGHT = 4;

/** Documents to drain, per collection: as their writer knew them, or null (to be read). */
type DrainBatch = Map<string, [string, OutboxDocumentValue | null][]>;

type Phase = { kind: 'stopped' } | { kind: 'following' } | { kind: 'leading'; epoch: number; nextSeq: number } | { kind: 'stopping' };

/**
 * Moves events from the outboxes of changed documents to the sequenced change log, on exactly one replica at a
 * time (a lease in MongoDB; the epoch is the fencing token), and announces them on the bus.
 *
 * Nothing is lost and nothing is logged twice, whatever dies when:
 * - an event leaves its document's outbox only after it is logged, so a crash before that logs it again later;
 * - "logged again" is caught by the log's unique eventId index (the batch is then re-read, leaving out what is
 *   logged), and ids this relay logged but has not cleared yet are left out of the next batch, so a
 *   relay that lost its lease mid-batch and the one that took over cannot both log an event;
 * - sequence numbers are the log's `_id`s, assigned by the one leader and inserted in order, so a stale leader's
 *   append fails on the first number the new leader used, instead of leaving a gap or a duplicate.
 *
 * Writers in this process signal their writes; on other replicas they publish them on the `outbox` topic;
 * the leader also scans every outbox each `scanIntervalMs` for what no signal announced.
 */
export class ChangeRelay {
  private phase: Phase = { kind: 'stopped' };
  private readonly owner = randomUUID();
  private readonly sources: ReadonlyMap<string, ChangeFinalizer>;
  /** Documents to drain, per collection: as their writer in this process knew them, or null (to be read). */
  private readonly pending = new Map<string, Map<string, OutboxDocumentValue | null>>();
  /** Writes of this replica to announce to the leader elsewhere, sent once per tick. */
  private readonly toAnnounce = new Map<string, Set<string>>();
  private announceScheduled = false;
  private draining: Promise<void> | null = null;
  /**
   * Event ids this relay has logged whose outbox entries are not cleared yet: the next batch, read while the
   * previous one is still being finished, leaves them out instead of colliding on the log's unique index.
   */
  private readonly awaitingClear = new Set<string>();
  /**
   * Ids of finished batches, dropped from `awaitingClear` only when the next read starts: a read already in
   * flight when a batch was cleared may still return its entries.
   */
  private finishedIds: string[] = [];
  /** The serial chain of batches' finishing steps (derive, then clear the outboxes), in logging order. */
  private finishing: Promise<void> = Promise.resolve();
  private finishesInFlight = 0;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => Promise<void>) | null = null;
  private lastRetentionSweep = 0;
  private collisionCount = 0;

  constructor(
    private readonly log: ChangeLogRepository,
    sources: readonly OutboxSource[],
    private readonly signal: OutboxSignal,
    private readonly bus: EventBus,
    private readonly derivers: readonly ChangeDeriver[],
    private readonly options: ChangeRelayOptions,
    private readonly logger: Logger,
  ) {
    this.sources = new Map(sources.map((source) => [source.collection, source.finalize]));
  }

  /** Appends that collided with the log (a dead relay's leftovers or another relay's numbers): the careful path. */
  get collisions(): number {
    return this.collisionCount;
  }

  get isLeader(): boolean {
    return this.phase.kind === 'leading';
  }

  async start(): Promise<void> {
    if (this.phase.kind !== 'stopped') throw new Error('The change relay is already started; call stop() first.');
    this.phase = { kind: 'following' };
    this.signal.listen((collection, id, written) => this.onLocalWrite(collection, id, written));
    this.unsubscribe = await this.bus.subscribe(TOPICS.outbox, (message) => {
      if (this.phase.kind !== 'leading') return;
      for (const [collection, ids] of decodePending(message)) for (const id of ids) this.enqueue(collection, id);
    });
    await this.tickLease();
    this.timers.push(setInterval(() => void this.tickLease(), Math.max(50, Math.floor(this.options.leaseMs / 3))));
    this.timers.push(setInterval(() => void this.scan(), this.options.scanIntervalMs));
    for (const timer of this.timers) timer.unref();
  }

  /** Finishes the batch in flight, then gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    const phase = this.phase;
    if (phase.kind === 'stopped' || phase.kind === 'stopping') return;
    this.phase = { kind: 'stopping' };
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.signal.listen(null);
    await this.unsubscribe?.();
    await this.draining?.catch(() => undefined);
    await this.finishing;
    for (const deriver of this.derivers) await deriver.stop?.().catch(() => undefined);
    if (phase.kind === 'leading') {
      if (phase.nextSeq > 1) await this.log.advanceHead(phase.nextSeq - 1).catch(() => undefined);
      await this.log.releaseLease(this.owner, phase.epoch).catch(() => undefined);
    }
    this.phase = { kind: 'stopped' };
  }

  /** Drains everything pending now (tests and shutdown use it to settle). */
  async flush(): Promise<void> {
    if (this.phase.kind !== 'leading') return;
    await this.scan();
    while (this.draining) await this.draining;
    await this.finishing;
  }

  private onLocalWrite(collection: string, id: string, written: WrittenOutbox | null): void {
    if (this.phase.kind === 'leading') {
      this.enqueue(collection, id, written && outboxDocumentAsWritten(id, written));
      return;
    }
    add(this.toAnnounce, collection, id);
    if (this.announceScheduled) return;
    this.announceScheduled = true;
    setImmediate(() => {
      this.announceScheduled = false;
      const message = encodePending(this.toAnnounce);
      this.toAnnounce.clear();
      // Lost when the bus is down: the leader's scan finds the entries anyway.
      void this.bus.publish(TOPICS.outbox, message);
    });
  }

  /**
   * `known`: the document as its writer knew it. A later write the writer also knew whole replaces it (that writer
   * read the outbox empty, so the earlier entry was logged and cleared already); anything else means reading it.
   */
  private enqueue(collection: string, id: string, known: OutboxDocumentValue | null = null): void {
    if (!this.sources.has(collection)) return;
    let documents = this.pending.get(collection);
    if (!documents) this.pending.set(collection, (documents = new Map()));
    const queued = documents.get(id);
    if (queued === undefined) documents.set(id, known);
    else if (queued !== null && (known === null || Number(known['version']) > Number(queued['version']))) documents.set(id, known);
    if (!this.draining) this.draining = this.drainLoop().finally(() => (this.draining = null));
  }

  private async drainLoop(): Promise<void> {
    // Let the writes of this tick accumulate into one batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.size > 0 && this.phase.kind === 'leading') {
      // Up to batchSize documents across every collection with pending writes, logged in one append: when the
      // relay is behind, positions and the values derived from the batch before (available-to-sell) are pending
      // together, and an append of their own each would cost a round trip more.
      const batch: DrainBatch = new Map();
      let size = 0;
      for (const [collection, documents] of this.pending) {
        const entries: [string, OutboxDocumentValue | null][] = [];
        for (const entry of documents) {
          if (size >= this.options.batchSize) break;
          entries.push(entry);
          size++;
        }
        for (const [id] of entries) documents.delete(id);
        if (documents.size === 0) this.pending.delete(collection);
        if (entries.length > 0) batch.set(collection, entries);
        if (size >= this.options.batchSize) break;
      }
      try {
        await this.drainCarefullyOnConflict(batch);
      } catch (error) {
        if (error instanceof SequenceTakenError) for (const [collection, entries] of batch) for (const [id] of entries) this.enqueue(collection, id);
        else this.logger.error({ err: error, collections: [...batch.keys()] }, 'change relay: draining failed; the repair scan retries');
      }
    }
  }

  /**
   * Appends optimistically: on the normal path no entry read from an outbox is logged yet, so the "already
   * logged?" read is skipped. When the append collides (an entry a dead relay logged but did not pull, or
   * another relay's sequence numbers), the log's head is re-read and the batch drained again, this time leaving
   * out what is already logged.
   */
  private async drainCarefullyOnConflict(batch: DrainBatch): Promise<void> {
    try {
      await this.drain(batch, false);
    } catch (error) {
      if (!(error instanceof SequenceTakenError)) throw error;
      this.collisionCount++;
      await this.onSequenceTaken();
      await this.drain(batch, true);
    }
  }

  /**
   * Logs a batch, then hands its finishing steps (derivation, clearing the outboxes) to a chain of their own and
   * returns, so the next batch is read and logged while this one is finished: under a steady trickle of writes an
   * event waits for the append in front of it, not for that batch's derivation and clean-up as well. Finishing
   * stays in logging order and at most {@link MAX_FINISHES_IN_FLIGHT} batches behind.
   *
   * Documents their writer knew whole are taken as known; the careful path reads every one (what a dead relay
   * left is only in the store).
   */
  private async drain(batch: DrainBatch, careful: boolean): Promise<void> {
    if (this.finishesInFlight >= MAX_FINISHES_IN_FLIGHT) await this.finishing;
    for (const id of this.finishedIds) this.awaitingClear.delete(id);
    this.finishedIds = [];
    const read = await Promise.all(
      [...batch].map(async ([collection, entries]) => {
        const known = careful ? [] : entries.flatMap(([, document]) => (document ? [document] : []));
        const toRead = careful ? entries.map(([id]) => id) : entries.flatMap(([id, document]) => (document ? [] : [id]));
        const stored = toRead.length > 0 ? await this.log.readOutboxes(collection, toRead) : []; // only those with pending entries
        return { collection, documents: known.length > 0 ? [...known, ...stored] : stored };
      }),
    );
    const sources = read.filter(({ documents }) => documents.length > 0);
    if (sources.length === 0) return;
    const drafts: ChangeDraftValue[] = sources.flatMap(({ collection, documents }) => {
      const finalize = this.sources.get(collection)!;
      return documents.flatMap((document) => finalize(document, document.outbox!));
    });
    const logged = careful ? await this.log.loggedEventIds(drafts.map((d) => d.eventId)) : new Set<string>();
    const fresh = drafts.filter((d) => !logged.has(d.eventId) && !this.awaitingClear.has(d.eventId));
    const phase = this.phase;
    if (phase.kind !== 'leading') return;
    const loggedAt = new Date();
    const events: ChangeEventValue[] = fresh.map(({ operationId: _operationId, ...d }, index) => ({ ...d, seq: phase.nextSeq + index, loggedAt }));
    if (events.length > 0) {
      await this.log.append(events, phase.epoch);
      phase.nextSeq = events[events.length - 1]!.seq + 1;
      for (const event of events) this.awaitingClear.add(event.eventId);
      await failpoint('relay.after-log-append');
      // Not awaited: a stalled broker must not hold the log up; replicas that miss it read the log.
      void this.bus.publish(TOPICS.changes, encodeChanges(events));
      await failpoint('relay.after-publish');
    }
    const cleared = sources.map(({ collection, documents }) => ({
      collection,
      drained: documents.map((document): DrainedOutbox => ({ id: document._id, version: Number(document['version']), entries: document.storedOutbox ?? [] })),
    }));
    this.finishesInFlight++;
    this.finishing = this.finishing.then(async () => {
      try {
        // Derived records (ledger, price history, available-to-sell) are written before the source events leave their
        // outboxes, from all of them (logged now or by a relay that died): a crash in between derives again, and
        // what is already written is not written twice. The derivers are independent of one another.
        await Promise.all(this.derivers.map((deriver) => deriver.derive(drafts)));
        await Promise.all(cleared.map(({ collection, drained }) => this.log.removeDrained(collection, drained)));
      } catch (error) {
        // The entries stay in their outboxes; the repair scan brings them back, and the log's unique eventId
        // index turns the second append into the careful path, which derives and clears them.
        this.logger.error({ err: error, collections: cleared.map(({ collection }) => collection) }, 'change relay: finishing a batch failed; the repair scan retries');
      } finally {
        this.finishesInFlight--;
        for (const event of events) this.finishedIds.push(event.eventId);
      }
    });
  }

  /** Runs inside the drain loop (never concurrently with an append): re-checks the lease and the log's head. */
  private async onSequenceTaken(): Promise<void> {
    const phase = this.phase;
    if (phase.kind !== 'leading') return;
    this.logger.warn({ epoch: phase.epoch }, 'change relay: another relay logged first; re-checking the lease');
    await this.tickLease();
    if (this.phase !== phase) return;
    const head = await this.log.headSeq();
    if (head >= phase.nextSeq) phase.nextSeq = head + 1;
  }

  /** Renews the lease, or takes it when it is free; on taking it, reads the log's head to continue after it. */
  private async tickLease(): Promise<void> {
    const phase = this.phase;
    if (phase.kind === 'stopped' || phase.kind === 'stopping') return;
    const now = Date.now();
    const expiresAt = new Date(now + this.options.leaseMs);
    try {
      if (phase.kind === 'leading') {
        // Only renews: the next sequence number belongs to the drain loop (a correction made here while a batch
        // is being appended would be added to by that batch and leave a hole).
        if (await this.log.renewLease(this.owner, phase.epoch, expiresAt)) {
          // The recorded head only shortens other replicas' start-up probe: once per tick is enough.
          if (phase.nextSeq > 1) await this.log.advanceHead(phase.nextSeq - 1);
          this.resumeDerivers();
          return;
        }
        this.logger.warn({ epoch: phase.epoch }, 'change relay: lease lost to another replica');
        this.phase = { kind: 'following' };
        return;
      }
      const epoch = await this.log.takeLease(this.owner, new Date(now), expiresAt);
      if (epoch === null) return;
      const head = await this.log.headSeq();
      if (this.phase.kind !== 'following') return;
      this.phase = { kind: 'leading', epoch, nextSeq: head + 1 };
      this.logger.info({ epoch, head }, 'change relay: this replica is the relay');
      await this.scan();
      this.resumeDerivers();
    } catch (error) {
      this.logger.warn({ err: error }, 'change relay: lease check failed');
    }
  }

  private resumeDerivers(): void {
    const isLeader = () => this.phase.kind === 'leading';
    for (const deriver of this.derivers) deriver.resume?.(isLeader);
  }

  /** Finds documents with pending entries in every outbox (the repair path), and applies retention. */
  private async scan(): Promise<void> {
    if (this.phase.kind !== 'leading') return;
    try {
      for (const collection of this.sources.keys()) {
        for (const id of await this.log.pendingOutboxIds(collection, this.options.batchSize)) this.enqueue(collection, id);
      }
      if (Date.now() - this.lastRetentionSweep >= this.options.retentionSweepIntervalMs) {
        this.lastRetentionSweep = Date.now();
        const deleted = await this.log.purgeLoggedBefore(new Date(Date.now() - this.options.retentionMs));
        if (deleted > 0) this.logger.info({ deleted }, 'change relay: events past retention deleted');
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'change relay: outbox scan failed');
    }
  }
}

function add(map: Map<string, Set<string>>, collection: string, id: string): void {
  const ids = map.get(collection);
  if (ids) ids.add(id);
  else map.set(collection, new Set([id]));
}
