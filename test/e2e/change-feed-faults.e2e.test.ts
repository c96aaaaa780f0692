import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { ChangeFeedClient } from '../../src/client/index.js';
import type { App } from '../../src/app/app.js';
import { feedClient, record, type FeedRecorder } from '../utils/feed-recorder.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient } from '../utils/graphql-client.js';
import { startRedisServer, type RedisServer } from '../utils/redis-server.js';
import { settle } from '../utils/settle.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { changes, INVENTORY_CHANGED, type InventoryChangedView } from './change-operations.js';
import { adjustInventory, availableToSell, inventoryPosition } from './inventory-operations.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';

/** A dead relay's lease runs out quickly, so another replica takes over within the test. */
const ENV = { CHANGE_RELAY_LEASE_MS: '1000', CHANGE_RELAY_SCAN_INTERVAL_MS: '200', CHANGE_FEED_POLL_INTERVAL_MS: '200', IDEMPOTENCY_LEASE_MS: '300' };
const SKUS = ['S-1', 'S-2', 'S-3'];
const SCOPES = ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write'] as const;

interface Cluster {
  readonly app: App;
  readonly dbName: string;
  readonly key: string;
  readonly processes: GatewayProcess[];
  readonly feeds: ChangeFeedClient[];
}

let redis: RedisServer;
let cluster: Cluster | null = null;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(async () => {
  if (!cluster) return;
  await Promise.all(cluster.feeds.map((feed) => feed.dispose()));
  await Promise.all(cluster.processes.map((process) => (process.process.exitCode === null ? process.stop() : null)));
  await cluster.app.close();
  cluster = null;
});

afterAll(() => redis?.stop());

async function startCluster(name: string): Promise<Cluster> {
  const dbName = uniqueDbName(name);
  const app = await openTestApp(dbName);
  const key = await createKey(app, 'erp', [...SCOPES]);
  cluster = { app, dbName, key, processes: [], feeds: [] };
  return cluster;
}

async function startReplica(c: Cluster, failpoints?: string, port?: number): Promise<GatewayProcess> {
  const replica = await startGatewayProcess({ env: { ...ENV, MONGODB_URI: inject('mongoUri'), MONGODB_DB: c.dbName, REDIS_URL: redis.url, ...(failpoints ? { FAILPOINTS: failpoints } : {}), ...(port ? { PORT: String(port) } : {}) } });
  c.processes.push(replica);
  return replica;
}

