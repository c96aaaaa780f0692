import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { openApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { ChangeFeed } from '../../src/events/change-feed.js';
import type { SubscriptionHub } from '../../src/events/subscription-hub.js';
import { createLogger } from '../../src/logging/logger.js';
import { startGateway, type Gateway } from '../../src/server/gateway.js';
import { GroupedSubscriptions } from '../../src/server/subscription-execution.js';
import { deferred } from '../utils/deferred.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey, uniqueDbName } from '../utils/test-store.js';
import { AVAILABILITY_CHANGED, changeFeedHead, INVENTORY_CHANGED } from './change-operations.js';
import { adjustInventory } from './inventory-operations.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';

/**
 * 10,000 subscriptions opened and closed → the heap returns near its baseline.
 *
 * The gateway runs in this process (as main.ts starts it) so the test can read the hub's and the grouped
 * executor's counters and force GC. Subscriptions are multiplexed over graphql-ws sockets, half replaying from
 * `since`, half live only, over several (document, variables, key) groups. Half of them end by `complete`
 * (unsubscribe), the other half with their socket: a clean close for some, an abrupt TCP teardown for the rest.
 * Every path has to give back the hub stream, the group membership and the feed listener.
 */

const MAIN = { sockets: 50, perSocket: 200 }; // 10,000 subscriptions
const WARM_UP = { sockets: 10, perSocket: 50 }; // 500: lazily-built caches are part of the baseline
/** What the heap may keep over the baseline after 10,000 subscriptions are gone: ~1 KB per subscription. */
const HEAP_MARGIN_BYTES = 10 * 1024 * 1024;
/** Bound on each wait below; the test's own timeout bounds the whole. */
const WAIT_MS = 60_000;

// The gateway runs inside vitest here, not in a process of its own: vite resolves the src files' `graphql` to
// index.mjs while the libraries Node loads itself (graphql-ws, @graphql-tools, Apollo) get the CommonJS build,
// and graphql-js refuses a schema from the other copy. Give src the copy the libraries use, as under tsx.
vi.mock('graphql', async () => {
  const { createRequire } = await import('node:module');
  return createRequire(import.meta.url)('graphql') as typeof import('graphql');
});

// Forced GC without restarting the worker with --expose-gc: the flag makes `gc` a global of new contexts.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** heapUsed after full collections, with turns of the event loop between them for weak callbacks and finalizers. */
async function collectedHeap(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

// The grouped executor and the WebSocket server are internal to the gateway: record the instances the gateway
// uses when it uses them (prototype wrappers that keep only the instance; restored in afterAll).
const groupedInstances = new Set<GroupedSubscriptions>();
const originalSubscribe = GroupedSubscriptions.prototype.subscribe;
const wsServers = new Set<WebSocketServer>();
const originalHandleUpgrade = WebSocketServer.prototype.handleUpgrade;

let app: App;
let gateway: Gateway;
let erp: GraphqlClient;
let keys: { erp: string; storefront: string };
let hub: SubscriptionHub;
let adjustments = 0;
/** Clients of a round that failed before it closed them; afterAll disposes them. */
const leftover = new Set<Client>();

const groupCount = () => [...groupedInstances].reduce((sum, grouped) => sum + grouped.groupCount, 0);
const wsClientCount = () => [...wsServers].reduce((sum, server) => sum + server.clients.size, 0);
/** Live streams: each one's listener in the hub, which itself is one listener on the feed while any is live. */
const feedListeners = () => app.changeFeed!.hub.liveStreams;
/** Listeners on the replica's feed beyond the metrics' own (TS lets tests read a private member by name). */
const feedOwnListeners = () => (app.changeFeed!.feed as unknown as { listeners: Set<unknown> })['listeners'].size - baselineFeedListeners;
let baselineFeedListeners = 0;
const feed = (): ChangeFeed => app.changeFeed!.feed;

const adjust = async (sku: string, location: string, delta: number) => {
  const result = await erp(adjustInventory, { items: [{ sku, location, delta, reason: 'RECEIPT' }], key: `mem-adj-${++adjustments}` });
  expect(result.data?.adjustInventory.__typename).toBe('InventoryBatchResult');
};

/** Polls `condition` on an interval until it holds (no fixed sleeps); fails at once when `failure()` reports something. */
async function until(what: string, condition: () => boolean, failure: () => string | null = () => null): Promise<void> {
  const done = deferred();
  const check = () => {
    const failed = failure();
    if (failed) return done.reject(new Error(`${what}: ${failed}`));
    if (condition()) done.resolve();
  };
  const interval = setInterval(check, 20);
  const timeout = setTimeout(() => done.reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  check();
  try {
    await done.promise;
  } finally {
    clearInterval(interval);
    clearTimeout(timeout);
  }
}

type Kind = 'inventory' | 'availability';
interface VariableSet {
  readonly kind: Kind;
  readonly query: string;
  readonly variables: Record<string, unknown>;
}
// Groups are keyed by (document, variables without since, caller scope): 4 for the ERP key, 2 for the storefront.
const ERP_SETS: readonly VariableSet[] = [
  { kind: 'inventory', query: INVENTORY_CHANGED, variables: { channel: 'WEB' } },
  { kind: 'inventory', query: INVENTORY_CHANGED, variables: { channel: 'WEB', skus: ['S-1'] } },
  { kind: 'inventory', query: INVENTORY_CHANGED, variables: { channel: 'POS', skus: ['S-1', 'S-2'] } },
  { kind: 'availability', query: AVAILABILITY_CHANGED, variables: { channel: 'POS' } },
];
const STOREFRONT_SETS: readonly VariableSet[] = [
  { kind: 'inventory', query: INVENTORY_CHANGED, variables: { channel: 'WEB' } },
  { kind: 'availability', query: AVAILABILITY_CHANGED, variables: { channel: 'WEB', skus: ['S-1'] } },
];
const GROUPS = ERP_SETS.length + STOREFRONT_SETS.length;
/** Inventory events each replaying subscription gets from the log (S-1 at L-1, which both channels hold). */
const REPLAYED_INVENTORY = 3;

interface Subscriber {
  readonly kind: Kind;
  readonly replaying: boolean;
  /** Events at or before the live change: replayed from the log. */
  replayed: number;
  live: boolean;
  unsubscribe: () => void;
}

interface Connection {
  readonly client: Client;
  readonly subscribers: Subscriber[];
  socket: WebSocket | null;
  /** Set before this socket is torn down on purpose: errors after that are expected. */
  closing: boolean;
}

interface RoundResult {
  /** heapUsed (after GC) with every subscription open and the live change delivered to all. */
  readonly peakHeap: number;
  readonly subscriptions: number;
}

/**
 * Opens `sockets × perSocket` subscriptions (half replaying, half live), waits until the hub holds all of them,
 * delivers one live change to every one, then closes them — half by unsubscribing, a quarter by closing their
 * socket, a quarter by tearing the TCP connection down — and waits until the gateway holds nothing of them.
 */
async function round({ sockets, perSocket }: { sockets: number; perSocket: number }): Promise<RoundResult> {
  const total = sockets * perSocket;
  expect(hub.size).toBe(0);

  // A few changes to replay, logged and followed by the feed before anything subscribes.
  const from = (await erp(changeFeedHead, {})).data!.changeFeedHead;
  for (let i = 0; i < REPLAYED_INVENTORY; i++) await adjust('S-1', 'L-1', 1);
  await app.changeFeed!.settle();
  const liveFrom = feed().lastSeq;
  expect(liveFrom).toBeGreaterThan(from);

  const errors: string[] = [];
  const connections: Connection[] = [];
  const wsUrl = gateway.url.replace(/^http/, 'ws');
  for (let s = 0; s < sockets; s++) {
    const asErp = s % 2 === 0;
    const connection: Connection = {
      client: createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${asErp ? keys.erp : keys.storefront}` },
        on: { connected: (socket) => (connection.socket = socket as WebSocket) },
        onNonLazyError: (error) => {
          if (!connection.closing) errors.push(`socket ${s}: ${describeError(error)}`);
        },
      }),
      subscribers: [],
      socket: null,
      closing: false,
    };
    leftover.add(connection.client);
    connections.push(connection);
    const sets = asErp ? ERP_SETS : STOREFRONT_SETS;
    for (let j = 0; j < perSocket; j++) {
      const set = sets[Math.floor(j / 2) % sets.length]!;
      const replaying = j % 2 === 0;
      const subscriber: Subscriber = { kind: set.kind, replaying, replayed: 0, live: false, unsubscribe: () => {} };
      subscriber.unsubscribe = connection.client.subscribe<Record<string, { seq: number }>>(
        { query: set.query, variables: { ...set.variables, since: replaying ? from : null } },
        {
          next: (result) => {
            if (result.errors) return void errors.push(`socket ${s} #${j}: ${JSON.stringify(result.errors)}`);
            const event = Object.values(result.data ?? {})[0];
            if (!event) return void errors.push(`socket ${s} #${j}: empty payload`);
            if (event.seq <= liveFrom) subscriber.replayed++;
            else subscriber.live = true;
          },
          error: (error) => {
            if (!connection.closing) errors.push(`socket ${s} #${j}: ${describeError(error)}`);
          },
          complete: () => {},
        },
      );
      connection.subscribers.push(subscriber);
    }
  }
  const subscribers = connections.flatMap((connection) => connection.subscribers);
  const firstError = () => errors[0] ?? null;

  // A stream is in the hub a few ticks before its subscription joins its group: wait for both.
  await until(`${total} streams open in the hub, in ${GROUPS} groups`, () => hub.size === total && groupCount() === GROUPS, firstError);
  expect(hub.size).toBe(total);
  expect(wsClientCount()).toBe(sockets);
  // Replay done: every inventory stream from since has the logged changes; availability may be coalesced.
  const replayDone = (subscriber: Subscriber) => !subscriber.replaying || (subscriber.kind === 'inventory' ? subscriber.replayed >= REPLAYED_INVENTORY : subscriber.replayed >= 1);
  await until('the replay to reach every replaying subscription', () => subscribers.every(replayDone), firstError);

  // One live change, delivered to all of them.
  await adjust('S-1', 'L-1', 1);
  await until(`the live change to reach all ${total} subscriptions`, () => subscribers.every((subscriber) => subscriber.live), firstError);
  expect(subscribers.filter((subscriber) => !subscriber.replaying && subscriber.replayed > 0)).toHaveLength(0);
  expect(subscribers.filter((subscriber) => subscriber.replaying && subscriber.kind === 'inventory' && subscriber.replayed !== REPLAYED_INVENTORY)).toHaveLength(0);
  expect(feedListeners()).toBe(total);
  expect(feedOwnListeners()).toBe(1);
  const peakHeap = await collectedHeap();

  // Half by `complete`: the sockets stay open, the streams and groups must go.
  const half = Math.floor(sockets / 2);
  const unsubscribed = connections.slice(0, half);
  for (const connection of unsubscribed) for (const subscriber of connection.subscribers) subscriber.unsubscribe();
  const unsubscribedCount = unsubscribed.reduce((sum, connection) => sum + connection.subscribers.length, 0);
  await until('the unsubscribed streams to leave the hub', () => hub.size === total - unsubscribedCount, firstError);
  expect(wsClientCount()).toBe(sockets);

  // The other half with their sockets: a clean close (client dispose) for some, an abrupt teardown for the rest.
  const byClose = connections.slice(half);
  const quarter = Math.floor(byClose.length / 2);
  for (const [index, connection] of byClose.entries()) {
    connection.closing = true;
    if (index < quarter) {
      await connection.client.dispose();
    } else {
      expect(connection.socket).not.toBeNull();
      connection.socket!.terminate();
    }
  }
  await until('every stream to leave the hub', () => hub.size === 0, firstError);
  await until('every group to be dropped', () => groupCount() === 0, firstError);
  expect(feedListeners()).toBe(0);
  expect(feedOwnListeners()).toBe(0);

  // The idle sockets of the unsubscribed half, and the torn-down clients (already closed: dispose is a no-op).
  for (const connection of connections) {
    connection.closing = true;
    await connection.client.dispose();
    leftover.delete(connection.client);
  }
  await until('the WebSocket server to hold no client', () => wsClientCount() === 0, firstError);
  expect(errors).toEqual([]);
  return { peakHeap, subscriptions: total };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'code' in error) return `close ${String((error as { code: unknown }).code)} ${String((error as { reason?: unknown }).reason ?? '')}`;
  return JSON.stringify(error);
}

