import type { Collection, Connection, Model } from 'mongoose';
import type { ChangeDraftValue, ChangeEntity, ChangeEventValue, ChangeOriginValue, OutboxEntryValue } from '../../domain/changes/change-event.js';
import { OUTBOX_SOURCES } from '../change-finalizers.js';
import { decodeOutboxEntry, type StoredOutboxEntry, type WrittenOutbox } from '../outbox.js';
import { changeFeedStateSchema, changeLogSchema } from '../models/change-log.model.js';
import { isDuplicateKeyError } from './mongo-errors.js';
import { findByIds } from './by-ids.js';

/** A change event as the log stores it: `_id` is its sequence number, `epoch` the relay lease it was logged under. */
export interface LoggedDocument {
  _id: number;
  eventId: string;
  entity: string;
  key: string;
  version: number;
  at: Date;
  origin: ChangeOriginValue;
  sku: string | null;
  location: string | null;
  channels?: string[] | null;
  data: Record<string, unknown>;
  loggedAt: Date;
  epoch: number;
}

interface StateDocument {
  _id: string;
  owner?: string;
  epoch?: number;
  expiresAt?: Date;
  seq?: number;
  purgedThrough?: number;
}

/** A document that carries outbox entries, as the relay reads it: its state and its pending entries. */
export interface OutboxDocumentValue {
  readonly _id: string;
  /** The pending entries, decoded, oldest first. */
  readonly outbox?: readonly OutboxEntryValue[];
  /** The same entries as stored: what {@link ChangeLogRepository.removeDrained} takes off the document. */
  readonly storedOutbox?: readonly StoredOutboxEntry[];
  readonly [field: string]: unknown;
}

/** What {@link ChangeLogRepository.readOutboxes} returns for a document its writer knew whole, without reading it. */
export function outboxDocumentAsWritten(id: string, written: WrittenOutbox): OutboxDocumentValue {
  return { _id: id, version: written.version, ...written.fields, outbox: written.stored.map(decodeOutboxEntry), storedOutbox: written.stored };
}

/** A drained document: the version it was read at and the entries logged from it, as stored. */
export interface DrainedOutbox {
  readonly id: string;
  readonly version: number;
  readonly entries: readonly StoredOutboxEntry[];
}

/** Another relay logged with the same sequence number: this one lost its lease (fencing). */
export class SequenceTakenError extends Error {
  constructor(seq: number) {
    super(`Sequence number ${seq} is already logged by another relay.`);
    this.name = 'SequenceTakenError';
  }
}

/** How far a head lookup probes past the recorded head in one round trip. */
const HEAD_PROBE = 256;

function toEvent(document: LoggedDocument): ChangeEventValue {
  return {
    seq: document._id,
    eventId: document.eventId,
    entity: document.entity as ChangeEntity,
    key: document.key,
    version: document.version,
    at: document.at,
    origin: document.origin,
    sku: document.sku ?? null,
    location: document.location ?? null,
    channels: document.channels ?? null,
    data: document.data ?? {},
    loggedAt: document.loggedAt,
  };
}

/** `[from, from + count)`. */
function range(from: number, count: number): number[] {
  return Array.from({ length: Math.max(0, count) }, (_, index) => from + index);
}

/**
 * The change log, the relay's lease and the outboxes it drains. The log is written only by the relay holding the
 * lease; everyone reads it.
 */
export class ChangeLogRepository {
  private readonly log: Model<LoggedDocument>;
  private readonly state: Model<StateDocument>;

  constructor(private readonly connection: Connection) {
    this.log = connection.model<LoggedDocument>('ChangeLog', changeLogSchema);
    this.state = connection.model<StateDocument>('ChangeFeedState', changeFeedStateSchema);
  }

  // --- lease -------------------------------------------------------------------------------------------------

  /** Extends the lease if `owner` still holds it at `epoch`; false when it was taken over. */
  async renewLease(owner: string, epoch: number, expiresAt: Date): Promise<boolean> {
    const result = await this.state.updateOne({ _id: 'lease', owner, epoch }, { $set: { expiresAt } }).exec();
    return result.matchedCount === 1;
  }

