import { Schema } from 'mongoose';
import type { OutboxEntryValue } from '../domain/changes/change-event.js';

/**
 * The transactional outbox, kept in the changed document itself: every write that changes an aggregate pushes
 * its event onto the document's `outbox` array in the same single-document update as the state, so the state
 * and its event are committed together on a standalone mongod, a replica set and the embedded store alike (no
 * multi-document transaction, STORE.md). The relay moves entries to the change log and pulls them off.
 *
 * `outboxAt` marks documents with pending entries (the oldest entry's time): a sparse index on it is what the
 * relay's repair scan reads, so documents without pending events cost nothing.
 *
 * Each entry is stored as one JSON string ({@link encodeOutboxEntry}). Nothing queries inside an entry, and a
 * string is one value for the driver to encode and decode instead of four nested documents, and for the store to
 * copy each time the document is rewritten while the entry waits (the embedded store copies every sub-document
 * on each update: see applied-op-codec.ts, BENCHMARKS.md).
 */
export const outboxFields = {
  outbox: { type: [Schema.Types.Mixed], default: undefined }, // strings; objects in documents written before
  outboxAt: { type: Date, required: false },
} as const;

/**
 * The repair scan's sparse index, and `{ _id, version }`: the relay clears a drained outbox with a
 * compare-and-set on the version it read (every outbox push bumps the version, so an unchanged version means
 * no entry arrived since). MongoDB serves that filter from the _id index anyway; the embedded store uses only an
 * index whose keys equal the filter's and would scan the collection for each (STORE.md).
 */
export function addOutboxIndex(schema: Schema): void {
  schema.index({ outboxAt: 1 }, { sparse: true });
  schema.index({ _id: 1, version: 1 }, { unique: true });
}

/** A projection for reads of the state: the pending entries are the relay's business (and most of a busy document's bytes). */
export const WITHOUT_OUTBOX = { outbox: 0, outboxAt: 0 } as const;

/** An entry as stored: a JSON string, or (written before that) the entry as a sub-document, still read. */
export type StoredOutboxEntry = string | OutboxEntryValue;

export function encodeOutboxEntry(entry: OutboxEntryValue): string {
  return JSON.stringify({ ...entry, at: entry.at.getTime() });
}

export function decodeOutboxEntry(stored: StoredOutboxEntry): OutboxEntryValue {
  if (typeof stored !== 'string') return stored;
  const { at, ...entry } = JSON.parse(stored) as Omit<OutboxEntryValue, 'at'> & { at: number };
  return { ...entry, at: new Date(at) };
}

/** The fields of a newly inserted document that carries `entries`. */
export function outboxOnInsert(entries: readonly OutboxEntryValue[], stored: readonly string[] = entries.map(encodeOutboxEntry)): { outbox: string[]; outboxAt: Date } | Record<string, never> {
  if (entries.length === 0) return {};
  return { outbox: [...stored], outboxAt: entries[0]!.at };
}

/**
 * `update` with `entries` appended to the document's outbox, merged into its own `$push` and `$min`, if any.
 * `stored`: the entries already encoded, when the writer hands them to the relay as well ({@link WrittenOutbox}).
 */
export function withOutbox<U extends Record<string, unknown>>(update: U, entries: readonly OutboxEntryValue[], stored: readonly string[] = entries.map(encodeOutboxEntry)): U {
  if (entries.length === 0) return update;
  const push = (update['$push'] ?? {}) as Record<string, unknown>;
  const min = (update['$min'] ?? {}) as Record<string, unknown>;
  return { ...update, $push: { ...push, outbox: { $each: stored } }, $min: { ...min, outboxAt: entries[0]!.at } };
}

/** Fields a read of the state leaves out but for the pending mark: whether the outbox was empty at that version. */
export const WITHOUT_OUTBOX_ENTRIES = { outbox: 0 } as const;

/**
 * A document as its writer knows it right after the write, when that is exactly what the relay would read back:
 * the write was the insert, or a compare-and-set from a version read with no pending entries, so at `version`
 * the outbox holds the `stored` entries and nothing else (entries only arrive with a new version; the relay's
 * clean-up only takes them away). The relay of the same process logs it from this instead of reading the
 * document again: one round trip less per batch, and one read less per changed document for the store.
 */
export interface WrittenOutbox {
  readonly version: number;
  /** The state the collection's finalizer reads (change-finalizers.ts), as written. */
  readonly fields: Readonly<Record<string, unknown>>;
  /**
   * The entries as stored. The relay decodes them as it would after a read (the same events to the last field),
   * and its clean-up pulls them by value when the document changed meanwhile.
   */
  readonly stored: readonly string[];
}

/** Remembers which records were read with an empty outbox, without a field for it on the domain record. */
export class EmptyOutboxReads<R extends object> {
  private readonly records = new WeakSet<R>();

  /** `record` as read from a stored document that had, or had not, the pending mark `outboxAt`. */
  note(record: R, stored: { readonly outboxAt?: unknown }): R {
    if (stored.outboxAt === undefined || stored.outboxAt === null) this.records.add(record);
    return record;
  }

  /** True only for a record read (not derived) from a document without pending entries. */
  had(record: R): boolean {
    return this.records.has(record);
  }
}

/** Collections that carry an outbox, by aggregate: the relay drains exactly these. */
export const OUTBOX_COLLECTIONS = {
  Product: 'products',
  Sku: 'skus',
  Location: 'locations',
  Channel: 'channels',
  SkuMapping: 'sku_mappings',
  PriceList: 'price_lists',
  Price: 'prices',
  InventoryPosition: 'inventory_positions',
  ChannelAvailability: 'channel_availability',
  Reservation: 'reservations',
} as const;

/**
 * Tells the relay, in this process, that a document has new outbox entries, so it moves them to the log at once
 * instead of on its next repair scan. Losing a signal (a crash right after the write) only delays the event.
 */
export class OutboxSignal {
  private listener: OutboxListener | null = null;

  /** One listener: the relay of this process (or whatever forwards to the active relay). */
  listen(listener: OutboxListener | null): void {
    this.listener = listener;
  }

  /** `written`: the document as written, when the writer knows it whole ({@link WrittenOutbox}); null: read it. */
  notify(collection: string, id: string, written: WrittenOutbox | null = null): void {
    this.listener?.(collection, id, written);
  }
}

export type OutboxListener = (collection: string, id: string, written: WrittenOutbox | null) => void;
