import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemOrigin, type ChangeEventValue } from '../../src/domain/changes/change-event.js';
import type { EventBus } from '../../src/events/bus/event-bus.js';
import { encodeChanges } from '../../src/events/change-codec.js';
import { ChangeFeed } from '../../src/events/change-feed.js';
import type { ChangeLogRepository } from '../../src/store/repositories/change-log.repository.js';

const POLL_MS = 1_000;
const event = (seq: number): ChangeEventValue => ({ seq, eventId: `e${seq}`, entity: 'Product', key: 'P', version: seq, at: new Date(0), origin: systemOrigin('API'), sku: null, location: null, channels: null, data: {}, loggedAt: new Date(0) });

/** A log the test appends to, counting the feed's reads; and a bus whose messages the test hands over (or loses). */
function fixture() {
  const logged: ChangeEventValue[] = [];
  const reads: number[] = [];
  const log = {
    headSeq: async () => 0,
    readAfter: async (seq: number, limit: number) => {
      reads.push(seq);
      return logged.filter((e) => e.seq > seq).slice(0, limit);
    },
  } as unknown as ChangeLogRepository;
  let handler: ((message: string) => void) | null = null;
  const bus = {
    kind: 'in-process',
    subscribe: async (_topic: string, h: (message: string) => void) => {
      handler = h;
      return async () => undefined;
    },
    onReconnect: () => () => undefined,
  } as unknown as EventBus;
  const feed = new ChangeFeed(log, bus, { pollIntervalMs: POLL_MS, readBatch: 500 }, pino({ level: 'silent' }));
  const delivered: number[] = [];
  feed.listen((e) => delivered.push(e.seq));
  return {
    feed,
    reads,
    delivered,
    /** Logs the next event; its bus message arrives, or is lost. */
    log(next: 'arrives' | 'is lost') {
      const e = event(logged.length + 1);
      logged.push(e);
      if (next === 'arrives') handler!(encodeChanges([e]));
    },
  };
}

/** A started feed; the reads of its start-up are not counted. */
async function started() {
  const f = fixture();
  await f.feed.start();
  f.reads.length = 0;
  return f;
}

describe('the change feed reads the log for what the bus lost', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('leaves the log alone on ticks in which the bus brought events', async () => {
    const f = await started();
    for (let i = 0; i < 5; i++) {
      f.log('arrives');
      await vi.advanceTimersByTimeAsync(POLL_MS);
    }
    expect(f.delivered).toEqual([1, 2, 3, 4, 5]);
    expect(f.reads).toEqual([]);
    await f.feed.stop();
  });

  it('reads a lost last message on the first tick after the bus fell quiet', async () => {
    const f = await started();
    f.log('arrives');
    f.log('is lost');
    await vi.advanceTimersByTimeAsync(POLL_MS); // the bus brought event 1 since the last tick
    expect(f.delivered).toEqual([1]);
    expect(f.reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(POLL_MS); // nothing since: read the log
    expect(f.delivered).toEqual([1, 2]);
    expect(f.reads).toEqual([1]);
    await vi.advanceTimersByTimeAsync(POLL_MS); // the read moved the feed: no read
    expect(f.reads).toEqual([1]);
    await vi.advanceTimersByTimeAsync(POLL_MS); // quiet: a read, which finds nothing
    expect(f.reads).toEqual([1, 2]);
    expect(f.delivered).toEqual([1, 2]);
    await f.feed.stop();
  });

  it('reads a message lost in the middle of a flow at once, from the gap the next one shows', async () => {
    const f = await started();
    f.log('arrives');
    f.log('is lost');
    f.log('arrives');
    await f.feed.catchUp(); // settles the read the gap started (no tick has passed)
    expect(f.delivered).toEqual([1, 2, 3]);
    expect(f.reads[0]).toBe(1);
    await f.feed.stop();
  });
});