  /**
   * Takes the lease if it is free or expired, with a new epoch (the fencing token). Resolves the epoch, or null
   * when another relay holds it. Reads the document as it was before the update: this store hands out
   * repeated "after" documents under concurrency (STORE.md).
   */
  async takeLease(owner: string, now: Date, expiresAt: Date): Promise<number | null> {
    const before = await this.state
      .findOneAndUpdate({ _id: 'lease', expiresAt: { $lte: now } }, { $set: { owner, expiresAt }, $inc: { epoch: 1 } }, { returnDocument: 'before' })
      .lean<StateDocument>()
      .exec();
    if (before) return (before.epoch ?? 0) + 1;
    try {
      await this.state.create({ _id: 'lease', owner, epoch: 1, expiresAt });
      return 1;
    } catch (error) {
      if (isDuplicateKeyError(error)) return null;
      throw error;
    }
  }

  /** Gives the lease up at shutdown so another replica takes over at once, not after it expires. */
  async releaseLease(owner: string, epoch: number): Promise<void> {
    await this.state.updateOne({ _id: 'lease', owner, epoch }, { $set: { expiresAt: new Date(0) } }).exec();
  }

  // --- log ---------------------------------------------------------------------------------------------------

  /** The ids among `eventIds` that are already logged (an earlier drain logged them, then died before pulling). */
  async loggedEventIds(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const documents = await this.log.find({ eventId: { $in: [...eventIds] } }, { eventId: 1 }).lean<Pick<LoggedDocument, 'eventId'>[]>().exec();
    return new Set(documents.map((document) => document.eventId));
  }

  /**
   * Appends events whose `seq` the caller assigned, in order; ordered, so a failure leaves a contiguous prefix.
   * Throws {@link SequenceTakenError} when a sequence number or an event is already logged (another relay).
   */
  async append(events: readonly ChangeEventValue[], epoch: number): Promise<void> {
    if (events.length === 0) return;
    const documents: LoggedDocument[] = events.map(({ seq, channels, ...event }) => ({ _id: seq, ...event, ...(channels ? { channels: [...channels] } : {}), data: { ...event.data }, epoch }));
    try {
      // The driver's collection: documents are built here from typed values; mongoose casting adds nothing.
      await (this.log.collection as unknown as Collection<LoggedDocument>).insertMany(documents, { ordered: true });
    } catch (error) {
      if (isDuplicateKeyError(error) || (error as { code?: unknown }).code === 11000) throw new SequenceTakenError(events[0]!.seq);
      throw error;
    }
  }

  /** Up to `limit` events after `seq`, contiguous (the range stops at the first missing number). */
  async readAfter(seq: number, limit: number): Promise<ChangeEventValue[]> {
    // The driver's collection: every replica's feed polls here, and subscriptions replay from here.
    const documents = (await this.log.collection.find({ _id: { $in: range(seq + 1, limit) } } as never).toArray()) as unknown as LoggedDocument[];
    documents.sort((a, b) => a._id - b._id);
    const contiguous: ChangeEventValue[] = [];
    for (const document of documents) {
      if (document._id !== seq + 1 + contiguous.length) break;
      contiguous.push(toEvent(document));
    }
    return contiguous;
  }

  /** The highest sequence number logged: the recorded head, then probing forward for what was logged since. */
  async headSeq(): Promise<number> {
    const head = await this.state.findById('head').lean<StateDocument>().exec();
    let seq = Math.max(head?.seq ?? 0, await this.retentionWatermark());
    for (;;) {
      const found = await this.log.countDocuments({ _id: { $in: range(seq + 1, HEAD_PROBE) } }).exec();
      seq += found;
      if (found < HEAD_PROBE) return seq;
    }
  }

  /** Records that everything up to `seq` is logged (never moves back). */
  async advanceHead(seq: number): Promise<void> {
    await this.state.updateOne({ _id: 'head' }, { $max: { seq } }, { upsert: true }).exec();
  }

  /** Every event up to this sequence number may have been deleted by retention. */
  async retentionWatermark(): Promise<number> {
    const document = await this.state.findById('retention').lean<StateDocument>().exec();
    return document?.purgedThrough ?? 0;
  }

  /**
   * Deletes events logged before `cutoff`. The watermark moves first, so a reader never replays across a hole:
   * it is told its cursor expired instead.
   */
  async purgeLoggedBefore(cutoff: Date): Promise<number> {
    const newest = await this.log.findOne({ loggedAt: { $lt: cutoff } }, { _id: 1 }).sort({ _id: -1 }).lean<Pick<LoggedDocument, '_id'>>().exec();
    if (!newest) return 0;
    await this.state.updateOne({ _id: 'retention' }, { $max: { purgedThrough: newest._id } }, { upsert: true }).exec();
    const result = await this.log.deleteMany({ _id: { $lte: newest._id } }).exec();
    return result.deletedCount;
  }

