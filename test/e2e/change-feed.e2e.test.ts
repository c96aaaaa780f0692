import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChangeFeedClient } from '../../src/client/index.js';
import { ConnectionRejectedError, CursorExpiredError, SubscriptionRejectedError } from '../../src/client/index.js';
import type { App } from '../../src/app/app.js';
import { feedClient, record } from '../utils/feed-recorder.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { startRedisServer, type RedisServer } from '../utils/redis-server.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { AVAILABILITY_CHANGED, CATALOG_CHANGED, changeFeedHead, changes, INVENTORY_CHANGED, PRICE_CHANGED, type AvailabilityChangedView, type CatalogChangedView, type InventoryChangedView, type PriceChangedView } from './change-operations.js';
import { adjustInventory, commitReservation, releaseReservation, reserveInventory } from './inventory-operations.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';
import { setPrices, upsertPriceLists } from './price-operations.js';

let redis: RedisServer;
let app: App;
let gateways: GatewayProcess[] = [];
let erp: GraphqlClient;
let keys: { erp: string; storefront: string };
const feeds: ChangeFeedClient[] = [];
let adjustments = 0;

const feedOn = (replica: number, key: string) => {
  const client = feedClient(gateways[replica]!.url, key);
  feeds.push(client);
  return client;
};

/** Subscribing from the head read before is what makes "the next change" deterministic (no race with attach). */
const head = async () => (await erp(changeFeedHead, {})).data!.changeFeedHead;

const adjust = async (sku: string, location: string, delta: number) => {
  const result = await erp(adjustInventory, { items: [{ sku, location, delta, reason: 'RECEIPT' }], key: `adj-${++adjustments}` });
  expect(result.data?.adjustInventory.__typename).toBe('InventoryBatchResult');
};

