import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventBus } from '../../src/events/bus/event-bus.js';
import { InProcessEventBus } from '../../src/events/bus/in-process-bus.js';
import { RedisEventBus, type RedisEventBusOptions } from '../../src/events/bus/redis-bus.js';
import { deferred, type Deferred } from '../utils/deferred.js';
import { startRedisServer, type RedisServer } from '../utils/redis-server.js';

/** Fault tests: reconnecting takes a few backoff rounds; bounded well below the global test timeout. */
const FAULT_TEST_TIMEOUT_MS = 30_000;
/** Short, so the paused-server test is quick; the bus must resolve false after it, whatever Redis does. */
const SHORT_PUBLISH_TIMEOUT_MS = 200;
const MESSAGE_COUNT = 1_000;

const silent = pino({ level: 'silent' });

/** Collects what a handler received; tests wait on it instead of sleeping. */
class Inbox {
  readonly messages: string[] = [];
  readonly #waiters: { readonly done: (messages: string[]) => boolean; readonly found: Deferred<void> }[] = [];

  readonly handler = (message: string): void => {
    this.messages.push(message);
    for (const waiter of this.#waiters.filter((w) => w.done(this.messages))) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.found.resolve();
    }
  };

  /** Resolves once `done` holds for what was received so far (at once if it already does). */
  until(done: (messages: string[]) => boolean): Promise<void> {
    if (done(this.messages)) return Promise.resolve();
    const found = deferred();
    this.#waiters.push({ done, found });
    return found.promise;
  }

  received(message: string): Promise<void> {
    return this.until((messages) => messages.includes(message));
  }
}

/**
 * Resolves once everything published (and acknowledged) on `bus`'s deployment before this call has been delivered
 * to `bus`: a broker delivers to one subscriber in order, so a marker published now arrives after all of it.
 * This is how tests assert that something was NOT delivered, without sleeping.
 */
async function drain(bus: EventBus): Promise<void> {
  const topic = `drain-${randomUUID()}`;
  const inbox = new Inbox();
  const unsubscribe = await bus.subscribe(topic, inbox.handler);
  expect(await bus.publish(topic, 'marker')).toBe(true);
  await inbox.received('marker');
  await unsubscribe();
}

/** Publishes probes until one comes back: after an outage, publisher and subscriber reconnect independently. */
async function flowsAgain(publisher: EventBus, topic: string, inbox: Inbox): Promise<void> {
  let probe = 0;
  await vi.waitFor(
    async () => {
      await publisher.publish(topic, `probe-${++probe}`);
      expect(inbox.messages.some((message) => message.startsWith('probe-'))).toBe(true);
    },
    { timeout: FAULT_TEST_TIMEOUT_MS, interval: 50 },
  );
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly client?: string;
}

/** A logger whose lines tests can inspect and wait for: the bus reports connection loss only in its logs. */
function capturingLogger(): { logger: Logger; lines: LogLine[]; logged(msg: string, client: string): Promise<void> } {
  const lines: LogLine[] = [];
  const waiters: { readonly matches: (line: LogLine) => boolean; readonly found: Deferred<void> }[] = [];
  const write = (text: string): void => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.matches(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.found.resolve();
    }
  };
  return {
    logger: pino({ level: 'info' }, { write }),
    lines,
    logged(msg, client) {
      const matches = (line: LogLine): boolean => line.msg === msg && line.client === client;
      if (lines.some(matches)) return Promise.resolve();
      const found = deferred();
      waiters.push({ matches, found });
      return found.promise;
    },
  };
}

interface Implementation {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Opens a replica of the deployment named by `prefix`; replicas of one deployment hear each other. */
  replica(prefix: string): Promise<EventBus>;
}

/** A single replica is all there is in process: every "replica" of a deployment is the same bus. */
function inProcess(): Implementation {
  const deployments = new Map<string, InProcessEventBus>();
  return {
    name: 'in-process',
    async start() {},
    async stop() {
      deployments.clear();
    },
    async replica(prefix) {
      const bus = deployments.get(prefix) ?? new InProcessEventBus({ logger: silent });
      deployments.set(prefix, bus);
      return bus;
    },
  };
}

