import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startGatewayProcess } from '../utils/gateway-process.js';
import { settle } from '../utils/settle.js';
import { startGatewayPair, type GatewayPair } from './fixture.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { upsertProducts, upsertSkus } from './operations.js';
import { priceHistory, priceOf, setPrices, upsertPriceLists } from './price-operations.js';

/** A short lease, so a retry takes over from a crashed holder within the test. */
const env = { IDEMPOTENCY_LEASE_MS: '300' };
const SKUS = ['S-0', 'S-1', 'S-2', 'S-3', 'S-4', 'S-5'];

let pair: GatewayPair;
let dbName: string;
let key: string;
let clients: readonly GraphqlClient[] = [];

beforeAll(async () => {
  pair = await startGatewayPair('prices_crash', ['catalog:read', 'catalog:write', 'prices:write'], env);
  ({ dbName, key, clients } = pair);
  const [a] = clients as [GraphqlClient];
  await a(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await a(upsertSkus, { input: SKUS.map((code) => ({ code, productCode: 'P', title: code })) });
  await a(upsertPriceLists, { input: [{ code: 'BASE', name: 'Base', currency: 'EUR' }] });
  await a(setPrices, { priceList: 'BASE', items: SKUS.map((sku) => ({ sku, amount: 100 })), key: 'seed' });
});

afterAll(() => pair?.close());

const priceOfSku = async (sku: string) => (await clients[0]!(priceOf, { priceList: 'BASE', sku })).data?.price;
const historyCount = async (sku: string) => (await clients[0]!(priceHistory, { priceList: 'BASE', sku, first: 0 })).data?.priceHistory.totalCount ?? 0;

describe('a gateway killed right after a price write', () => {
  it('applies each item once when the client retries on another gateway, and never fails its own compare-and-set', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'prices.after-price-write=crash' } });
    const before = await Promise.all(SKUS.map(async (sku) => ({ price: (await priceOfSku(sku))!, history: await historyCount(sku) })));
    const items = SKUS.map((sku, i) => ({ sku, amount: 200 + i, compareVersion: before[i]!.price.version }));

    await expect(graphqlClient(crashing.url, key)(setPrices, { priceList: 'BASE', items, key: 'crash-1' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);

    const retried = await settle(async () => (await clients[1]!(setPrices, { priceList: 'BASE', items, key: 'crash-1' })).data?.setPrices);
    expect(retried).toMatchObject({ __typename: 'PriceBatchResult', replayed: false, items: SKUS.map((sku, i) => ({ outcome: 'UPDATED', error: null, price: { sku, amount: 200 + i, version: before[i]!.price.version + 1 } })) });
    for (const [i, sku] of SKUS.entries()) {
      expect(await priceOfSku(sku)).toMatchObject({ amount: 200 + i, version: before[i]!.price.version + 1 });
      expect(await historyCount(sku)).toBe(before[i]!.history + 1);
    }
    const replay = await clients[0]!(setPrices, { priceList: 'BASE', items, key: 'crash-1' });
    expect(replay.data?.setPrices).toEqual({ ...retried, replayed: true });
  });
});

describe('a gateway killed right after a price write, and no client ever retrying', () => {
  it('still has the history entry: the relay writes it from the change, not the request', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'prices.after-price-write=crash' } });
    const sku = 'S-4';
    const before = { price: (await priceOfSku(sku))!, history: await historyCount(sku) };

    await expect(graphqlClient(crashing.url, key)(setPrices, { priceList: 'BASE', items: [{ sku, amount: 444 }], key: 'crash-abandoned' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);

    expect(await priceOfSku(sku)).toMatchObject({ amount: 444, version: before.price.version + 1 });
    expect(await historyCount(sku)).toBe(before.history + 1);
  });
});

describe('a gateway killed right after a price write, then 16 changes before the retry', () => {
  it('applies nothing twice although the price no longer remembers the operation, and writes its history entry once', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'prices.after-price-write=crash' } });
    const sku = 'S-5';
    const before = { price: (await priceOfSku(sku))!, history: await historyCount(sku) };
    const items = [{ sku, amount: 555 }];

    await expect(graphqlClient(crashing.url, key)(setPrices, { priceList: 'BASE', items, key: 'crash-late' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);
    // Sixteen more changes (a price remembers its last sixteen operations) before the client retries.
    for (let i = 1; i <= 16; i++) expect((await clients[0]!(setPrices, { priceList: 'BASE', items: [{ sku, amount: 600 + i }], key: `crash-late-${i}` })).data?.setPrices).toMatchObject({ items: [{ outcome: 'UPDATED' }] });

    const retried = await settle(async () => (await clients[1]!(setPrices, { priceList: 'BASE', items, key: 'crash-late' })).data?.setPrices);
    expect(retried).toMatchObject({
      __typename: 'PriceBatchResult',
      items: [{ outcome: 'UPDATED', price: { amount: 555, version: before.price.version + 1 }, change: { before: { amount: before.price.amount, version: before.price.version }, after: { amount: 555, version: before.price.version + 1 } } }],
    });
    expect(await priceOfSku(sku)).toMatchObject({ amount: 616, version: before.price.version + 17 });
    expect(await historyCount(sku)).toBe(before.history + 17);
  });
});

describe('compare-and-set across two gateway processes', () => {
  it('lets exactly one of N parallel writers with the same compareVersion win', async () => {
    const current = (await priceOfSku('S-0'))!;
    const writers = 16;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, w) => clients[w % 2]!(setPrices, { priceList: 'BASE', items: [{ sku: 'S-0', amount: 9000 + w, compareVersion: current.version }], key: `race-${w}` })),
    );
    const items = results.map((response) => {
      const result = response.data?.setPrices;
      if (result?.__typename !== 'PriceBatchResult') throw new Error(JSON.stringify(response));
      return result.items[0]!;
    });
    const winners = items.filter((item) => item.outcome === 'UPDATED');
    expect(winners).toHaveLength(1);
    for (const loser of items.filter((item) => item.outcome !== 'UPDATED')) {
      expect(loser).toMatchObject({ outcome: 'REJECTED', error: { __typename: 'StalePriceError', expectedVersion: current.version, currentVersion: current.version + 1, currentAmount: winners[0]!.price!.amount } });
    }
    expect(await priceOfSku('S-0')).toMatchObject({ amount: winners[0]!.price!.amount, version: current.version + 1 });
  });
});
