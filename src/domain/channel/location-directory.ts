import { LRUCache } from 'lru-cache';
import type { LocationRecord } from './channel.types.js';

/** Far more than a retailer has; bounds memory if codes are many. */
const MAX_ENTRIES = 10_000;

export interface LocationDirectoryOptions {
  /** How long a location read from the store is used without reading it again; 0 reads it every time. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

/**
 * Locations as the stock write paths need them (that they exist, their negative-stock policy), kept in memory:
 * every adjustment names its locations, a deployment has hundreds at most, and they change rarely, while reading
 * them was one of the six store commands of a single adjustment.
 *
 * How fresh: an upsert through this process empties it at once; an upsert through another replica drops the
 * location when this replica's change feed delivers its Location event (the gateway wires {@link invalidate} to
 * the feed); whatever happens (a process without a feed, a feed catching up), an entry is read again after
 * `ttlMs`. Codes not found are never kept, so a location created a moment ago is found at once.
 *
 * Deadlines of its own rather than lru-cache's `ttl`, which reads `performance.now()`: tests set the clock.
 */
export class LocationDirectory {
  private readonly cache = new LRUCache<string, { readonly record: LocationRecord; readonly until: number }>({ max: MAX_ENTRIES });
  /** Bumped by every invalidation: a read begun under an older generation answers but stores nothing. */
  private generation = 0;
  private readonly now: () => number;

  constructor(
    private readonly store: { findByKeys(codes: readonly string[]): Promise<LocationRecord[]> },
    private readonly options: LocationDirectoryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The locations that exist among `codes`, in no particular order (as the repository's findByKeys). */
  async findByKeys(codes: readonly string[]): Promise<LocationRecord[]> {
    const now = this.now();
    const found: LocationRecord[] = [];
    const missing: string[] = [];
    for (const code of new Set(codes)) {
      const entry = this.cache.get(code);
      if (entry && entry.until > now) found.push(entry.record);
      else missing.push(code);
    }
    if (missing.length === 0) return found;
    const generation = this.generation;
    const read = await this.store.findByKeys(missing);
    if (this.options.ttlMs > 0 && generation === this.generation) {
      const until = this.now() + this.options.ttlMs;
      for (const record of read) this.cache.set(record.code, { record, until });
    }
    return [...found, ...read];
  }

  /** Forgets these codes (a location changed), or every code. */
  invalidate(codes?: readonly string[]): void {
    this.generation++;
    if (!codes) this.cache.clear();
    else for (const code of codes) this.cache.delete(code);
  }
}
