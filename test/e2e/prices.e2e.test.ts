import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey } from '../utils/test-store.js';
import { bindStorefront, CHANNELS, expireIdempotencyKey, LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';
import {
  allPriceLists,
  archivePriceLists,
  priceAt,
  priceHistory,
  priceListByCode,
  priceOf,
  pricesPage,
  setPrices,
  upsertPriceLists,
  type PriceItemView,
  type SetPricesView,
} from './price-operations.js';

let fx: CatalogGateway;
/** Unbound, with prices:write: the ERP's price feed. */
let pricing: GraphqlClient;
/** Bound to WEB, with prices:write: a storefront's own price manager. */
let webPricing: GraphqlClient;

const SKUS = ['S-1', 'S-2', 'S-3', 'S-4', 'S-5', 'S-6'];

beforeAll(async () => {
  fx = await startCatalogGateway('prices');
  await fx.erp(upsertLocations, { input: LOCATIONS });
  await fx.erp(upsertChannels, { input: [...CHANNELS, { code: 'US-WEB', name: 'US shop', kind: 'WEB_STOREFRONT', currency: 'USD', region: 'US', locationCodes: ['L-2'] }] });
  await fx.erp(upsertProducts, { input: [{ code: 'P-1', title: 'Tee' }] });
  await fx.erp(upsertSkus, { input: SKUS.map((code) => ({ code, productCode: 'P-1', title: code })) });
  await bindStorefront(fx);
  pricing = graphqlClient(fx.gateway.url, await createKey(fx.app, 'price-feed', ['catalog:read', 'prices:write']));
  webPricing = graphqlClient(fx.gateway.url, await createKey(fx.app, 'web-prices', ['catalog:read', 'prices:write'], ['WEB']));
});

afterAll(() => fx?.close());

let keySequence = 0;
const nextKey = () => `price-key-${keySequence++}`;

function batch(result: SetPricesView | undefined): PriceItemView[] {
  if (result?.__typename !== 'PriceBatchResult') throw new Error(`expected PriceBatchResult, got ${JSON.stringify(result)}`);
  return result.items;
}

async function createLists(input: unknown[]): Promise<void> {
  const response = await pricing(upsertPriceLists, { input });
  expect(response.data?.upsertPriceLists.__typename).toBe('PriceListBatchResult');
}

describe('price lists', () => {
  it('creates a list with defaults, leaves it alone when nothing changes, and bumps the version on a change', async () => {
    const created = await pricing(upsertPriceLists, { input: [{ code: 'LIST-A', name: 'List A', currency: 'EUR' }] });
    expect(created.data?.upsertPriceLists).toMatchObject({
      replayed: false,
      items: [{ outcome: 'CREATED', priceList: { code: 'LIST-A', currency: 'EUR', channelCode: null, region: null, priority: 0, taxMode: 'GROSS', version: 1, archived: false } }],
    });
    const same = await pricing(upsertPriceLists, { input: [{ code: 'LIST-A', name: 'List A' }] });
    expect(same.data?.upsertPriceLists).toMatchObject({ items: [{ outcome: 'UNCHANGED', priceList: { version: 1 } }] });
    const changed = await pricing(upsertPriceLists, { input: [{ code: 'LIST-A', priority: 5, taxMode: 'NET', channelCode: 'WEB', effectiveFrom: '2030-01-01T00:00:00Z' }] });
    expect(changed.data?.upsertPriceLists).toMatchObject({ items: [{ outcome: 'UPDATED', priceList: { priority: 5, taxMode: 'NET', channelCode: 'WEB', effectiveFrom: '2030-01-01T00:00:00.000Z', version: 2 } }] });
  });

  it('keeps fields left out and clears the scope fields sent as null', async () => {
    await createLists([{ code: 'LIST-B', name: 'List B', currency: 'EUR', channelCode: 'POS', region: 'EU', effectiveUntil: '2031-01-01T00:00:00Z' }]);
    const cleared = await pricing(upsertPriceLists, { input: [{ code: 'LIST-B', channelCode: null, effectiveUntil: null }] });
    expect(cleared.data?.upsertPriceLists).toMatchObject({ items: [{ outcome: 'UPDATED', priceList: { name: 'List B', channelCode: null, region: 'EU', effectiveUntil: null, version: 2 } }] });
  });

  it('refuses to change a list currency: its amounts are minor units of it', async () => {
    await createLists([{ code: 'LIST-C', name: 'List C', currency: 'EUR' }]);
    const response = await pricing(upsertPriceLists, { input: [{ code: 'LIST-C', currency: 'JPY' }] });
    expect(response.data?.upsertPriceLists).toMatchObject({ __typename: 'InvalidInputError', issues: [{ index: 0, path: ['currency'], code: 'CONFLICT' }] });
    expect((await pricing(priceListByCode, { code: 'LIST-C' })).data?.priceList).toMatchObject({ currency: 'EUR', version: 1 });
  });

  it('archives a list (hidden by default, still readable by code) and restores it on upsert', async () => {
    await createLists([{ code: 'LIST-D', name: 'List D', currency: 'EUR' }]);
    const archived = await pricing(archivePriceLists, { codes: ['LIST-D'] });
    expect(archived.data?.archivePriceLists).toMatchObject({ items: [{ outcome: 'UPDATED', priceList: { archived: true, version: 2 } }] });
    expect((await pricing(allPriceLists, {})).data?.priceLists.map((list) => list.code)).not.toContain('LIST-D');
    expect((await pricing(allPriceLists, { includeArchived: true })).data?.priceLists.map((list) => list.code)).toContain('LIST-D');
    const restored = await pricing(upsertPriceLists, { input: [{ code: 'LIST-D' }] });
    expect(restored.data?.upsertPriceLists).toMatchObject({ items: [{ outcome: 'UPDATED', priceList: { archived: false, version: 3 } }] });
  });

  it('lists price lists ordered by code', async () => {
    const codes = (await pricing(allPriceLists, {})).data!.priceLists.map((list) => list.code);
    expect(codes).toEqual([...codes].sort());
  });

  it('requires prices:write to write, and catalog:read to read', async () => {
    for (const client of [fx.analyst, fx.erp]) {
      const response = await client(upsertPriceLists, { input: [{ code: 'LIST-NOPE', name: 'x', currency: 'EUR' }] });
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'prices:write' });
      const prices = await client(setPrices, { priceList: 'LIST-A', items: [{ sku: 'S-1', amount: 1 }], key: nextKey() });
      expect(prices.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'prices:write' });
    }
    const writeOnly = graphqlClient(fx.gateway.url, await createKey(fx.app, 'write-only', ['prices:write']));
    expect((await writeOnly(allPriceLists, {})).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'catalog:read' });
    expect((await pricing(priceListByCode, { code: 'LIST-NOPE' })).data?.priceList).toBeNull();
  });
});