async function seed(c: Cluster, replica: GatewayProcess): Promise<void> {
  const client = graphqlClient(replica.url, c.key);
  await client(upsertLocations, { input: [{ code: 'L', name: 'L', kind: 'STORE', region: 'EU', timezone: 'UTC', negativeStockPolicy: 'ALLOW' }] });
  await client(upsertChannels, { input: [{ code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L'] }] });
  await client(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await client(upsertSkus, { input: SKUS.map((code) => ({ code, productCode: 'P', title: code })) });
}

function subscribe(c: Cluster, replica: GatewayProcess): FeedRecorder<InventoryChangedView> {
  const feed = feedClient(replica.url, c.key);
  c.feeds.push(feed);
  // From the beginning of the log: every position version must arrive, once, in order.
  return record<InventoryChangedView>(feed, INVENTORY_CHANGED, { channel: 'WEB' }, 0);
}

/** Adjusts through `replica`, retrying the same idempotency key elsewhere when the replica dies mid-request. */
async function adjust(c: Cluster, replicas: readonly GatewayProcess[], sku: string, key: string): Promise<void> {
  for (const replica of replicas) {
    if (replica.process.exitCode !== null) continue;
    // A network error means the replica died mid-request: the next one retries the same key, waiting out the
    // dead request's idempotency lease (IN_PROGRESS) like any client would.
    const result = await settle(async () => (await graphqlClient(replica.url, c.key)(adjustInventory, { items: [{ sku, location: 'L', delta: 1, reason: 'RECEIPT' }], key })).data?.adjustInventory).catch(() => null);
    if (result?.__typename === 'InventoryBatchResult') return;
  }
  throw new Error(`adjustment ${key} could not be applied on any replica`);
}

/** What the store says each SKU's position version is now: the number of changes a subscriber must have seen. */
async function finalVersions(c: Cluster, replica: GatewayProcess): Promise<Map<string, number>> {
  const client = graphqlClient(replica.url, c.key);
  const versions = new Map<string, number>();
  for (const sku of SKUS) versions.set(sku, (await client(inventoryPosition, { sku, location: 'L' })).data?.inventoryPosition?.version ?? 0);
  return versions;
}

/** Every committed change exactly once, in per-SKU order: versions 1..final for each SKU, in that order. */
async function expectEveryChangeOnce(subscriber: FeedRecorder<InventoryChangedView>, versions: ReadonlyMap<string, number>): Promise<void> {
  const total = [...versions.values()].reduce((sum, version) => sum + version, 0);
  const events = await subscriber.until((seen) => seen.length >= total);
  expect(events).toHaveLength(total);
  for (const [sku, final] of versions) {
    const ofSku = events.filter((event) => event.sku === sku);
    expect(ofSku.map((event) => event.version)).toEqual(Array.from({ length: final }, (_, index) => index + 1));
    expect(ofSku.map((event) => event.onHand)).toEqual(Array.from({ length: final }, (_, index) => index + 1));
  }
  const seqs = events.map((event) => event.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
}

/** The last availabilityChanged of each SKU in the log is the channel's available-to-sell now. */
async function expectAvailabilityConverged(c: Cluster, replica: GatewayProcess): Promise<void> {
  const client = graphqlClient(replica.url, c.key);
  const current = (await client(availableToSell, { channel: 'WEB', skus: SKUS })).data!.availableToSell;
  // Derivation follows the relay's batches: wait until the log's last value per SKU matches (bounded).
  await vi.waitFor(
    async () => {
      const logged = (await client(changes, { since: 0, first: 500, filter: { kinds: ['AVAILABILITY'], channel: 'WEB' } })).data!.changes.changes;
      for (const { skuCode, availableToSell: expected } of current) {
        expect(logged.filter((change) => change['sku'] === skuCode).at(-1)?.['availableToSell']).toBe(expected);
      }
    },
    { timeout: 20_000, interval: 100 },
  );
}

describe('change feed faults: nothing committed is lost, nothing is delivered twice', () => {
  it.each(['inventory.after-position-write', 'relay.after-log-append', 'relay.after-publish'])('a relay replica SIGKILLed at %s: every change reaches every subscriber once, in order', async (failpoint) => {
    const c = await startCluster(`feed_fault_${failpoint}`);
    // Started first, the doomed replica holds the relay lease; its failpoint kills it like a SIGKILL (exit 137).
    const doomed = await startReplica(c, `${failpoint}=crash`);
    await doomed.waitForOutput(/this replica is the relay/);
    const [b, cc] = [await startReplica(c), await startReplica(c)];
    await seed(c, b!);
    const subscribers = [subscribe(c, b!), subscribe(c, cc!)];
    // The position write failpoint fires only where the write is served: send the first one to the doomed replica.
    await adjust(c, [doomed, b!], 'S-1', 'k-0');
    for (let i = 1; i <= 12; i++) await adjust(c, [b!, cc!], SKUS[i % SKUS.length]!, `k-${i}`);
    expect(await doomed.exited()).toBe(137);
    const versions = await finalVersions(c, b!);
    expect([...versions.values()].reduce((sum, v) => sum + v, 0)).toBe(13);
    for (const subscriber of subscribers) await expectEveryChangeOnce(subscriber, versions);
    // The log itself holds each change once: a late subscriber resuming from 0 sees the same.
    const page = (await graphqlClient(b!.url, c.key)(changes, { since: 0, first: 500, filter: { kinds: ['INVENTORY'] } })).data!.changes;
    expect(page.changes).toHaveLength(13);
    await expectAvailabilityConverged(c, b!);
  });

  it('Redis restarted mid-stream: every replica catches up from the log', async () => {
    const c = await startCluster('feed_redis_restart');
    const [a, b, cc] = [await startReplica(c), await startReplica(c), await startReplica(c)];
    await seed(c, a!);
    const subscribers = [subscribe(c, b!), subscribe(c, cc!)];
    for (let i = 0; i < 10; i++) await adjust(c, [a!], SKUS[i % SKUS.length]!, `r-${i}`);
    // A storefront that goes away mid-stream and comes back with the last seq it saw.
    const leaving = subscribe(c, cc!);
    const seenBefore = (await leaving.until((events) => events.length >= 10)).slice(0, 10);
    leaving.stop();
    const lastSeen = seenBefore[9]!.seq;
    await redis.restart();
    for (let i = 10; i < 20; i++) await adjust(c, [i % 2 ? a! : b!], SKUS[i % SKUS.length]!, `r-${i}`);
    const versions = await finalVersions(c, a!);
    for (const subscriber of subscribers) await expectEveryChangeOnce(subscriber, versions);
    const resumed = await record<InventoryChangedView>(c.feeds[0]!, INVENTORY_CHANGED, { channel: 'WEB' }, lastSeen).until((events) => events.length >= 10);
    expect([...seenBefore, ...resumed].map((event) => event.seq)).toEqual(subscribers[0]!.events.map((event) => event.seq));
  });

  it('a subscriber whose replica restarts reconnects and resumes from its last seq, missing nothing', async () => {
    const c = await startCluster('feed_replica_restart');
    const [a, d] = [await startReplica(c), await startReplica(c)];
    await seed(c, a!);
    const subscriber = subscribe(c, d!);
    for (let i = 0; i < 6; i++) await adjust(c, [a!], SKUS[i % SKUS.length]!, `d-${i}`);
    await subscriber.until((events) => events.length >= 6);
    // SIGTERM closes its sockets (1001); the client keeps retrying the same address until it is back.
    await d!.stop();
    for (let i = 6; i < 12; i++) await adjust(c, [a!], SKUS[i % SKUS.length]!, `d-${i}`);
    await startReplica(c, undefined, d!.port);
    for (let i = 12; i < 15; i++) await adjust(c, [a!], SKUS[i % SKUS.length]!, `d-${i}`);
    await expectEveryChangeOnce(subscriber, await finalVersions(c, a!));
  });

  it('Redis stopped (SIGSTOP) for 5 seconds mid-stream: changes keep flowing from the log, once each', async () => {
    const c = await startCluster('feed_redis_sigstop');
    const [a, b, cc] = [await startReplica(c), await startReplica(c), await startReplica(c)];
    await seed(c, a!);
    const subscribers = [subscribe(c, b!), subscribe(c, cc!)];
    for (let i = 0; i < 5; i++) await adjust(c, [a!], SKUS[i % SKUS.length]!, `s-${i}`);
    await redis.pause();
    try {
      // The outage itself is the fault under test, so it lasts a fixed time; nothing waits on it for sync.
      const outage = new Promise<void>((resolve) => setTimeout(resolve, 5_000));
      for (let i = 5; i < 15; i++) await adjust(c, [i % 2 ? a! : b!], SKUS[i % SKUS.length]!, `s-${i}`);
      await outage;
    } finally {
      await redis.resume();
    }
    for (let i = 15; i < 20; i++) await adjust(c, [a!], SKUS[i % SKUS.length]!, `s-${i}`);
    const versions = await finalVersions(c, a!);
    for (const subscriber of subscribers) await expectEveryChangeOnce(subscriber, versions);
  });
}, 120_000);