function redis(): Implementation {
  let server: RedisServer | undefined;
  return {
    name: 'redis',
    async start() {
      server = await startRedisServer();
    },
    async stop() {
      await server?.stop();
    },
    replica(prefix) {
      if (server === undefined) throw new Error('redis-server is not started');
      return RedisEventBus.connect({ url: server.url, channelPrefix: prefix, logger: silent });
    },
  };
}

describe.each([inProcess(), redis()])('$name event bus', (implementation) => {
  let prefix: string;
  const opened: EventBus[] = [];

  const replica = async (channelPrefix = prefix): Promise<EventBus> => {
    const bus = await implementation.replica(channelPrefix);
    opened.push(bus);
    return bus;
  };

  beforeAll(() => implementation.start());
  afterAll(() => implementation.stop());
  beforeEach(() => {
    prefix = `contract-${randomUUID()}:`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((bus) => bus.close()));
  });

  it('reports itself connected once open', async () => {
    const bus = await replica();
    expect(bus.kind).toBe(implementation.name);
    expect(bus.isConnected()).toBe(true);
  });

  it("delivers a message to every subscriber on every replica, the publisher's own included", async () => {
    const [a, b] = [await replica(), await replica()];
    const inboxes = [new Inbox(), new Inbox(), new Inbox()];
    await a.subscribe('price', inboxes[0]!.handler);
    await a.subscribe('price', inboxes[1]!.handler);
    await b.subscribe('price', inboxes[2]!.handler);

    expect(await a.publish('price', 'sku-1')).toBe(true);

    await Promise.all(inboxes.map((inbox) => inbox.received('sku-1')));
    for (const inbox of inboxes) expect(inbox.messages).toEqual(['sku-1']);
  });

  it(`delivers ${MESSAGE_COUNT} messages in publish order`, async () => {
    const [a, b] = [await replica(), await replica()];
    const inbox = new Inbox();
    await b.subscribe('stock', inbox.handler);
    const sent = Array.from({ length: MESSAGE_COUNT }, (_, i) => `m${i}`);

    const results = await Promise.all(sent.map((message) => a.publish('stock', message)));

    expect(results.every(Boolean)).toBe(true);
    await inbox.until((messages) => messages.length >= MESSAGE_COUNT);
    expect(inbox.messages).toEqual(sent);
  });

  it('stops delivering to a handler once it unsubscribes, and only to that handler', async () => {
    const bus = await replica();
    const [leaving, staying] = [new Inbox(), new Inbox()];
    const unsubscribe = await bus.subscribe('promo', leaving.handler);
    await bus.subscribe('promo', staying.handler);
    await bus.publish('promo', 'before');
    await leaving.received('before');

    await unsubscribe();
    await bus.publish('promo', 'after');

    await staying.received('after');
    expect(leaving.messages).toEqual(['before']);
  });

  it("stops delivering on a replica once its last handler for the topic unsubscribes", async () => {
    const [a, b] = [await replica(), await replica()];
    const inbox = new Inbox();
    const unsubscribe = await b.subscribe('promo', inbox.handler);

    await unsubscribe();
    expect(await a.publish('promo', 'after')).toBe(true);

    await drain(b);
    expect(inbox.messages).toEqual([]);
  });

  it('keeps topics apart', async () => {
    const [a, b] = [await replica(), await replica()];
    const [prices, stock] = [new Inbox(), new Inbox()];
    await b.subscribe('price', prices.handler);
    await b.subscribe('stock', stock.handler);

    expect(await a.publish('price', 'sku-1')).toBe(true);

    await prices.received('sku-1');
    await drain(b);
    expect(stock.messages).toEqual([]);
  });

  it('keeps deployments with different channel prefixes apart', async () => {
    const production = await replica(`${prefix}production:`);
    const staging = await replica(`${prefix}staging:`);
    const [heardInProduction, heardInStaging] = [new Inbox(), new Inbox()];
    await production.subscribe('price', heardInProduction.handler);
    await staging.subscribe('price', heardInStaging.handler);

    expect(await production.publish('price', 'sku-1')).toBe(true);

    await heardInProduction.received('sku-1');
    await drain(staging);
    expect(heardInStaging.messages).toEqual([]);
  });

  it('closes idempotently, and publishes nothing once closed', async () => {
    const bus = await replica();

    await Promise.all([bus.close(), bus.close()]);
    await bus.close();

    expect(await bus.publish('price', 'late')).toBe(false);
  });
});