describe('channel-bound keys and price lists', () => {
  beforeAll(async () => {
    await createLists([
      { code: 'BOUND-GLOBAL', name: 'Global', currency: 'EUR' },
      { code: 'BOUND-POS', name: 'POS only', currency: 'EUR', channelCode: 'POS' },
      { code: 'BOUND-WEB', name: 'WEB only', currency: 'EUR', channelCode: 'WEB' },
    ]);
  });

  it('lets a key bound to WEB write lists scoped to WEB only', async () => {
    const own = await webPricing(upsertPriceLists, { input: [{ code: 'BOUND-WEB', priority: 3 }] });
    expect(own.data?.upsertPriceLists).toMatchObject({ items: [{ outcome: 'UPDATED' }] });
    expect((await webPricing(setPrices, { priceList: 'BOUND-WEB', items: [{ sku: 'S-1', amount: 10 }], key: nextKey() })).data?.setPrices.__typename).toBe('PriceBatchResult');
    for (const [priceList, input] of [
      ['BOUND-GLOBAL', { code: 'BOUND-GLOBAL', priority: 3 }],
      ['BOUND-POS', { code: 'BOUND-POS', priority: 3 }],
      ['BOUND-WEB', { code: 'BOUND-WEB', channelCode: 'POS' }],
      ['BOUND-NEW', { code: 'BOUND-NEW', name: 'x', currency: 'EUR' }],
    ] as const) {
      const upsert = await webPricing(upsertPriceLists, { input: [input] });
      expect(upsert.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      if (priceList !== 'BOUND-NEW' && priceList !== 'BOUND-WEB') {
        const prices = await webPricing(setPrices, { priceList, items: [{ sku: 'S-1', amount: 10 }], key: nextKey() });
        expect(prices.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
    }
    expect((await pricing(priceListByCode, { code: 'BOUND-POS' })).data?.priceList).toMatchObject({ priority: 0, version: 1 });
    expect((await pricing(priceListByCode, { code: 'BOUND-NEW' })).data?.priceList).toBeNull();
    expect((await pricing(priceOf, { priceList: 'BOUND-POS', sku: 'S-1' })).data?.price).toBeNull();
  });

  it('hides lists scoped to other channels from a bound key', async () => {
    const codes = (await fx.storefront(allPriceLists, {})).data!.priceLists.map((list) => list.code);
    expect(codes).toContain('BOUND-GLOBAL');
    expect(codes).toContain('BOUND-WEB');
    expect(codes).not.toContain('BOUND-POS');
    expect((await fx.storefront(priceListByCode, { code: 'BOUND-POS' })).data?.priceList).toBeNull();
  });
});

describe('setPrices', () => {
  beforeAll(async () => {
    await createLists([
      { code: 'SET', name: 'Set', currency: 'EUR', taxMode: 'NET' },
      { code: 'CAS', name: 'Compare and set', currency: 'EUR' },
    ]);
  });

  it('reports CREATED, UPDATED and UNCHANGED per item, with the price and the history entry it wrote', async () => {
    const created = batch((await pricing(setPrices, { priceList: 'SET', items: [{ sku: 'S-1', amount: 1999, compareAtAmount: 2499 }, { sku: 'S-2', amount: 500 }], key: nextKey() })).data?.setPrices);
    expect(created).toMatchObject([
      { index: 0, outcome: 'CREATED', price: { priceListCode: 'SET', sku: 'S-1', amount: 1999, compareAtAmount: 2499, currency: 'EUR', taxMode: 'NET', version: 1 }, change: { before: null, after: { amount: 1999, compareAtAmount: 2499, version: 1 }, apiKey: 'price-feed' }, error: null },
      { index: 1, outcome: 'CREATED', price: { sku: 'S-2', amount: 500, compareAtAmount: null, version: 1 } },
    ]);
    const next = batch((await pricing(setPrices, { priceList: 'SET', items: [{ sku: 'S-1', amount: 1999, compareAtAmount: 2499 }, { sku: 'S-2', amount: 450, compareAtAmount: 500 }], key: nextKey() })).data?.setPrices);
    expect(next).toMatchObject([
      { outcome: 'UNCHANGED', price: { version: 1 }, change: null, error: null },
      { outcome: 'UPDATED', price: { amount: 450, compareAtAmount: 500, version: 2 }, change: { before: { amount: 500, compareAtAmount: null, version: 1 }, after: { amount: 450, compareAtAmount: 500, version: 2 } } },
    ]);
    // The whole price is written: leaving compareAtAmount out removes it.
    const cleared = batch((await pricing(setPrices, { priceList: 'SET', items: [{ sku: 'S-2', amount: 450 }], key: nextKey() })).data?.setPrices);
    expect(cleared).toMatchObject([{ outcome: 'UPDATED', price: { compareAtAmount: null, version: 3 } }]);
    expect((await fx.analyst(priceOf, { priceList: 'SET', sku: 'S-2' })).data?.price).toMatchObject({ amount: 450, version: 3, priceList: { code: 'SET', currency: 'EUR' } });
  });

  it('carries amounts beyond 32 bits exactly', async () => {
    const items = batch((await pricing(setPrices, { priceList: 'SET', items: [{ sku: 'S-3', amount: 999_999_999_999, compareAtAmount: 1_000_000_000_000 }], key: nextKey() })).data?.setPrices);
    expect(items[0]?.price).toMatchObject({ amount: 999_999_999_999, compareAtAmount: 1_000_000_000_000 });
    expect((await pricing(priceOf, { priceList: 'SET', sku: 'S-3' })).data?.price?.amount).toBe(999_999_999_999);
  });

  it('rejects only the stale item of a batch, with the current version and amount, and applies the rest', async () => {
    batch((await pricing(setPrices, { priceList: 'CAS', items: [{ sku: 'S-1', amount: 100 }, { sku: 'S-2', amount: 200 }], key: nextKey() })).data?.setPrices);
    const items = batch(
      (await pricing(setPrices, {
        priceList: 'CAS',
        items: [
          { sku: 'S-1', amount: 110, compareVersion: 1 },
          { sku: 'S-2', amount: 210, compareVersion: 7 },
          { sku: 'S-3', amount: 310, compareVersion: 0 },
          { sku: 'S-4', amount: 410, compareVersion: 3 },
        ],
        key: nextKey(),
      })).data?.setPrices,
    );
    expect(items).toMatchObject([
      { outcome: 'UPDATED', price: { amount: 110, version: 2 } },
      { outcome: 'REJECTED', price: { amount: 200, version: 1 }, change: null, error: { __typename: 'StalePriceError', sku: 'S-2', expectedVersion: 7, currentVersion: 1, currentAmount: 200 } },
      { outcome: 'CREATED', price: { amount: 310, version: 1 } },
      { outcome: 'REJECTED', price: null, error: { sku: 'S-4', expectedVersion: 3, currentVersion: 0, currentAmount: null } },
    ]);
    const exists = batch((await pricing(setPrices, { priceList: 'CAS', items: [{ sku: 'S-3', amount: 1, compareVersion: 0 }], key: nextKey() })).data?.setPrices);
    expect(exists[0]).toMatchObject({ outcome: 'REJECTED', error: { expectedVersion: 0, currentVersion: 1, currentAmount: 310 } });
    expect((await pricing(priceOf, { priceList: 'CAS', sku: 'S-2' })).data?.price).toMatchObject({ amount: 200, version: 1 });
  });

  it('lets exactly one of N parallel writers with the same compareVersion win; the others learn the current version', async () => {
    const writers = 12;
    const before = (await pricing(priceOf, { priceList: 'CAS', sku: 'S-1' })).data!.price!;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, w) => pricing(setPrices, { priceList: 'CAS', items: [{ sku: 'S-1', amount: 5000 + w, compareVersion: before.version }], key: nextKey() })),
    );
    const items = results.map((response) => batch(response.data?.setPrices)[0]!);
    const winners = items.filter((item) => item.outcome === 'UPDATED');
    expect(winners).toHaveLength(1);
    const losers = items.filter((item) => item.outcome === 'REJECTED');
    expect(losers).toHaveLength(writers - 1);
    for (const loser of losers) {
      expect(loser.error).toMatchObject({ expectedVersion: before.version, currentVersion: before.version + 1, currentAmount: winners[0]!.price!.amount });
    }
    expect((await pricing(priceOf, { priceList: 'CAS', sku: 'S-1' })).data?.price).toMatchObject({ amount: winners[0]!.price!.amount, version: before.version + 1 });
    const history = (await pricing(priceHistory, { priceList: 'CAS', sku: 'S-1' })).data!.priceHistory;
    expect(history.totalCount).toBe(before.version + 1);
  });

  it('replays a retried request without writing again, and refuses the key for other input', async () => {
    const key = nextKey();
    const variables = { priceList: 'CAS', items: [{ sku: 'S-5', amount: 700, compareVersion: 0 }], key };
    const first = await pricing(setPrices, variables);
    const replay = await pricing(setPrices, variables);
    expect(batch(first.data?.setPrices)[0]).toMatchObject({ outcome: 'CREATED' });
    // The replay repeats the first answer; a new evaluation would have said REJECTED (version 0 expected).
    expect(replay.data?.setPrices).toEqual({ ...first.data?.setPrices, replayed: true });
    const reused = await pricing(setPrices, { ...variables, items: [{ sku: 'S-5', amount: 701 }] });
    expect(reused.data?.setPrices).toMatchObject({ __typename: 'IdempotencyKeyReusedError', errorCode: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await pricing(priceOf, { priceList: 'CAS', sku: 'S-5' })).data?.price).toMatchObject({ amount: 700, version: 1 });
    expect((await pricing(priceHistory, { priceList: 'CAS', sku: 'S-5' })).data?.priceHistory.totalCount).toBe(1);
  });

  it('applies a key used again after its retention as a new request, even with the same input', async () => {
    await fx.erp(upsertSkus, { input: [{ code: 'S-7', productCode: 'P-1', title: 'S-7' }] });
    const daily = { priceList: 'CAS', items: [{ sku: 'S-7', amount: 1500 }], key: 'daily-price-feed' };
    expect(batch((await pricing(setPrices, daily)).data?.setPrices)[0]).toMatchObject({ outcome: 'CREATED', price: { amount: 1500, version: 1 } });
    batch((await pricing(setPrices, { priceList: 'CAS', items: [{ sku: 'S-7', amount: 1700 }], key: nextKey() })).data?.setPrices);
    await expireIdempotencyKey(fx, 'daily-price-feed');
    // The next day's feed sets the price again; it must not be taken for the first day's, already applied.
    const nextDay = await pricing(setPrices, daily);
    expect(nextDay.data?.setPrices).toMatchObject({ replayed: false, items: [{ outcome: 'UPDATED', price: { amount: 1500, version: 3 }, change: { before: { amount: 1700 } } }] });
    expect((await pricing(priceHistory, { priceList: 'CAS', sku: 'S-7' })).data?.priceHistory.totalCount).toBe(3);
  });

  it('applies once when the same request races itself', async () => {
    const variables = { priceList: 'CAS', items: [{ sku: 'S-4', amount: 800 }], key: nextKey() };
    const results = await Promise.all(Array.from({ length: 8 }, () => pricing(setPrices, variables)));
    const typenames = results.map((response) => response.data?.setPrices.__typename);
    expect(typenames.every((name) => name === 'PriceBatchResult' || name === 'IdempotencyKeyInProgressError')).toBe(true);
    expect((await pricing(priceHistory, { priceList: 'CAS', sku: 'S-4' })).data?.priceHistory.totalCount).toBe(1);
  });
});

