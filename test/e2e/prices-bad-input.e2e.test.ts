import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../utils/graphql-client.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey } from '../utils/test-store.js';
import { CHANNELS, LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus, type Issue } from './operations.js';
import { allPriceLists, priceHistory, pricesPage, setPrices, upsertPriceLists } from './price-operations.js';

let fx: CatalogGateway;
let pricing: GraphqlClient;

beforeAll(async () => {
  fx = await startCatalogGateway('prices_bad_input');
  await fx.erp(upsertLocations, { input: LOCATIONS });
  await fx.erp(upsertChannels, { input: CHANNELS });
  await fx.erp(upsertProducts, { input: [{ code: 'P-1', title: 'Tee' }] });
  await fx.erp(upsertSkus, { input: Array.from({ length: 3 }, (_, i) => ({ code: `S-${i}`, productCode: 'P-1', title: `Tee ${i}` })) });
  pricing = graphqlClient(fx.gateway.url, await createKey(fx.app, 'price-feed', ['catalog:read', 'prices:write']));
  await pricing(upsertPriceLists, {
    input: [
      { code: 'BASE', name: 'Base', currency: 'EUR' },
      { code: 'SALE', name: 'Sale', currency: 'EUR', effectiveFrom: '2030-01-01T00:00:00Z', effectiveUntil: '2030-02-01T00:00:00Z' },
    ],
  });
  await pricing(setPrices, { priceList: 'BASE', items: [{ sku: 'S-0', amount: 1000 }], key: 'seed' });
});

afterAll(() => fx?.close());

const price = (overrides: Record<string, unknown> = {}) => ({ sku: 'S-1', amount: 500, ...overrides });
const list = (overrides: Record<string, unknown> = {}) => ({ code: 'NEW', name: 'New', currency: 'EUR', ...overrides });
let keys = 0;
const prices = (items: unknown, priceList = 'BASE') => ({ priceList, items, key: `bad-${keys++}` });

type Case = readonly [name: string, op: Operation<Record<string, unknown>, Record<string, unknown>>, variables: () => Record<string, unknown>, expected: Partial<Issue>];

const CASES: readonly Case[] = [
  ['a negative amount', setPrices, () => prices([price(), price({ sku: 'S-2', amount: -1 })]), { index: 1, path: ['amount'], code: 'OUT_OF_RANGE' }],
  ['an amount over 10^12', setPrices, () => prices([price({ amount: 1_000_000_000_001 })]), { index: 0, path: ['amount'], code: 'OUT_OF_RANGE' }],
  ['compareAtAmount below amount', setPrices, () => prices([price({ compareAtAmount: 499 })]), { index: 0, path: ['compareAtAmount'], code: 'OUT_OF_RANGE' }],
  ['compareAtAmount equal to amount', setPrices, () => prices([price({ compareAtAmount: 500 })]), { index: 0, path: ['compareAtAmount'], code: 'OUT_OF_RANGE' }],
  ['a negative compareVersion', setPrices, () => prices([price({ compareVersion: -1 })]), { index: 0, path: ['compareVersion'], code: 'OUT_OF_RANGE' }],
  ['an unknown SKU', setPrices, () => prices([price(), price({ sku: 'NOPE' })]), { index: 1, path: ['sku'], code: 'UNKNOWN_REFERENCE' }],
  ['a malformed SKU code', setPrices, () => prices([price({ sku: 'S 1' })]), { index: 0, path: ['sku'], code: 'INVALID_FORMAT' }],
  ['an unknown price list', setPrices, () => prices([price()], 'NOPE'), { index: null, path: ['priceList'], code: 'UNKNOWN_REFERENCE' }],
  ['a malformed price list code', setPrices, () => prices([price()], 'BASE:S-1'), { index: null, path: ['priceList'], code: 'INVALID_FORMAT' }],
  ['501 items', setPrices, () => prices(Array.from({ length: 501 }, () => price())), { index: null, path: ['items'], code: 'TOO_MANY_ITEMS' }],
  ['an empty batch', setPrices, () => prices([]), { index: null, path: ['items'], code: 'EMPTY_BATCH' }],
  ['a SKU twice in one batch', setPrices, () => prices([price(), price({ amount: 600 })]), { index: 1, path: ['sku'], code: 'DUPLICATE_IN_BATCH' }],
  ['a malformed idempotency key', setPrices, () => ({ ...prices([price()]), key: 'has spaces' }), { index: null, path: ['idempotencyKey'], code: 'INVALID_FORMAT' }],
  ['effectiveFrom after effectiveUntil', upsertPriceLists, () => ({ input: [list({ effectiveFrom: '2030-02-01T00:00:00Z', effectiveUntil: '2030-01-01T00:00:00Z' })] }), { index: 0, path: ['effectiveUntil'], code: 'OUT_OF_RANGE' }],
  ['effectiveFrom equal to effectiveUntil', upsertPriceLists, () => ({ input: [list({ effectiveFrom: '2030-01-01T00:00:00Z', effectiveUntil: '2030-01-01T00:00:00Z' })] }), { index: 0, path: ['effectiveUntil'], code: 'OUT_OF_RANGE' }],
  ['an effectiveUntil before the stored effectiveFrom', upsertPriceLists, () => ({ input: [{ code: 'SALE', effectiveUntil: '2029-12-31T00:00:00Z' }] }), { index: 0, path: ['effectiveUntil'], code: 'OUT_OF_RANGE' }],
  ['an effectiveFrom after the stored effectiveUntil', upsertPriceLists, () => ({ input: [{ code: 'SALE', effectiveFrom: '2030-03-01T00:00:00Z' }] }), { index: 0, path: ['effectiveFrom'], code: 'OUT_OF_RANGE' }],
  ['an unknown currency', upsertPriceLists, () => ({ input: [list({ currency: 'EURO' })] }), { index: 0, path: ['currency'], code: 'INVALID_FORMAT' }],
  ['a lower-case currency', upsertPriceLists, () => ({ input: [list({ currency: 'eur' })] }), { index: 0, path: ['currency'], code: 'INVALID_FORMAT' }],
  ['a currency change', upsertPriceLists, () => ({ input: [{ code: 'BASE', currency: 'USD' }] }), { index: 0, path: ['currency'], code: 'CONFLICT' }],
  ['a new list without a currency', upsertPriceLists, () => ({ input: [list({ currency: undefined })] }), { index: 0, path: ['currency'], code: 'REQUIRED' }],
  ['a new list without a name', upsertPriceLists, () => ({ input: [list({ name: undefined })] }), { index: 0, path: ['name'], code: 'REQUIRED' }],
  ['an unknown channel', upsertPriceLists, () => ({ input: [list({ channelCode: 'NOPE' })] }), { index: 0, path: ['channelCode'], code: 'UNKNOWN_REFERENCE' }],
  ['a priority over 1000', upsertPriceLists, () => ({ input: [list({ priority: 1001 })] }), { index: 0, path: ['priority'], code: 'OUT_OF_RANGE' }],
  ['a priority under -1000', upsertPriceLists, () => ({ input: [list({ priority: -1001 })] }), { index: 0, path: ['priority'], code: 'OUT_OF_RANGE' }],
  ['a blank region', upsertPriceLists, () => ({ input: [list({ region: '  ' })] }), { index: 0, path: ['region'], code: 'REQUIRED' }],
  ['a list code with a colon', upsertPriceLists, () => ({ input: [list({ code: 'A:B' })] }), { index: 0, path: ['code'], code: 'INVALID_FORMAT' }],
  ['a list code twice in one batch', upsertPriceLists, () => ({ input: [list(), list({ name: 'again' })] }), { index: 1, path: ['code'], code: 'DUPLICATE_IN_BATCH' }],
  ['501 lists', upsertPriceLists, () => ({ input: Array.from({ length: 501 }, (_, i) => list({ code: `L-${i}` })) }), { index: null, path: ['input'], code: 'TOO_MANY_ITEMS' }],
];

