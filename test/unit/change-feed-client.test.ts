import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  ChangeFeedError,
  ConnectionRejectedError,
  createChangeFeedClient,
  CursorExpiredError,
  SubscriptionRejectedError,
  type ChangeFeedClient,
  type ChangeFeedClientOptions,
  type ConnectionState,
} from '../../src/client/index.js';
import { deferred } from '../utils/deferred.js';
import { Recorder, startTicksServer, TickLog, type TicksServer } from '../utils/ticks-server.js';

const API_KEY = 'rsg_test_secret';
const TICKS = 'subscription Ticks($since: Int) { ticks(since: $since) { seq } }';
/** Tiny delays: reconnects happen at once, yet still go through the backoff path. */
const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 4 };

interface TicksData {
  ticks: { seq: number };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: { port?: number; log?: TickLog } = {}): Promise<TicksServer> {
  const started = await startTicksServer({ apiKey: API_KEY, ...options });
  let closed = false;
  const close = started.close.bind(started);
  started.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  cleanups.push(() => started.close());
  return started;
}

function client(url: string, options: Partial<ChangeFeedClientOptions> = {}): { feed: ChangeFeedClient; states: Recorder<ConnectionState> } {
  const states = new Recorder<ConnectionState>();
  const feed = createChangeFeedClient({ url, apiKey: API_KEY, retry: FAST_RETRY, onConnectionChange: (state) => states.push(state), ...options });
  cleanups.push(() => feed.dispose());
  return { feed, states };
}