describe('price history', () => {
  beforeAll(async () => {
    await createLists([{ code: 'HIST', name: 'History', currency: 'EUR' }]);
    for (const amount of [100, 200, 200, 300, 400]) {
      batch((await pricing(setPrices, { priceList: 'HIST', items: [{ sku: 'S-1', amount }], key: `hist-${amount}-${nextKey()}` })).data?.setPrices);
    }
  });

  it('lists every applied change newest first, and none for a write that changed nothing', async () => {
    const history = (await fx.analyst(priceHistory, { priceList: 'HIST', sku: 'S-1' })).data!.priceHistory;
    expect(history.totalCount).toBe(4);
    expect(history.edges.map((edge) => [edge.node.before?.amount ?? null, edge.node.after.amount, edge.node.after.version])).toEqual([
      [300, 400, 4],
      [200, 300, 3],
      [100, 200, 2],
      [null, 100, 1],
    ]);
    expect(history.edges[0]!.node).toMatchObject({ priceListCode: 'HIST', sku: 'S-1', apiKey: 'price-feed', idempotencyKey: expect.stringMatching(/^hist-400-/) });
  });

  it('pages with cursors', async () => {
    const first = (await fx.analyst(priceHistory, { priceList: 'HIST', sku: 'S-1', first: 3 })).data!.priceHistory;
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = (await fx.analyst(priceHistory, { priceList: 'HIST', sku: 'S-1', first: 3, after: first.pageInfo.endCursor })).data!.priceHistory;
    expect(second.edges.map((edge) => edge.node.after.version)).toEqual([1]);
    expect(second.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const bad = await fx.analyst(priceHistory, { priceList: 'HIST', sku: 'S-1', after: 'not-a-cursor' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('pages through a list of prices by SKU code', async () => {
    const page = (await fx.analyst(pricesPage, { priceList: 'SET', first: 2 })).data!.prices;
    expect(page.edges.map((edge) => edge.node.sku)).toEqual(['S-1', 'S-2']);
    const rest = (await fx.analyst(pricesPage, { priceList: 'SET', first: 2, after: page.pageInfo.endCursor })).data!.prices;
    expect(rest.edges.map((edge) => edge.node.sku)).toEqual(['S-3']);
    expect(rest.totalCount).toBe(3);
  });
});

describe('priceAt', () => {
  const AT = '2030-06-15T12:00:00.000Z';

  beforeAll(async () => {
    await createLists([
      { code: 'PA-BASE', name: 'Base', currency: 'EUR', priority: 100 },
      { code: 'PA-EU', name: 'EU', currency: 'EUR', region: 'EU' },
      { code: 'PA-WEB', name: 'Web', currency: 'EUR', channelCode: 'WEB', taxMode: 'NET' },
      { code: 'PA-WEB-EU', name: 'Web EU', currency: 'EUR', channelCode: 'WEB', region: 'EU', priority: -5 },
      { code: 'PA-POS', name: 'POS', currency: 'EUR', channelCode: 'POS' },
      { code: 'PA-US', name: 'US', currency: 'USD', region: 'US' },
      { code: 'PA-SUMMER', name: 'Summer sale', currency: 'EUR', effectiveFrom: '2030-06-01T00:00:00Z', effectiveUntil: '2030-07-01T00:00:00Z' },
      { code: 'PA-SPRING', name: 'Spring sale', currency: 'EUR', effectiveFrom: '2030-03-01T00:00:00Z', effectiveUntil: '2030-04-01T00:00:00Z' },
      { code: 'PA-WINTER', name: 'Winter sale', currency: 'EUR', effectiveFrom: '2030-12-01T00:00:00Z' },
      { code: 'PA-OLD', name: 'Retired', currency: 'EUR', channelCode: 'WEB', region: 'EU', priority: 1000 },
    ]);
    await pricing(archivePriceLists, { codes: ['PA-OLD'] });
    for (const [priceList, amount] of [
      ['PA-BASE', 1000], ['PA-EU', 1100], ['PA-WEB', 1200], ['PA-WEB-EU', 1300], ['PA-POS', 1400],
      ['PA-US', 1500], ['PA-SUMMER', 800], ['PA-SPRING', 700], ['PA-WINTER', 600], ['PA-OLD', 100],
    ] as const) {
      batch((await pricing(setPrices, { priceList, items: [{ sku: 'S-6', amount }], key: nextKey() })).data?.setPrices);
    }
  });

  const reasons = (candidates: { priceList: { code: string }; reason: string; outrankedBy: string | null }[]) => candidates.map((c) => [c.priceList.code, c.reason, c.outrankedBy]);

  it('picks a dated list over any undated one, and explains every candidate', async () => {
    const resolution = (await fx.analyst(priceAt, { sku: 'S-6', channel: 'WEB', at: AT })).data!.priceAt;
    expect(resolution).toMatchObject({ sku: 'S-6', channelCode: 'WEB', region: 'EU', currency: 'EUR', at: AT, price: { priceList: { code: 'PA-SUMMER' }, amount: 800, currency: 'EUR', taxMode: 'GROSS' } });
    expect(reasons(resolution.candidates)).toEqual([
      ['PA-SUMMER', 'SELECTED', null],
      ['PA-WEB-EU', 'OUTRANKED', 'DATED'],
      ['PA-WEB', 'OUTRANKED', 'DATED'],
      ['PA-EU', 'OUTRANKED', 'DATED'],
      ['PA-BASE', 'OUTRANKED', 'DATED'],
      ['PA-OLD', 'ARCHIVED', null],
      ['PA-POS', 'OTHER_CHANNEL', null],
      ['PA-SPRING', 'EXPIRED', null],
      ['PA-US', 'CURRENCY_MISMATCH', null],
      ['PA-WINTER', 'NOT_YET_EFFECTIVE', null],
    ]);
  });

  it('ranks undated lists by scope, then priority', async () => {
    const resolution = (await fx.analyst(priceAt, { sku: 'S-6', channel: 'WEB', at: '2030-05-01T00:00:00Z' })).data!.priceAt;
    expect(resolution.price).toMatchObject({ priceList: { code: 'PA-WEB-EU' }, amount: 1300 });
    expect(reasons(resolution.candidates).slice(0, 4)).toEqual([
      ['PA-WEB-EU', 'SELECTED', null],
      ['PA-WEB', 'OUTRANKED', 'SCOPE'],
      ['PA-EU', 'OUTRANKED', 'SCOPE'],
      ['PA-BASE', 'OUTRANKED', 'SCOPE'],
    ]);
  });

  it('treats effectiveUntil as exclusive and effectiveFrom as inclusive', async () => {
    expect((await fx.analyst(priceAt, { sku: 'S-6', channel: 'POS', at: '2030-07-01T00:00:00Z' })).data!.priceAt.price?.priceList.code).toBe('PA-POS');
    expect((await fx.analyst(priceAt, { sku: 'S-6', channel: 'POS', at: '2030-06-30T23:59:59.999Z' })).data!.priceAt.price?.priceList.code).toBe('PA-SUMMER');
    expect((await fx.analyst(priceAt, { sku: 'S-6', channel: 'POS', at: '2030-12-01T00:00:00Z' })).data!.priceAt.price?.priceList.code).toBe('PA-WINTER');
  });

  it('uses the channel currency and region, or the region asked for', async () => {
    const us = (await fx.analyst(priceAt, { sku: 'S-6', channel: 'US-WEB', at: AT })).data!.priceAt;
    expect(us).toMatchObject({ region: 'US', currency: 'USD', price: { priceList: { code: 'PA-US' }, amount: 1500, currency: 'USD' } });
    const posInUs = (await fx.analyst(priceAt, { sku: 'S-6', channel: 'POS', region: 'US', at: '2030-05-01T00:00:00Z' })).data!.priceAt;
    expect(posInUs.price?.priceList.code).toBe('PA-POS');
    expect(reasons(posInUs.candidates)).toContainEqual(['PA-EU', 'OTHER_REGION', null]);
  });

  it('defaults `at` to now, and answers a null price when no list applies', async () => {
    const now = (await fx.analyst(priceAt, { sku: 'S-6', channel: 'WEB' })).data!.priceAt;
    expect(Math.abs(Date.parse(now.at) - Date.now())).toBeLessThan(60_000);
    const none = (await fx.analyst(priceAt, { sku: 'S-4', channel: 'US-WEB', at: AT })).data!.priceAt;
    expect(none.price).toBeNull();
    expect(none.candidates.every((candidate) => candidate.reason === 'CURRENCY_MISMATCH')).toBe(true);
  });

  it('answers FORBIDDEN to a key bound to another channel, and hides other channels’ lists from a bound key', async () => {
    const forbidden = await fx.storefront(priceAt, { sku: 'S-6', channel: 'POS', at: AT });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = (await fx.storefront(priceAt, { sku: 'S-6', channel: 'WEB', at: AT })).data!.priceAt;
    expect(own.price?.priceList.code).toBe('PA-SUMMER');
    expect(own.candidates.map((candidate) => candidate.priceList.code)).not.toContain('PA-POS');
    const unknown = await fx.analyst(priceAt, { sku: 'S-6', channel: 'NOPE', at: AT });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