  // --- outboxes ----------------------------------------------------------------------------------------------

  /** Documents of `collection` with pending entries (the repair scan; the sparse `outboxAt` index serves it). */
  async pendingOutboxIds(collection: string, limit: number): Promise<string[]> {
    const documents = await this.connection.collection(collection).find({ outboxAt: { $exists: true } }, { projection: { _id: 1 }, limit }).toArray();
    return documents.map((document) => String(document._id));
  }

  /** The documents with their state and pending entries; those without entries are left out. */
  async readOutboxes(collection: string, ids: readonly string[]): Promise<OutboxDocumentValue[]> {
    if (ids.length === 0) return [];
    const documents = await findByIds<OutboxDocumentValue & { outbox?: StoredOutboxEntry[] }>(this.connection.collection(collection), ids, { projection: { recentOps: 0, recentChanges: 0, holds: 0 } });
    const pending: OutboxDocumentValue[] = [];
    for (const { outbox, ...document } of documents) {
      if (!outbox || outbox.length === 0) continue;
      pending.push({ ...document, outbox: outbox.map(decodeOutboxEntry), storedOutbox: outbox });
    }
    return pending;
  }

  /** The changes still pending in the outboxes of `documentIds` (documents of `entity`), oldest first per document. */
  async pendingChanges(entity: ChangeEntity, documentIds: readonly string[]): Promise<ChangeDraftValue[]> {
    const source = OUTBOX_SOURCES.find((candidate) => candidate.entity === entity);
    if (!source) throw new Error(`No outbox carries ${entity} changes.`);
    return (await this.readOutboxes(source.collection, documentIds)).flatMap((document) => source.finalize(document, document.outbox!));
  }

  /**
   * Changes by event id, wherever they are now: pending in the outbox of one of `documentIds` (documents of
   * `entity`), or logged. The outboxes are read first: an entry leaves its outbox only after it is logged, so one
   * that is not in the outboxes at that read is in the log when the log is read next (unless retention took it).
   * Absent: never made, or past retention.
   */
  async findChanges(entity: ChangeEntity, documentIds: readonly string[], eventIds: readonly string[]): Promise<ChangeDraftValue[]> {
    const wanted = new Set(eventIds);
    if (wanted.size === 0) return [];
    const pending = (await this.pendingChanges(entity, documentIds)).filter((draft) => wanted.has(draft.eventId));
    for (const draft of pending) wanted.delete(draft.eventId);
    if (wanted.size === 0) return pending;
    // The driver's collection: the unique eventId index serves the lookup.
    const logged = (await this.log.collection.find({ eventId: { $in: [...wanted] } } as never).toArray()) as unknown as LoggedDocument[];
    return [...pending, ...logged.map(toEvent)];
  }

  /**
   * Takes logged entries off their documents. A document still at the version it was read at received no entry
   * since, so its whole outbox and pending mark are cleared with one compare-and-set on `{ _id, version }`; the
   * others (written meanwhile) get exactly the logged entries pulled and keep their mark.
   */
  async removeDrained(collection: string, drained: readonly DrainedOutbox[]): Promise<void> {
    if (drained.length === 0) return;
    const documents = this.connection.collection(collection);
    const cleared = await documents.bulkWrite(
      drained.map(({ id, version }) => ({ updateOne: { filter: { _id: id, version }, update: { $unset: { outbox: '', outboxAt: '' } } } })) as never,
      { ordered: false },
    );
    if (cleared.matchedCount === drained.length) return;
    // Bulk results do not say which matched: pull from all (a no-op where the outbox is already gone). Entries
    // stored as strings are pulled by value; the older sub-document form by id.
    const pulls = drained.flatMap(({ id, entries }) => {
      const strings = entries.filter((entry): entry is string => typeof entry === 'string');
      const legacyIds = entries.flatMap((entry) => (typeof entry === 'string' ? [] : [entry.id]));
      return [
        ...(strings.length > 0 ? [{ updateOne: { filter: { _id: id }, update: { $pull: { outbox: { $in: strings } } } } }] : []),
        ...(legacyIds.length > 0 ? [{ updateOne: { filter: { _id: id }, update: { $pull: { outbox: { id: { $in: legacyIds } } } } } }] : []),
      ];
    });
    await documents.bulkWrite(pulls as never, { ordered: false });
  }
}