/** Subscribes to ticks and records what reaches the handlers. */
function watchTicks(feed: ChangeFeedClient, since?: number | null) {
  const seqs = new Recorder<number>();
  const payloadSeqs: number[] = [];
  const error = deferred<ChangeFeedError>();
  const errors: ChangeFeedError[] = [];
  const unsubscribe = feed.subscribe<TicksData>(
    { query: TICKS, ...(since !== undefined ? { since } : {}) },
    {
      next(data, seq) {
        payloadSeqs.push(data.ticks.seq);
        seqs.push(seq);
      },
      error(err) {
        errors.push(err);
        error.resolve(err);
      },
    },
  );
  return { seqs, payloadSeqs, error: error.promise, errors, unsubscribe };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('change-feed client', () => {
  it('delivers each event with its seq', async () => {
    const ticks = await server();
    const { feed, states } = client(ticks.url);
    const watch = watchTicks(feed);
    await ticks.subscribes.waitForCount(1);

    ticks.log.append(3);
    await watch.seqs.waitForCount(3);

    expect(watch.seqs.items).toEqual([1, 2, 3]);
    expect(watch.payloadSeqs).toEqual([1, 2, 3]);
    expect(ticks.subscribes.items).toEqual([null]);
    expect(ticks.connections.items).toEqual([`Bearer ${API_KEY}`]);
    expect(states.items).toEqual(['connected']);
  });

  it('reconnects after the server kills every socket mid-stream and resumes from the last seq, with no gap and no duplicate', async () => {
    const ticks = await server();
    const { feed, states } = client(ticks.url);
    const watch = watchTicks(feed);
    await ticks.subscribes.waitForCount(1);
    ticks.log.append(3);
    await watch.seqs.waitForCount(3);

    ticks.terminateSockets();
    ticks.log.append(2); // 4 and 5 happen while the client is away
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(1);
    await watch.seqs.waitForCount(6);

    expect(ticks.subscribes.items).toEqual([null, 3]);
    expect(watch.seqs.items).toEqual(range(1, 6));
    expect(states.items).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('resumes after the whole server shuts down and starts again on the same port', async () => {
    const log = new TickLog();
    const first = await server({ log });
    const { feed, states } = client(first.url);
    const watch = watchTicks(feed);
    await first.subscribes.waitForCount(1);
    log.append(2);
    await watch.seqs.waitForCount(2);

    await first.close(); // 1001 Going away, then nothing listens: the client keeps retrying
    await states.waitForCount(2);
    log.append(2);
    const second = await server({ log, port: first.port });
    await second.subscribes.waitForCount(1);
    log.append(1);
    await watch.seqs.waitForCount(5);

    expect(second.subscribes.items).toEqual([2]);
    expect(watch.seqs.items).toEqual(range(1, 5));
    expect(states.items).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('drops events the server replays again across a resume', async () => {
    const ticks = await server();
    ticks.replayOverlap = 2; // since: 3 replays 2 and 3 again
    const { feed } = client(ticks.url);
    const watch = watchTicks(feed);
    await ticks.subscribes.waitForCount(1);
    ticks.log.append(3);
    await watch.seqs.waitForCount(3);

    ticks.terminateSockets();
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(1);
    await watch.seqs.waitForCount(4);
    await ticks.sent.waitForCount(6);

    expect(ticks.sent.items).toEqual([1, 2, 3, 2, 3, 4]);
    expect(watch.seqs.items).toEqual([1, 2, 3, 4]);
  });

  it('drops events at or below the starting since and resumes from it when nothing arrived yet', async () => {
    const ticks = await server();
    ticks.log.append(5);
    ticks.replayOverlap = 2;
    const { feed } = client(ticks.url);
    const watch = watchTicks(feed, 3);
    await watch.seqs.waitForCount(2);
    expect(watch.seqs.items).toEqual([4, 5]);

    ticks.terminateSockets();
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(1);
    await watch.seqs.waitForCount(3);

    expect(ticks.subscribes.items).toEqual([3, 5]);
    expect(watch.seqs.items).toEqual([4, 5, 6]);
  });

  it('surfaces CURSOR_EXPIRED as a CursorExpiredError with the server message and stops retrying that subscription', async () => {
    const ticks = await server();
    ticks.log.append(12);
    ticks.expiredBefore = 10;
    const { feed } = client(ticks.url);
    const expired = watchTicks(feed, 3);
    const other = watchTicks(feed, 11); // a second subscription on the same socket shows what the client does next

    const error = await expired.error;
    expect(error).toBeInstanceOf(CursorExpiredError);
    expect(error.message).toBe('Cursor 3 is older than the retention (oldest: 10).');
    expect((error as CursorExpiredError).since).toBe(3);
    await other.seqs.waitForCount(1);

    ticks.terminateSockets();
    await ticks.subscribes.waitFor((items) => items.includes(12));
    ticks.log.append(1);
    await other.seqs.waitForCount(2);

    expect(other.seqs.items).toEqual([12, 13]);
    expect(ticks.subscribes.items.filter((since) => since === 3)).toHaveLength(1);
    expect(expired.errors).toHaveLength(1);
    expect(expired.seqs.items).toEqual([]);
  });

  it('reconnects and resumes after a 4429 slow-consumer close', async () => {
    const ticks = await server();
    const { feed, states } = client(ticks.url);
    const watch = watchTicks(feed);
    await ticks.subscribes.waitForCount(1);
    ticks.log.append(2);
    await watch.seqs.waitForCount(2);

    ticks.closeSockets(4429, 'slow consumer');
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(1);
    await watch.seqs.waitForCount(3);

    expect(ticks.subscribes.items).toEqual([null, 2]);
    expect(watch.seqs.items).toEqual([1, 2, 3]);
    expect(states.items).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('stops a subscription on unsubscribe: no more events and no resubscribe after a reconnect', async () => {
    const ticks = await server();
    const { feed } = client(ticks.url);
    const stopped = watchTicks(feed);
    const kept = watchTicks(feed);
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(1);
    await stopped.seqs.waitForCount(1);
    await kept.seqs.waitForCount(1);

    stopped.unsubscribe();
    ticks.log.append(1);
    await kept.seqs.waitForCount(2);
    ticks.terminateSockets();
    await ticks.subscribes.waitForCount(3);
    ticks.log.append(1);
    await kept.seqs.waitForCount(3);

    expect(stopped.seqs.items).toEqual([1]);
    expect(kept.seqs.items).toEqual([1, 2, 3]);
    // Every subscription the client opened after the reconnect is the kept one, resuming from 2.
    expect(ticks.subscribes.items.slice(2)).toEqual([2]);
  });

  it('stops only the subscription whose next handler throws, with a ChangeFeedError carrying what it threw', async () => {
    const ticks = await server();
    const { feed } = client(ticks.url);
    const boom = new Error('boom');
    const failed = deferred<ChangeFeedError>();
    const faulty: number[] = [];
    feed.subscribe<TicksData>(
      { query: TICKS },
      {
        next(_data, seq) {
          faulty.push(seq);
          if (seq === 2) throw boom;
        },
        error: failed.resolve,
      },
    );
    const healthy = watchTicks(feed);
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(3);

    const error = await failed.promise;
    await healthy.seqs.waitForCount(3);
    expect(error).toBeInstanceOf(ChangeFeedError);
    expect(error.cause).toBe(boom);
    expect(faulty).toEqual([1, 2]);
    expect(healthy.seqs.items).toEqual([1, 2, 3]);
    expect(ticks.connections.items).toHaveLength(1);
  });

  it('closes the socket and stops every subscription on dispose', async () => {
    const ticks = await server();
    const { feed, states } = client(ticks.url);
    const first = watchTicks(feed);
    const second = watchTicks(feed);
    await ticks.subscribes.waitForCount(2);
    ticks.log.append(1);
    await first.seqs.waitForCount(1);
    await second.seqs.waitForCount(1);

    await feed.dispose();
    ticks.log.append(1);
    await ticks.closes.waitForCount(1);

    expect(ticks.closes.items).toEqual([1000]);
    expect(states.items).toEqual(['connected']);
    expect(first.seqs.items).toEqual([1]);
    expect(second.seqs.items).toEqual([1]);
    expect(() => watchTicks(feed)).toThrow(ChangeFeedError);
  });

  it('fails every subscription with a ConnectionRejectedError on a rejected API key, without reconnecting', async () => {
    const ticks = await server();
    const { feed, states } = client(ticks.url, { apiKey: 'rsg_wrong_key' });
    const watch = watchTicks(feed);

    const error = await watch.error;
    expect(error).toBeInstanceOf(ConnectionRejectedError);
    expect((error as ConnectionRejectedError).closeCode).toBe(4403);
    // 'reconnecting' is reported before every reconnect, in the same step that handles the close.
    expect(states.items).toEqual([]);
    await feed.dispose();
    expect(ticks.connections.items).toEqual(['Bearer rsg_wrong_key']);
    expect(ticks.subscribes.items).toEqual([]);
  });

  it('fails a subscription the server does not validate with a SubscriptionRejectedError', async () => {
    const ticks = await server();
    const { feed } = client(ticks.url);
    const error = deferred<ChangeFeedError>();
    feed.subscribe({ query: 'subscription($since: Int) { ticks(since: $since) { seq nope } }' }, { next() {}, error: error.resolve });

    const rejected = await error.promise;
    expect(rejected).toBeInstanceOf(SubscriptionRejectedError);
    expect(rejected.message).toContain('nope');
  });

  it('resubscribes from the same cursor, on the same socket, when the server fails a subscription with INTERNAL_SERVER_ERROR', async () => {
    const ticks = await server();
    ticks.log.append(2);
    ticks.failNextSubscribes = 2;
    const { feed } = client(ticks.url);
    const watch = watchTicks(feed, 1);
    await watch.seqs.waitForCount(1);

    expect(ticks.subscribes.items).toEqual([1, 1, 1]);
    expect(ticks.connections.items).toHaveLength(1);
    expect(watch.seqs.items).toEqual([2]);
    expect(watch.errors).toEqual([]);
  });

  it('refuses a query that cannot resume: no $since variable, or not a subscription', () => {
    const { feed } = client('ws://127.0.0.1:9/graphql');
    const handlers = { next() {}, error() {} };
    expect(() => feed.subscribe({ query: 'subscription { ticks { seq } }' }, handlers)).toThrow(/\$since/);
    expect(() => feed.subscribe({ query: 'query($since: Int) { ok }' }, handlers)).toThrow(/subscription/);
    expect(() => feed.subscribe({ query: TICKS, since: -1 }, handlers)).toThrow(RangeError);
  });
});

describe('backoffDelay', () => {
  const retry = { initialDelayMs: 250, maxDelayMs: 30_000 };

  it('grows exponentially from the initial delay up to the cap', () => {
    const top = () => 0.999_999;
    const delays = range(0, 10).map((attempt) => backoffDelay(attempt, retry, top));
    expect(delays).toEqual([249, 499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    expect(backoffDelay(10_000, retry, top)).toBe(29_999);
  });

  it('is jittered over the whole range, from 0 to the capped exponential delay', () => {
    expect(backoffDelay(3, retry, () => 0)).toBe(0);
    expect(backoffDelay(3, retry, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, retry, () => 0.25)).toBe(500);
    expect(backoffDelay(20, retry, () => 0.5)).toBe(15_000);
  });
});