describe('bad price input is rejected whole, with typed issues, and writes nothing', () => {
  it.each(CASES)('%s', async (_, op, variables, expected) => {
    const before = await snapshot();
    const response = await pricing(op, variables());
    const result = Object.values(response.data ?? {})[0] as { __typename: string; issues: Issue[] };
    expect(result.__typename).toBe('InvalidInputError');
    expect(result.issues).toContainEqual(expect.objectContaining(expected));
    expect(await snapshot()).toEqual(before);
  });

  it('reports every issue of a batch at once', async () => {
    const response = await pricing(setPrices, prices([price({ amount: -5 }), price({ sku: 'S-2', compareAtAmount: 1 }), price({ sku: 'NOPE' })]));
    expect(response.data?.setPrices).toMatchObject({
      __typename: 'InvalidInputError',
      issues: [
        { index: 0, path: ['amount'], code: 'OUT_OF_RANGE' },
        { index: 1, path: ['compareAtAmount'], code: 'OUT_OF_RANGE' },
      ],
    });
  });

  it.each([
    ['a fractional amount', { items: [price({ amount: 19.99 })] }, 'items[0].amount'],
    ['an amount as a string', { items: [price({ amount: '500' })] }, 'items[0].amount'],
    ['an amount beyond 2^53', { items: [price({ amount: 2 ** 53 + 2 })] }, 'items[0].amount'],
    ['a fractional compareVersion', { items: [price({ compareVersion: 1.5 })] }, 'items[0].compareVersion'],
  ])('refuses %s at the protocol level, naming the field', async (_, variables, where) => {
    const before = await snapshot();
    const response = await pricing(setPrices, { priceList: 'BASE', key: `bad-${keys++}`, ...variables });
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toContain(where);
    expect(await snapshot()).toEqual(before);
  });

  it('requires the idempotency key of setPrices', async () => {
    const response = await pricing({ query: 'mutation { setPrices(priceList: "BASE", items: [{ sku: "S-1", amount: 1 }]) { __typename } }' });
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

/** What the API shows of the price store: every case must leave it exactly as it was. */
async function snapshot() {
  const lists = (await pricing(allPriceLists, { includeArchived: true })).data!.priceLists;
  const pages = await Promise.all(lists.map(async (l) => [l.code, (await pricing(pricesPage, { priceList: l.code, first: 500 })).data!.prices] as const));
  const history = await Promise.all(['S-0', 'S-1', 'S-2'].map(async (sku) => (await pricing(priceHistory, { priceList: 'BASE', sku })).data!.priceHistory));
  return { lists, pages, history };
}
