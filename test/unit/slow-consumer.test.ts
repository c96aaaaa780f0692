import { buildSchema, parse } from 'graphql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { systemOrigin, type ChangeEventValue } from '../../src/domain/changes/change-event.js';
import type { ChangeFeed, ChangeListener } from '../../src/events/change-feed.js';
import { SlowConsumerError, streamKey, SubscriptionHub } from '../../src/events/subscription-hub.js';
import { GroupedSubscriptions, SLOW_CONSUMER_CLOSE_CODE, type SubscriptionSocket } from '../../src/server/subscription-execution.js';
import type { ChangeLogRepository } from '../../src/store/repositories/change-log.repository.js';
import { readFrames } from '../utils/ws-frames.js';

const event = (seq: number): ChangeEventValue => ({ seq, eventId: `e${seq}`, entity: 'Product', key: 'P', version: seq, at: new Date(0), origin: systemOrigin('API'), sku: null, location: null, channels: null, data: {}, loggedAt: new Date(0) });

/** A replica feed driven by the test: `emit` delivers the next event to every listener, synchronously. */
function fakeFeed() {
  const listeners = new Set<ChangeListener>();
  let lastSeq = 0;
  const feed = {
    get lastSeq() {
      return lastSeq;
    },
    listen(listener: ChangeListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as ChangeFeed;
  return {
    feed,
    listeners,
    emit() {
      lastSeq++;
      for (const listener of listeners) listener(event(lastSeq));
    },
  };
}
const emptyLog = { readAfter: async () => [] } as unknown as ChangeLogRepository;
const attached = async (hub: SubscriptionHub, count: number) => {
  while (hub.liveStreams < count) await new Promise((resolve) => setImmediate(resolve));
};

/** A socket's send that keeps each frame as text, and checks it goes out as a text frame (graphql-ws speaks text). */
function textFrames(sent: string[]): SubscriptionSocket['send'] {
  return (data, options) => {
    expect(options.binary).toBe(false);
    sent.push(data.toString('utf8'));
  };
}

describe('the hub index', () => {
  it('offers an event only to the streams under its SKU and to those that asked for every SKU of its kind', async () => {
    const listeners = new Set<ChangeListener>();
    let lastSeq = 0;
    const feed = { get lastSeq() { return lastSeq; }, listen: (l: ChangeListener) => (listeners.add(l), () => listeners.delete(l)) } as unknown as ChangeFeed;
    const hub = new SubscriptionHub(feed, emptyLog, { maxQueuedEvents: 10, replayBatch: 10 });
    const offered = { A: 0, B: 0, any: 0, prices: 0 };
    const open = (name: keyof typeof offered, keys: string[]) => hub.open({ since: null, keys, matches: () => (offered[name]++, true) });
    const streams = [open('A', [streamKey('InventoryPosition', 'A')]), open('B', [streamKey('InventoryPosition', 'B')]), open('any', [streamKey('InventoryPosition', null)]), open('prices', [streamKey('Price', null)])];
    await attached(hub, 4);
    expect(listeners.size).toBe(1); // the hub listens once for all of them
    lastSeq = 1;
    for (const listener of listeners) listener({ ...event(1), entity: 'InventoryPosition', sku: 'A' });
    expect(offered).toEqual({ A: 1, B: 0, any: 1, prices: 0 });
    expect((await streams[0]!.next()).value?.seq).toBe(1);
    await Promise.all(streams.map((stream) => stream.return!()));
    expect(listeners.size).toBe(0);
    expect(hub.liveStreams).toBe(0);
  });
});

describe('slow consumers', () => {
  it('ends a stream whose queue reaches the cap with SlowConsumerError, and detaches it', async () => {
    const { feed, listeners, emit } = fakeFeed();
    const hub = new SubscriptionHub(feed, emptyLog, { maxQueuedEvents: 3, replayBatch: 10 });
    const stream = hub.open({ matches: () => true, since: null });
    await attached(hub, 1);
    emit();
    expect((await stream.next()).value?.seq).toBe(1);
    for (let i = 0; i < 4; i++) emit(); // 3 queue, the 4th overflows
    await expect(stream.next()).rejects.toBeInstanceOf(SlowConsumerError);
    expect(listeners.size).toBe(0);
    expect(hub.size).toBe(0);
  });

  it.each([
    ['through ws.send', false],
    ['as whole frames written to the uncompressed TCP socket', true],
  ])('sends error-free results straight to the socket as graphql-ws next frames, serialised once per group (%s)', async (_, whole) => {
    const schema = buildSchema('type Query { ok: Boolean } type Subscription { changed: Int }');
    const { feed, listeners, emit } = fakeFeed();
    const hub = new SubscriptionHub(feed, emptyLog, { maxQueuedEvents: 10, replayBatch: 10 });
    schema.getSubscriptionType()!.getFields()['changed']!.subscribe = () => hub.open({ matches: () => true, since: null });
    schema.getSubscriptionType()!.getFields()['changed']!.resolve = (e: ChangeEventValue) => e.seq;
    const sent: string[] = [];
    const written: Buffer[] = [];
    const tcp = { cork: () => undefined, uncork: () => undefined, write: (data: Buffer) => written.push(data) > 0 };
    const socket = { bufferedAmount: 0, readyState: 1, close: () => undefined, send: textFrames(sent), ...(whole ? { extensions: '', _socket: tcp } : {}) } satisfies SubscriptionSocket;
    const grouped = new GroupedSubscriptions(1_000, pino({ level: 'silent' }));
    const args = { schema, document: parse('subscription { changed }'), contextValue: { caller: { scopes: [], channels: [] } } };
    const streams = await Promise.all(['a', 'bé-ü'].map(async (id) => (await grouped.subscribe(args, { socket, id })) as AsyncIterableIterator<unknown>));
    const pending = streams.map((stream) => stream.next());
    await attached(hub, 2);
    emit();
    emit();
    while (sent.length + written.length < 4) await new Promise((resolve) => setImmediate(resolve));
    if (whole) {
      expect(sent).toEqual([]);
      const messages = await readFrames(Buffer.concat(written));
      expect(messages.every((message) => !message.isBinary)).toBe(true);
      sent.push(...messages.map((message) => message.text));
    } else expect(written).toEqual([]);
    const frames = sent.map((frame) => JSON.parse(frame) as { id: string });
    for (const id of ['a', 'bé-ü']) {
      expect(frames.filter((frame) => frame.id === id)).toEqual([
        { id, type: 'next', payload: { data: { changed: 1 } } },
        { id, type: 'next', payload: { data: { changed: 2 } } },
      ]);
    }
    await Promise.all(streams.map((stream) => stream.return!()));
    expect((await Promise.all(pending)).every((step) => step.done)).toBe(true);
  });

  it('hands an idle subscriber each event synchronously, and keeps the order when one must go through the iterator', async () => {
    const schema = buildSchema('type Query { ok: Boolean } type Subscription { changed: Int }');
    const { feed, listeners, emit } = fakeFeed();
    const hub = new SubscriptionHub(feed, emptyLog, { maxQueuedEvents: 10, replayBatch: 10 });
    let executions = 0;
    schema.getSubscriptionType()!.getFields()['changed']!.subscribe = () => hub.open({ matches: () => true, since: null });
    // Event 2 resolves asynchronously, so the group's result for it is a promise: that event takes the iterator.
    schema.getSubscriptionType()!.getFields()['changed']!.resolve = (e: ChangeEventValue) => (executions++, e.seq === 2 ? Promise.resolve(2) : e.seq);
    const sent: string[] = [];
    const socket = { bufferedAmount: 0, readyState: 1, close: () => undefined, send: textFrames(sent) } satisfies SubscriptionSocket;
    const grouped = new GroupedSubscriptions(1_000, pino({ level: 'silent' }));
    const args = { schema, document: parse('subscription { changed }'), contextValue: { caller: { scopes: [], channels: [] } } };
    const streams = await Promise.all(['a', 'b'].map(async (id) => (await grouped.subscribe(args, { socket, id })) as AsyncIterableIterator<unknown>));
    const pending = streams.map((stream) => stream.next()); // graphql-ws waits on each subscription like this
    await attached(hub, 2);
    await new Promise((resolve) => setImmediate(resolve)); // both subscribers parked on their streams

    emit();
    expect(sent).toHaveLength(2); // sent inside the feed's own call, no promise in between
    emit(); // asynchronous execution: through the iterator
    emit(); // arrives while the subscribers are busy with 2: queued behind it
    while (sent.length < 6) await new Promise((resolve) => setImmediate(resolve));
    emit();
    expect(sent).toHaveLength(8);

    const seqs = (id: string) => sent.map((frame) => JSON.parse(frame) as { id: string; payload: { data: { changed: number } } }).filter((frame) => frame.id === id).map((frame) => frame.payload.data.changed);
    expect(seqs('a')).toEqual([1, 2, 3, 4]);
    expect(seqs('b')).toEqual([1, 2, 3, 4]);
    expect(executions).toBe(4);
    await Promise.all(streams.map((stream) => stream.return!()));
    expect((await Promise.all(pending)).every((step) => step.done)).toBe(true);
    expect(hub.size).toBe(0);
  });

  it('closes the socket with 4429 when its stream overflows or its unsent bytes pass the cap', async () => {
    const schema = buildSchema('type Query { ok: Boolean } type Subscription { changed: Int }');
    schema.getSubscriptionType()!.getFields()['changed']!.subscribe = () => source;
    schema.getSubscriptionType()!.getFields()['changed']!.resolve = (e: ChangeEventValue) => e.seq;
    const { feed, listeners, emit } = fakeFeed();
    const hub = new SubscriptionHub(feed, emptyLog, { maxQueuedEvents: 2, replayBatch: 10 });
    let source = hub.open({ matches: () => true, since: null });
    const closed: number[] = [];
    const sent: string[] = [];
    const socket = { bufferedAmount: 0, readyState: 1, close: (code: number) => closed.push(code), send: textFrames(sent) } satisfies SubscriptionSocket;
    const grouped = new GroupedSubscriptions(1_000, pino({ level: 'silent' }));
    const args = { schema, document: parse('subscription { changed }'), contextValue: { caller: { scopes: [], channels: [] } } };
    const stream = (await grouped.subscribe(args, { socket, id: 'op-1' })) as AsyncIterableIterator<unknown>;
    await attached(hub, 1);
    for (let i = 0; i < 3; i++) emit();
    expect((await stream.next()).done).toBe(true);
    expect(closed).toEqual([SLOW_CONSUMER_CLOSE_CODE]);
    expect(sent).toEqual([]);

    source = hub.open({ matches: () => true, since: null });
    const bytes = (await grouped.subscribe(args, { socket, id: 'op-1' })) as AsyncIterableIterator<unknown>;
    await attached(hub, 1);
    socket.bufferedAmount = 5_000;
    emit();
    expect((await bytes.next()).done).toBe(true);
    expect(closed).toEqual([SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_CLOSE_CODE]);
    expect(grouped.groupCount).toBe(0);
    expect(hub.size).toBe(0);
  });
});
