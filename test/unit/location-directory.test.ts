import { describe, expect, it } from 'vitest';
import type { LocationRecord } from '../../src/domain/channel/channel.types.js';
import { LocationDirectory } from '../../src/domain/channel/location-directory.js';

function location(code: string, negativeStockPolicy: LocationRecord['negativeStockPolicy']): LocationRecord {
  const at = new Date(0);
  return { code, name: code, kind: 'STORE', region: 'EU', timezone: 'UTC', negativeStockPolicy, archivedAt: null, version: 1, createdAt: at, updatedAt: at };
}

/** The repository's findByKeys over a map, counting reads; `gate` holds a read until released. */
function fakeStore(records: Map<string, LocationRecord>) {
  const reads: string[][] = [];
  let gate: Promise<void> | null = null;
  return {
    reads,
    hold() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    async findByKeys(codes: readonly string[]): Promise<LocationRecord[]> {
      reads.push([...codes]);
      const found = codes.flatMap((code) => (records.has(code) ? [records.get(code)!] : []));
      if (gate) await gate;
      return found;
    },
  };
}

describe('the location directory', () => {
  it('reads a location once per ttl, and never keeps a code it did not find', async () => {
    let now = 0;
    const store = fakeStore(new Map([['L-1', location('L-1', 'REJECT')]]));
    const directory = new LocationDirectory(store, { ttlMs: 1_000, now: () => now });
    expect(await directory.findByKeys(['L-1', 'NOPE'])).toEqual([location('L-1', 'REJECT')]);
    expect(await directory.findByKeys(['L-1'])).toEqual([location('L-1', 'REJECT')]);
    expect(await directory.findByKeys(['NOPE'])).toEqual([]);
    expect(store.reads).toEqual([['L-1', 'NOPE'], ['NOPE']]);
    now = 1_000;
    await directory.findByKeys(['L-1']);
    expect(store.reads).toEqual([['L-1', 'NOPE'], ['NOPE'], ['L-1']]);
  });

  it('reads a location again after it is invalidated, by code or all at once', async () => {
    const records = new Map([
      ['L-1', location('L-1', 'REJECT')],
      ['L-2', location('L-2', 'REJECT')],
    ]);
    const store = fakeStore(records);
    const directory = new LocationDirectory(store, { ttlMs: 60_000 });
    await directory.findByKeys(['L-1', 'L-2']);
    records.set('L-1', location('L-1', 'ALLOW'));
    directory.invalidate(['L-1']);
    expect(await directory.findByKeys(['L-1', 'L-2'])).toEqual([location('L-2', 'REJECT'), location('L-1', 'ALLOW')]);
    expect(store.reads).toEqual([['L-1', 'L-2'], ['L-1']]);
    directory.invalidate();
    await directory.findByKeys(['L-1', 'L-2']);
    expect(store.reads).toEqual([['L-1', 'L-2'], ['L-1'], ['L-1', 'L-2']]);
  });

  it('does not keep what a read returned when the location was invalidated while the read was in flight', async () => {
    const records = new Map([['L-1', location('L-1', 'REJECT')]]);
    const store = fakeStore(records);
    const directory = new LocationDirectory(store, { ttlMs: 60_000 });
    const release = store.hold();
    const inFlight = directory.findByKeys(['L-1']);
    records.set('L-1', location('L-1', 'ALLOW'));
    directory.invalidate(['L-1']);
    release();
    expect(await inFlight).toEqual([location('L-1', 'REJECT')]);
    expect(await directory.findByKeys(['L-1'])).toEqual([location('L-1', 'ALLOW')]);
  });

  it('reads every time with a ttl of 0', async () => {
    const store = fakeStore(new Map([['L-1', location('L-1', 'REJECT')]]));
    const directory = new LocationDirectory(store, { ttlMs: 0 });
    await directory.findByKeys(['L-1']);
    await directory.findByKeys(['L-1']);
    expect(store.reads).toEqual([['L-1'], ['L-1']]);
  });
});