beforeAll(async () => {
  redis = await startRedisServer();
  const dbName = uniqueDbName('change_feed');
  app = await openTestApp(dbName);
  keys = {
    erp: await createKey(app, 'erp', ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write', 'prices:write']),
    storefront: '',
  };
  gateways = await Promise.all([0, 1, 2].map(() => startGatewayProcess({ env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, REDIS_URL: redis.url } })));
  erp = graphqlClient(gateways[0]!.url, keys.erp);
  await erp(upsertLocations, { input: ['L-1', 'L-2'].map((code) => ({ code, name: code, kind: 'STORE', region: 'EU', timezone: 'UTC' })) });
  await erp(upsertChannels, {
    input: [
      { code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1'] },
      { code: 'POS', name: 'Stores', kind: 'POS', currency: 'EUR', region: 'EU', locationCodes: ['L-1', 'L-2'] },
    ],
  });
  await erp(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await erp(upsertSkus, { input: ['S-1', 'S-2', 'S-3'].map((code) => ({ code, productCode: 'P', title: code })) });
  keys.storefront = await createKey(app, 'storefront-web', ['catalog:read', 'inventory:read'], ['WEB']);
  // Creating the channels starts a walk over the catalog in the relay; one still under way when a test adjusts
  // stock may derive that SKU's number first and name the channel change as its origin (a right number, another
  // origin). The tests below assert origins, so they start once both walks are done.
  const walks = app.store.connection.collection('availability_rederivations');
  for (const deadline = Date.now() + 30_000; (await walks.countDocuments({ completedAt: { $ne: null } })) < 2; ) {
    if (Date.now() > deadline) throw new Error('the channels\' availability walks never finished');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

afterAll(async () => {
  await Promise.all(feeds.map((feed) => feed.dispose()));
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await app?.close();
  await redis?.stop();
});

describe('change feed across three replicas and one Redis', () => {
  it('delivers a change committed on replica A to subscribers on B and C, with seq, eventId, version and origin', async () => {
    const from = await head();
    const onB = record<InventoryChangedView>(feedOn(1, keys.storefront), INVENTORY_CHANGED, { channel: 'WEB', skus: ['S-1'] }, from);
    const onC = record<AvailabilityChangedView>(feedOn(2, keys.storefront), AVAILABILITY_CHANGED, { channel: 'WEB', skus: ['S-1'] }, from);
    await adjust('S-1', 'L-1', 5);
    const [inventory] = await onB.until((events) => events.length >= 1);
    const [availability] = await onC.until((events) => events.length >= 1);
    expect(inventory).toMatchObject({ sku: 'S-1', location: 'L-1', onHand: 5, reserved: 0, available: 5, delta: { onHand: 5, reserved: 0 }, version: 1, origin: { source: 'API', apiKey: 'erp', idempotencyKey: 'adj-1', reason: 'RECEIPT' } });
    expect(inventory!.seq).toBeGreaterThan(0);
    expect(inventory!.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(availability).toMatchObject({ channel: 'WEB', sku: 'S-1', availableToSell: 5, previous: null, version: 1, origin: { apiKey: 'erp', reason: 'RECEIPT' } });
    expect(availability!.seq).toBeGreaterThan(inventory!.seq);
    onB.stop();
    onC.stop();
  });

  it('refuses a storefront key a subscription to another channel', async () => {
    const other = record<InventoryChangedView>(feedOn(1, keys.storefront), INVENTORY_CHANGED, { channel: 'POS' });
    const error = await other.failed();
    expect(error).toBeInstanceOf(SubscriptionRejectedError);
    expect((error as SubscriptionRejectedError).code).toBe('FORBIDDEN');
  });

  it('replays from since, then switches to live changes with no gap and no duplicate', async () => {
    const from = await head();
    for (let i = 0; i < 5; i++) await adjust('S-2', 'L-1', 1);
    const resumed = record<InventoryChangedView>(feedOn(2, keys.storefront), INVENTORY_CHANGED, { channel: 'WEB', skus: ['S-2'] }, from);
    await resumed.until((events) => events.length >= 5);
    for (let i = 0; i < 5; i++) await adjust('S-2', 'L-1', 1);
    const events = await resumed.until((all) => all.length >= 10);
    expect(events.map((event) => event.onHand)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events.map((event) => event.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(events.map((event) => event.seq)).size).toBe(10);
    expect([...events.map((event) => event.seq)].sort((a, b) => a - b)).toEqual(events.map((event) => event.seq));
    // The HTTP view of the log holds the same changes.
    const page = (await erp(changes, { since: from, first: 100, filter: { kinds: ['INVENTORY'], skus: ['S-2'] } })).data!.changes;
    expect(page.changes.map((change) => change.seq)).toEqual(events.map((event) => event.seq));
    resumed.stop();
  });

  it('sends availability only when the channel number changes, per channel', async () => {
    const from = await head();
    const web = record<AvailabilityChangedView>(feedOn(1, keys.erp), AVAILABILITY_CHANGED, { channel: 'WEB', skus: ['S-3'] }, from);
    const pos = record<AvailabilityChangedView>(feedOn(2, keys.erp), AVAILABILITY_CHANGED, { channel: 'POS', skus: ['S-3'] }, from);
    await adjust('S-3', 'L-2', 4); // POS only
    // Derived from the positions as they are when the relay logs: a burst would be one event with the final number.
    await pos.until((events) => events.length >= 1);
    await adjust('S-3', 'L-1', 2); // both
    await pos.until((events) => events.length >= 2);
    const webEvents = await web.until((events) => events.length >= 1);
    expect(pos.events.map((event) => event.availableToSell)).toEqual([4, 6]);
    expect(webEvents.map((event) => [event.availableToSell, event.previous])).toEqual([[2, null]]);
    web.stop();
    pos.stop();
  });

  it("derives availability again for the channel's SKUs when its locations or buffer change", async () => {
    // S-3 holds 2 at L-1 and 4 at L-2 (the test before): WEB (L-1) shows 2.
    const from = await head();
    const web = record<AvailabilityChangedView>(feedOn(1, keys.erp), AVAILABILITY_CHANGED, { channel: 'WEB', skus: ['S-3'] }, from);
    const channel = (change: Record<string, unknown>) => erp(upsertChannels, { input: [{ code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1'], inventoryBuffer: 0, ...change }] });
    await channel({ locationCodes: ['L-1', 'L-2'], inventoryBuffer: 1 }); // 2 + 4 − 1
    await web.until((events) => events.length >= 1);
    await channel({}); // back to L-1 alone, no buffer
    const events = await web.until((events) => events.length >= 2);
    expect(events.map((event) => [event.availableToSell, event.previous])).toEqual([
      [5, 2],
      [2, 5],
    ]);
    expect(events[0]!.origin).toMatchObject({ apiKey: 'erp', source: 'API' });
    web.stop();
  });

  it('logs reservation state changes, with their stock effects as inventory changes', async () => {
    const from = await head();
    await adjust('S-2', 'L-1', 5);
    const placed = async (orderRef: string) => {
      const result = (await erp(reserveInventory, { channel: 'WEB', items: [{ sku: 'S-2', quantity: 2 }], ttl: 600, orderRef, key: `reserve-${orderRef}` })).data!.reserveInventory;
      expect(result.__typename).toBe('Reservation');
      return (result as { id: string }).id;
    };
    const sold = await placed('ORDER-1');
    expect((await erp(commitReservation, { id: sold })).data!.commitReservation.__typename).toBe('Reservation');
    const given = await placed('ORDER-2');
    expect((await erp(releaseReservation, { id: given })).data!.releaseReservation.__typename).toBe('Reservation');

    const logged = async () => (await erp(changes, { since: from, first: 100, filter: { kinds: ['RESERVATION'] } })).data!.changes.changes;
    await expect.poll(async () => (await logged()).length).toBe(4);
    // In order per reservation (the log orders each aggregate's changes, not changes of different ones).
    const of = async (id: string) => (await logged()).filter((event) => event['reservationId'] === id).map((event) => [event['previousState'], event['state'], event.version, (event['origin'] as { reason: string }).reason]);
    expect(await of(sold)).toEqual([
      ['PENDING', 'ACTIVE', 1, 'RESERVE'],
      ['ACTIVE', 'COMMITTED', 2, 'COMMIT'],
    ]);
    expect(await of(given)).toEqual([
      ['PENDING', 'ACTIVE', 1, 'RESERVE'],
      ['ACTIVE', 'RELEASED', 2, 'RELEASE'],
    ]);
    expect((await logged()).find((event) => event['reservationId'] === sold)).toMatchObject({ __typename: 'ReservationChanged', channel: 'WEB', orderRef: 'ORDER-1', lines: [{ sku: 'S-2', quantity: 2 }] });
    // A key without inventory:read may not ask for them.
    const catalogOnly = graphqlClient(gateways[0]!.url, await createKey(app, 'catalog-only', ['catalog:read']));
    expect((await catalogOnly(changes, { since: from, filter: { kinds: ['RESERVATION'] } })).errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('streams price and catalog changes', async () => {
    const from = await head();
    const prices = record<PriceChangedView>(feedOn(1, keys.storefront), PRICE_CHANGED, { channel: 'WEB' }, from);
    const catalog = record<CatalogChangedView>(feedOn(2, keys.storefront), CATALOG_CHANGED, {}, from);
    await erp(upsertPriceLists, { input: [{ code: 'EUR-WEB', name: 'Web EUR', currency: 'EUR', channelCode: 'WEB', priority: 1, taxMode: 'GROSS' }] });
    await erp(setPrices, { priceList: 'EUR-WEB', items: [{ sku: 'S-1', amount: 1999, compareVersion: null }], key: 'price-1' });
    const [price] = await prices.until((events) => events.length >= 1);
    expect(price).toMatchObject({ priceList: 'EUR-WEB', sku: 'S-1', amount: 1999, version: 1 });
    const seen = await catalog.until((events) => events.some((event) => event.entity === 'PRICE_LIST'));
    expect(seen.find((event) => event.entity === 'PRICE_LIST')).toMatchObject({ key: 'EUR-WEB', outcome: 'CREATED', version: 1 });
    prices.stop();
    catalog.stop();
  });

  it("applies a location's new negative-stock policy on the other replicas once their feed brings the change", async () => {
    await erp(upsertLocations, { input: [{ code: 'L-NEG', name: 'L-NEG', kind: 'STORE', region: 'EU', timezone: 'UTC' }] });
    await erp(upsertSkus, { input: [{ code: 'S-NEG', productCode: 'P', title: 'S-NEG' }] });
    const onB = graphqlClient(gateways[1]!.url, keys.erp);
    const sell = async (key: string) => (await onB(adjustInventory, { items: [{ sku: 'S-NEG', location: 'L-NEG', delta: -1, reason: 'SALE' }], key })).data?.adjustInventory;
    // B reads L-NEG (policy REJECT) and keeps it.
    expect(await sell('neg-1')).toMatchObject({ items: [{ outcome: 'REJECTED', error: { __typename: 'NegativeStockError' } }] });
    const from = await head();
    const catalogOnB = record<CatalogChangedView>(feedOn(1, keys.erp), CATALOG_CHANGED, {}, from);
    await erp(upsertLocations, { input: [{ code: 'L-NEG', negativeStockPolicy: 'ALLOW' }] }); // through replica A
    // B's feed drops L-NEG before its subscribers hear of the change.
    await catalogOnB.until((events) => events.some((event) => event.entity === 'LOCATION' && event.key === 'L-NEG'));
    expect(await sell('neg-2')).toMatchObject({ items: [{ outcome: 'APPLIED', position: { onHand: -1 } }] });
    catalogOnB.stop();
  });

  it.each([
    ['an unknown channel', { channel: 'NOPE' }, null, 'NOT_FOUND'],
    ['more than 500 SKUs', { channel: 'WEB', skus: Array.from({ length: 501 }, (_, i) => `S-${i}`) }, null, 'BAD_USER_INPUT'],
  ])('rejects a subscription with %s, with a typed error', async (_, variables, _since, code) => {
    const rejected = record<InventoryChangedView>(feedOn(1, keys.erp), INVENTORY_CHANGED, variables);
    const error = await rejected.failed();
    expect(error).toBeInstanceOf(SubscriptionRejectedError);
    expect((error as SubscriptionRejectedError).code).toBe(code);
  });

  it('closes a socket without a valid key before any subscription runs', async () => {
    const error = await record<InventoryChangedView>(feedOn(1, 'rsg_not-a-key'), INVENTORY_CHANGED, { channel: 'WEB' }).failed();
    expect(error).toBeInstanceOf(ConnectionRejectedError);
  });

  it.each([
    ['a page larger than 500', { since: 0, first: 501 }],
    ['a negative since', { since: -1 }],
    ['a fractional since', { since: 1.5 }],
  ])('rejects a changes query with %s (BAD_USER_INPUT)', async (_, variables) => {
    const page = await erp(changes, variables);
    expect(page.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it('has exactly one replica relaying, and every replica reports the feed in /metrics', async () => {
    const texts = await Promise.all(gateways.map(async (gateway) => (await fetch(new URL('/metrics', gateway.url))).text()));
    const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
    expect(texts.map((text) => value(text, 'change_relay_active')).reduce((a, b) => a + b, 0)).toBe(1);
    for (const text of texts) {
      expect(value(text, 'change_bus_connected')).toBe(1);
      expect(value(text, 'change_feed_last_seq')).toBeGreaterThan(0);
      expect(text).toMatch(/^change_feed_delivery_lag_seconds_count \d+/m);
    }
  });

  it('shows a channel-bound key only the inventory changes at its channels\' locations in the log', async () => {
    const storefront = graphqlClient(gateways[1]!.url, keys.storefront);
    const page = (await storefront(changes, { since: 0, first: 500, filter: { kinds: ['INVENTORY', 'AVAILABILITY'] } })).data!.changes;
    expect(page.changes.length).toBeGreaterThan(0);
    // S-3 was received at L-2 too, which only POS sells from.
    expect(page.changes.filter((change) => change.__typename === 'InventoryChanged').every((change) => change['location'] === 'L-1')).toBe(true);
    expect(page.changes.filter((change) => change.__typename === 'AvailabilityChanged').every((change) => change['channel'] === 'WEB')).toBe(true);
  });

  it('pages through the log over HTTP, with a cursor to continue from', async () => {
    const first = (await erp(changes, { since: 0, first: 3 })).data!.changes;
    expect(first.changes).toHaveLength(3);
    expect(first.hasMore).toBe(true);
    const second = (await erp(changes, { since: first.lastSeq, first: 3 })).data!.changes;
    expect(second.changes[0]!.seq).toBeGreaterThan(first.lastSeq);
  });

  it('tells a subscriber whose cursor is older than the retention to re-query (CURSOR_EXPIRED)', async () => {
    // Retention is at least an hour: age the whole log out through the store instead of waiting.
    await app.store.repositories.changeLog.purgeLoggedBefore(new Date(Date.now() + 60_000));
    const expired = record<InventoryChangedView>(feedOn(1, keys.storefront), INVENTORY_CHANGED, { channel: 'WEB' }, 1);
    expect(await expired.failed()).toBeInstanceOf(CursorExpiredError);
    const page = await erp(changes, { since: 1 });
    expect(page.errors?.[0]?.extensions?.['code']).toBe('CURSOR_EXPIRED');
  });
});