describe('redis event bus through Redis outages', () => {
  let server: RedisServer;
  let prefix: string;
  const opened: EventBus[] = [];

  const connect = async (options: Partial<RedisEventBusOptions> = {}): Promise<RedisEventBus> => {
    const bus = await RedisEventBus.connect({ url: server.url, channelPrefix: prefix, logger: silent, ...options });
    opened.push(bus);
    return bus;
  };

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server?.stop());
  beforeEach(() => {
    prefix = `outage-${randomUUID()}:`;
  });
  afterEach(async () => {
    // Each test leaves the server as it found it: running and answering.
    server.resume();
    if (!server.running) await server.restart();
    await Promise.all(opened.splice(0).map((bus) => bus.close()));
  });

  it('rejects connect with a clear error when nothing listens', async () => {
    const stopped = await startRedisServer();
    await stopped.stop();

    await expect(RedisEventBus.connect({ url: stopped.url, channelPrefix: prefix, logger: silent })).rejects.toThrow(/could not connect to redis:\/\/127\.0\.0\.1/);
  });

  it('rejects connect with a clear error when the server does not answer in time', async () => {
    server.pause();

    await expect(connect({ connectTimeoutMs: 500 })).rejects.toThrow(/could not connect to .*no connection within 500 ms/);
  });

  it('resolves publish with false, without throwing, while the server is stopped', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const bus = await connect({ publishTimeoutMs: SHORT_PUBLISH_TIMEOUT_MS });

    await server.stop();

    expect(await bus.publish('price', 'lost')).toBe(false);
    expect(await bus.publish('price', 'lost again')).toBe(false);
  });

  it('resolves publish with false while the server is paused (SIGSTOP)', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const bus = await connect({ publishTimeoutMs: SHORT_PUBLISH_TIMEOUT_MS });

    server.pause();

    expect(await bus.publish('price', 'unanswered')).toBe(false);
  });

  it('resolves publish with false at once when too many publishes are waiting', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const bus = await connect({ publishTimeoutMs: SHORT_PUBLISH_TIMEOUT_MS, maxPendingPublishes: 2 });
    server.pause();

    const waiting = [bus.publish('price', 'first'), bus.publish('price', 'second')];

    expect(await bus.publish('price', 'third')).toBe(false);
    expect(await Promise.all(waiting)).toEqual([false, false]);
  });

  it('calls onReconnect and delivers again after the server restarts', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const { logger, lines } = capturingLogger();
    const bus = await connect({ logger });
    const inbox = new Inbox();
    await bus.subscribe('price', inbox.handler);
    const reconnected = deferred();
    bus.onReconnect(() => reconnected.resolve());

    await server.restart();
    await reconnected.promise;

    await flowsAgain(bus, 'price', inbox);
    expect(bus.isConnected()).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'redis connection lost; reconnecting', client: 'subscriber' }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'redis connection restored', client: 'subscriber' }));
  });

  it('delivers again after the server was paused (SIGSTOP) and resumed (SIGCONT)', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const [publisher, subscriber] = [await connect({ publishTimeoutMs: SHORT_PUBLISH_TIMEOUT_MS }), await connect()];
    const inbox = new Inbox();
    await subscriber.subscribe('price', inbox.handler);
    server.pause();
    expect(await publisher.publish('price', 'unanswered')).toBe(false);

    server.resume();

    await flowsAgain(publisher, 'price', inbox);
  });

  it('notices a server paused for long, and calls onReconnect once it resumes', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const { logger, logged } = capturingLogger();
    const bus = await connect({ logger });
    const inbox = new Inbox();
    await bus.subscribe('price', inbox.handler);
    const reconnected = deferred();
    bus.onReconnect(() => reconnected.resolve());

    server.pause();
    await logged('redis connection lost; reconnecting', 'subscriber');
    expect(bus.isConnected()).toBe(false);
    server.resume();

    await reconnected.promise;
    await flowsAgain(bus, 'price', inbox);
  });

  it('closes without throwing while the server is down', { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const bus = await connect();
    await server.stop();

    await bus.close();
    await bus.close();
  });
});