beforeAll(async () => {
  GroupedSubscriptions.prototype.subscribe = function (this: GroupedSubscriptions, ...args: Parameters<GroupedSubscriptions['subscribe']>) {
    groupedInstances.add(this);
    return originalSubscribe.apply(this, args);
  };
  WebSocketServer.prototype.handleUpgrade = function (this: WebSocketServer, ...args: Parameters<WebSocketServer['handleUpgrade']>) {
    wsServers.add(this);
    return originalHandleUpgrade.apply(this, args);
  } as WebSocketServer['handleUpgrade'];

  const config = loadConfig({ NODE_ENV: 'test', MONGODB_URI: inject('mongoUri'), MONGODB_DB: uniqueDbName('subscription_memory'), LOG_LEVEL: 'silent', PORT: '0' });
  const logger = createLogger('silent');
  app = await openApp(config, logger, { changeFeed: true });
  baselineFeedListeners = (app.changeFeed!.feed as unknown as { listeners: Set<unknown> })['listeners'].size;
  hub = app.changeFeed!.hub;
  gateway = await startGateway({ config, store: app.store, services: app.services, logger, metrics: app.metrics });
  keys = { erp: await createKey(app, 'erp', ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write']), storefront: '' };
  erp = graphqlClient(gateway.url, keys.erp);
  await erp(upsertLocations, { input: ['L-1', 'L-2'].map((code) => ({ code, name: code, kind: 'STORE', region: 'EU', timezone: 'UTC' })) });
  await erp(upsertChannels, {
    input: [
      { code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1'] },
      { code: 'POS', name: 'Stores', kind: 'POS', currency: 'EUR', region: 'EU', locationCodes: ['L-1', 'L-2'] },
    ],
  });
  await erp(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await erp(upsertSkus, { input: ['S-1', 'S-2'].map((code) => ({ code, productCode: 'P', title: code })) });
  keys.storefront = await createKey(app, 'storefront-web', ['catalog:read', 'inventory:read'], ['WEB']); // after its channel
});

afterAll(async () => {
  await Promise.all([...leftover].map((client) => client.dispose()));
  await gateway?.stop();
  await app?.close();
  GroupedSubscriptions.prototype.subscribe = originalSubscribe;
  WebSocketServer.prototype.handleUpgrade = originalHandleUpgrade;
});

describe('subscription memory', () => {
  it('10,000 subscriptions opened and closed → heap returns near its baseline', { timeout: 120_000 }, async () => {
    await round(WARM_UP);
    expect(groupedInstances.size).toBe(1);
    expect(wsServers.size).toBe(1);
    const baseline = await collectedHeap();

    const { peakHeap, subscriptions } = await round(MAIN);
    const after = await collectedHeap();
    console.info(`subscription memory: baseline ${mb(baseline)}, peak ${mb(peakHeap)} with ${subscriptions} open, after ${mb(after)} (${mb(after - baseline)} over baseline)`);

    expect(hub.size).toBe(0);
    expect(groupCount()).toBe(0);
    expect(wsClientCount()).toBe(0);
    // The measurement can see what 10,000 subscriptions hold, so a per-subscription leak would show.
    expect(peakHeap - baseline).toBeGreaterThan(2 * HEAP_MARGIN_BYTES);
    expect(after).toBeLessThanOrEqual(baseline + HEAP_MARGIN_BYTES);
  });
});
