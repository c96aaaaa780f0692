import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { App } from '../../src/app/app.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { availableToSell, commitReservation, inventoryMovements, inventoryPosition, releaseReservation, reservationById, reserveInventory, setInventory } from './inventory-operations.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';

let app: App;
let gateways: GatewayProcess[] = [];
let clients: GraphqlClient[] = [];
let erp: GraphqlClient;
let keyCounter = 0;
let dbName: string;
/** Short, so a sweeper treats a reservation left PENDING by a killed gateway as abandoned within the test. */
const LEASE = { IDEMPOTENCY_LEASE_MS: '300' };
const nextKey = () => `res-${++keyCounter}`;

beforeAll(async () => {
  dbName = uniqueDbName('reservations');
  app = await openTestApp(dbName);
  const key = await createKey(app, 'erp', ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write']);
  // A fast sweeper, so expiry is observable within the test.
  gateways = await Promise.all([0, 1].map(() => startGatewayProcess({ env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, RESERVATION_SWEEP_INTERVAL_MS: '100' } })));
  clients = gateways.map((gateway) => graphqlClient(gateway.url, key));
  erp = clients[0]!;
  await erp(upsertLocations, { input: ['L-1', 'L-2'].map((code) => ({ code, name: code, kind: 'WAREHOUSE', region: 'EU', timezone: 'UTC' })) });
  await erp(upsertChannels, { input: [{ code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1', 'L-2'] }] });
  await erp(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await erp(upsertSkus, { input: ['A', 'B', 'HOT', 'PROP', 'EXP'].map((code) => ({ code, productCode: 'P', title: code })) });
  await erp(setInventory, {
    items: [
      { sku: 'A', location: 'L-1', onHand: 3, compareOnHand: null },
      { sku: 'A', location: 'L-2', onHand: 5, compareOnHand: null },
      { sku: 'B', location: 'L-2', onHand: 1, compareOnHand: null },
      { sku: 'HOT', location: 'L-1', onHand: 100, compareOnHand: null },
      { sku: 'EXP', location: 'L-1', onHand: 2, compareOnHand: null },
    ],
  });
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await app?.close();
});

const ats = async (sku: string) => (await erp(availableToSell, { channel: 'WEB', skus: [sku] })).data!.availableToSell[0]!.availableToSell;

describe('reserveInventory', () => {
  it("holds a line across the channel's locations in order", async () => {
    const result = (await erp(reserveInventory, { channel: 'WEB', items: [{ sku: 'A', quantity: 4 }], ttl: 600, orderRef: 'ORDER-1', key: nextKey() })).data?.reserveInventory;
    expect(result).toMatchObject({ __typename: 'Reservation', state: 'ACTIVE', orderRef: 'ORDER-1', lines: [{ skuCode: 'A', quantity: 4, allocations: [{ locationCode: 'L-1', quantity: 3 }, { locationCode: 'L-2', quantity: 1 }] }] });
    expect(await ats('A')).toBe(4);
  });

  it('is all or nothing across items', async () => {
    const result = (await erp(reserveInventory, { channel: 'WEB', items: [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 2 }], ttl: 600, key: nextKey() })).data?.reserveInventory;
    expect(result).toMatchObject({ __typename: 'InsufficientStockError', skuCode: 'B', requested: 2, available: 1 });
    expect(await ats('A')).toBe(4);
    expect(await ats('B')).toBe(1);
  });

  it('commits: onHand and reserved go down together, with a SALE in the ledger; a second commit changes nothing', async () => {
    const reserved = (await erp(reserveInventory, { channel: 'WEB', items: [{ sku: 'A', quantity: 2 }], ttl: 600, orderRef: 'ORDER-2', key: nextKey() })).data?.reserveInventory as { id: string };
    const committed = (await erp(commitReservation, { id: reserved.id })).data?.commitReservation;
    expect(committed).toMatchObject({ __typename: 'Reservation', state: 'COMMITTED' });
    expect((await erp(inventoryPosition, { sku: 'A', location: 'L-2' })).data?.inventoryPosition).toMatchObject({ onHand: 3, reserved: 1 });
    const ledger = (await erp(inventoryMovements, { sku: 'A', location: 'L-2' })).data?.inventoryMovements.nodes;
    expect(ledger?.at(-1)).toMatchObject({ delta: -2, reason: 'SALE', referenceDocument: 'ORDER-2', onHandBefore: 5, onHandAfter: 3 });
    expect((await clients[1]!(commitReservation, { id: reserved.id })).data?.commitReservation).toMatchObject({ state: 'COMMITTED' });
    expect((await erp(releaseReservation, { id: reserved.id })).data?.releaseReservation).toMatchObject({ __typename: 'ReservationNotActiveError', state: 'COMMITTED' });
  });

  it('releases: the stock comes back; a second release changes nothing', async () => {
    const before = await ats('A');
    const reserved = (await erp(reserveInventory, { channel: 'WEB', items: [{ sku: 'A', quantity: 1 }], ttl: 600, key: nextKey() })).data?.reserveInventory as { id: string };
    expect(await ats('A')).toBe(before - 1);
    expect((await erp(releaseReservation, { id: reserved.id })).data?.releaseReservation).toMatchObject({ state: 'RELEASED' });
    expect((await erp(releaseReservation, { id: reserved.id })).data?.releaseReservation).toMatchObject({ state: 'RELEASED' });
    expect(await ats('A')).toBe(before);
    expect((await erp(commitReservation, { id: reserved.id })).data?.commitReservation).toMatchObject({ __typename: 'ReservationNotActiveError', state: 'RELEASED' });
  });

  it('returns expired stock: the sweeper releases it, and an expired reservation cannot be committed', async () => {
    const reserved = (await erp(reserveInventory, { channel: 'WEB', items: [{ sku: 'EXP', quantity: 2 }], ttl: 1, key: nextKey() })).data?.reserveInventory as { id: string };
    expect(await ats('EXP')).toBe(0);
    // Wait for the sweeper's state change (TTL 1 s, sweeps every 100 ms), not for a fixed time; the bound only
    // stops a broken sweeper from hanging the suite (a count of polls was a hidden time bound: it ran out when
    // requests got faster).
    await expect.poll(async () => (await erp(reservationById, { id: reserved.id })).data?.reservation?.state, { timeout: 20_000, interval: 25 }).toBe('EXPIRED');
    expect(await ats('EXP')).toBe(2);
    expect((await erp(commitReservation, { id: reserved.id })).data?.commitReservation).toMatchObject({ __typename: 'ReservationNotActiveError', state: 'EXPIRED' });
  });

  it('replays a retried reservation instead of holding twice', async () => {
    const before = await ats('A');
    const key = nextKey();
    const [first, second] = await Promise.all([0, 1].map((i) => clients[i]!(reserveInventory, { channel: 'WEB', items: [{ sku: 'A', quantity: 1 }], ttl: 600, key })));
    const ids = [first, second].map((r) => (r!.data?.reserveInventory as { id?: string }).id).filter(Boolean);
    expect(new Set(ids).size).toBeLessThanOrEqual(1);
    expect(await ats('A')).toBe(before - 1);
  });

  it.each([
    ['a zero quantity', { items: [{ sku: 'A', quantity: 0 }], ttl: 60 }, { index: 0, path: ['quantity'], code: 'OUT_OF_RANGE' }],
    ['a negative TTL', { items: [{ sku: 'A', quantity: 1 }], ttl: -5 }, { index: null, path: ['ttlSeconds'], code: 'OUT_OF_RANGE' }],
    ['a TTL over a day', { items: [{ sku: 'A', quantity: 1 }], ttl: 86_401 }, { index: null, path: ['ttlSeconds'], code: 'OUT_OF_RANGE' }],
    ['an unknown SKU', { items: [{ sku: 'NOPE', quantity: 1 }], ttl: 60 }, { index: 0, path: ['sku'], code: 'UNKNOWN_REFERENCE' }],
    ['an empty batch', { items: [], ttl: 60 }, { index: null, path: ['items'], code: 'EMPTY_BATCH' }],
    ['a SKU twice', { items: [{ sku: 'A', quantity: 1 }, { sku: 'A', quantity: 1 }], ttl: 60 }, { index: 1, path: ['sku'], code: 'DUPLICATE_IN_BATCH' }],
  ])('refuses %s and holds nothing', async (_, variables, issue) => {
    const before = await ats('A');
    const result = (await erp(reserveInventory, { channel: 'WEB', ...variables, key: nextKey() })).data?.reserveInventory;
    expect(result).toMatchObject({ __typename: 'InvalidInputError', issues: [expect.objectContaining(issue)] });
    expect(await ats('A')).toBe(before);
  });
});

describe('a gateway killed while placing a reservation', () => {
  it('leaves nothing held: another replica\'s sweeper rolls the reservation back', async () => {
    const before = await ats('A');
    const crashing = await startGatewayProcess({ env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'reservation.after-hold=crash' } });
    const sweeping = await startGatewayProcess({ env: { ...LEASE, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, RESERVATION_SWEEP_INTERVAL_MS: '100' } });
    const key = await createKey(app, 'crash-test', ['inventory:write', 'inventory:read']);
    await expect(graphqlClient(crashing.url, key)(reserveInventory, { channel: 'WEB', items: [{ sku: 'A', quantity: 1 }], ttl: 600, key: 'crash' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);
    expect(await ats('A')).toBe(before - 1); // held by a reservation nobody will finish
    // The sweeper rolls it back once it is stale; the bound only stops a broken sweeper from hanging the suite.
    await expect.poll(() => ats('A'), { timeout: 30_000, interval: 25 }).toBe(before);
    await sweeping.stop();
  });
});

describe('no oversell under concurrency', () => {
  it('lets exactly 100 of 1,000 concurrent one-unit reservations on 100 units succeed, across two gateways', async () => {
    const results = await Promise.all(Array.from({ length: 1_000 }, (_, i) => clients[i % 2]!(reserveInventory, { channel: 'WEB', items: [{ sku: 'HOT', quantity: 1 }], ttl: 600, key: `hot-${i}` })));
    const outcomes = results.map((r) => r.data?.reserveInventory?.__typename);
    expect(outcomes.filter((typename) => typename === 'Reservation')).toHaveLength(100);
    expect(outcomes.filter((typename) => typename === 'InsufficientStockError')).toHaveLength(900);
    expect((await erp(inventoryPosition, { sku: 'HOT', location: 'L-1' })).data?.inventoryPosition).toMatchObject({ onHand: 100, reserved: 100, available: 0 });
    expect(await ats('HOT')).toBe(0);
  });

  it('never holds more than the stock, whatever the stock and the requests', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 25 }), async (stock, quantities) => {
        round++;
        await erp(setInventory, { items: [{ sku: 'PROP', location: 'L-2', onHand: stock, compareOnHand: null }] });
        const before = (await erp(inventoryPosition, { sku: 'PROP', location: 'L-2' })).data!.inventoryPosition!.reserved;
        const results = await Promise.all(quantities.map((quantity, i) => clients[i % 2]!(reserveInventory, { channel: 'WEB', items: [{ sku: 'PROP', quantity }], ttl: 600, key: `prop-${round}-${i}` })));
        const held = results.reduce((sum, r, i) => sum + (r.data?.reserveInventory?.__typename === 'Reservation' ? quantities[i]! : 0), 0);
        const position = (await erp(inventoryPosition, { sku: 'PROP', location: 'L-2' })).data!.inventoryPosition!;
        expect(position.reserved - before).toBe(held);
        expect(position.available).toBeGreaterThanOrEqual(Math.min(0, stock - before));
        expect(held).toBeLessThanOrEqual(Math.max(0, stock - before));
        for (const [i, r] of results.entries()) {
          const result = r.data?.reserveInventory;
          if (result?.__typename === 'Reservation') await erp(releaseReservation, { id: (result as { id: string }).id });
          else expect(result?.__typename, JSON.stringify(r)).toBe('InsufficientStockError');
          void i;
        }
      }),
      { numRuns: 15 },
    );
  });
});
