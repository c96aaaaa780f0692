import { isDeepStrictEqual } from 'node:util';
import pMap from 'p-map';
import { outboxEntry, type ChangeOriginValue, type OutboxEntryValue } from '../changes/change-event.js';
import type { BatchItem } from './batch.js';
import { DomainError } from './errors.js';

/** Fields the upsert engine owns; everything else on a record is content. */
export interface Versioned {
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a repository offers for optimistic, single-document writes. */
export interface VersionedStore<T extends Versioned> {
  findByKeys(keys: readonly string[]): Promise<T[]>;
  /** Resolves false when a record with the same key already exists. `change` is written with it (its outbox). */
  insert(record: T, change: OutboxEntryValue): Promise<boolean>;
  /** Replaces the record only if its stored version is `expectedVersion`; resolves false otherwise. */
  replace(record: T, expectedVersion: number, change: OutboxEntryValue): Promise<boolean>;
}

export type Content<T extends Versioned> = Omit<T, keyof Versioned>;

export interface UpsertPlan<T extends Versioned, I> {
  keyOf(input: I): string;
  keyOfRecord(record: T): string;
  /** The desired content given what is stored (null when new). Pure: it may be called again after a race. */
  build(current: T | null, input: I): Content<T>;
}

export interface UpsertOptions<T> {
  readonly now: Date;
  /** Who is writing: every created or updated record logs a change event with this origin. */
  readonly origin: ChangeOriginValue;
  /** Records already loaded by the caller's reference checks, so they are not read twice. */
  readonly loaded?: ReadonlyMap<string, T>;
}

/** Parallel writes per batch: enough to hide round trips, few enough not to starve other requests. */
const WRITE_CONCURRENCY = 8;
/** A record changed by someone else between our read and write is re-read and rebuilt this many times. */
const MAX_RACE_RETRIES = 5;

/**
 * Applies a validated batch as independent, single-document compare-and-set writes: a new key is inserted at
 * version 1, a changed record is replaced at version + 1, and a record whose content would not change is not
 * written at all (no version bump). The master catalog wins conflicts, so a lost race simply rebuilds from the
 * newer state. Without multi-document transactions a crash can leave a batch partly applied; every item is an
 * absolute write, so retrying the request (same idempotency key) completes it.
 */
export async function applyUpserts<T extends Versioned, I>(
  store: VersionedStore<T>,
  plan: UpsertPlan<T, I>,
  inputs: readonly I[],
  options: UpsertOptions<T>,
): Promise<BatchItem<T>[]> {
  const loaded = options.loaded ?? (await loadByKey(store, plan, inputs.map(plan.keyOf)));
  return pMap(inputs, (input, index) => upsertOne(store, plan, input, index, loaded.get(plan.keyOf(input)) ?? null, options), {
    concurrency: WRITE_CONCURRENCY,
  });
}

async function upsertOne<T extends Versioned, I>(store: VersionedStore<T>, plan: UpsertPlan<T, I>, input: I, index: number, initial: T | null, { now, origin }: UpsertOptions<T>): Promise<BatchItem<T>> {
  let current = initial;
  for (let attempt = 0; attempt <= MAX_RACE_RETRIES; attempt++) {
    const content = plan.build(current, input);
    if (current === null) {
      const record = { ...content, version: 1, createdAt: now, updatedAt: now } as T;
      if (await store.insert(record, outboxEntry(origin, now, { version: 1, data: { outcome: 'CREATED' } }))) return { index, outcome: 'CREATED', record };
    } else {
      if (isDeepStrictEqual(content, contentOf(current))) return { index, outcome: 'UNCHANGED', record: current };
      const record = { ...content, version: current.version + 1, createdAt: current.createdAt, updatedAt: now } as T;
      if (await store.replace(record, current.version, outboxEntry(origin, now, { version: record.version, data: { outcome: 'UPDATED' } }))) return { index, outcome: 'UPDATED', record };
    }
    current = (await store.findByKeys([plan.keyOf(input)]))[0] ?? null;
  }
  throw new DomainError('CONFLICT', `"${plan.keyOf(input)}" kept changing while it was written; retry the request.`);
}

function contentOf<T extends Versioned>(record: T): Content<T> {
  const { version: _version, createdAt: _createdAt, updatedAt: _updatedAt, ...content } = record;
  return content;
}

/** One read for the whole batch, keyed like the inputs. */
export async function loadByKey<T extends Versioned, I>(store: VersionedStore<T>, plan: UpsertPlan<T, I>, keys: readonly string[]): Promise<Map<string, T>> {
  const records = await store.findByKeys(keys);
  return new Map(records.map((record) => [plan.keyOfRecord(record), record]));
}
