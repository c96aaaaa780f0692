import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { referencePriceAt, type ModelList } from '../utils/price-reference-model.js';
import { createKey } from '../utils/test-store.js';
import { LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';
import { archivePriceLists, priceAt, setPrices, upsertPriceLists } from './price-operations.js';

/**
 * Property: whatever price lists exist (currency, channel and region scope, validity windows, priority,
 * archived or not), priceAt through the API names the winner and every candidate's reason exactly as the
 * independent reference model (test/utils/price-reference-model.ts) does, at any time, boundaries included.
 */

const RUNS = 50;
const CHANNELS = [
  { code: 'WEB', currency: 'EUR', region: 'EU' },
  { code: 'POS', currency: 'EUR', region: 'EU' },
  { code: 'US', currency: 'USD', region: 'US' },
] as const;
const DAY = 86_400_000;
const EPOCH = Date.UTC(2030, 0, 1);
/** A few instants, so windows share boundaries and `at` lands exactly on them. */
const INSTANTS = [0, 10, 20, 30].map((day) => EPOCH + day * DAY);

let fx: CatalogGateway;
let pricing: GraphqlClient;

beforeAll(async () => {
  fx = await startCatalogGateway('prices_selection');
  await fx.erp(upsertLocations, { input: LOCATIONS });
  await fx.erp(upsertChannels, { input: CHANNELS.map((c) => ({ ...c, name: c.code, kind: 'WEB_STOREFRONT', locationCodes: ['L-1'] })) });
  await fx.erp(upsertProducts, { input: [{ code: 'P-1', title: 'Tee' }] });
  pricing = graphqlClient(fx.gateway.url, await createKey(fx.app, 'price-feed', ['catalog:read', 'prices:write']));
});

afterAll(() => fx?.close());

const anyList = fc
  .record({
    currency: fc.constantFrom('EUR', 'EUR', 'EUR', 'USD'),
    channelCode: fc.constantFrom(null, null, 'WEB', 'WEB', 'POS', 'US'),
    region: fc.constantFrom(null, null, 'EU', 'US'),
    from: fc.option(fc.constantFrom(...INSTANTS), { freq: 2 }),
    until: fc.option(fc.constantFrom(...INSTANTS), { freq: 2 }),
    priority: fc.integer({ min: -1, max: 1 }),
    archived: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
  })
  // The API refuses empty windows (tested elsewhere); keep the lists it accepts.
  .filter(({ from, until }) => from === null || until === null || from < until);

/** Lists that mostly apply to WEB and often tie on date-ness and scope, so priority and code decide. */
const similarList = fc.record({
  currency: fc.constant('EUR'),
  channelCode: fc.constantFrom(null, 'WEB'),
  region: fc.constant(null),
  from: fc.constantFrom(null, INSTANTS[0]!),
  until: fc.constant(null),
  priority: fc.integer({ min: 0, max: 1 }),
  archived: fc.constant(false),
});

const listArbitrary = fc.oneof(anyList, similarList);

/** Sales at random instants and exactly at (or 1 ms before) the generated lists' own boundaries. */
const queriesFor = (specs: readonly { from: number | null; until: number | null }[]) => {
  const boundaries = specs.flatMap((spec) => [spec.from, spec.until]).filter((t): t is number => t !== null);
  const at = boundaries.length > 0 ? fc.oneof(fc.constantFrom(...boundaries).chain((t) => fc.constantFrom(t - 1, t)), fc.constantFrom(...INSTANTS.map((t) => t + DAY / 2))) : fc.constantFrom(...INSTANTS);
  return fc.array(fc.record({ channel: fc.constantFrom(CHANNELS[0], CHANNELS[0], CHANNELS[0], CHANNELS[1], CHANNELS[2]), at, region: fc.option(fc.constantFrom('EU', 'US'), { freq: 4 }) }), { minLength: 1, maxLength: 6 });
};

/** Guards against a vacuous pass: the runs must have met the interesting cases. */
const seen = new Map<string, number>();
const see = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

let run = 0;

describe('priceAt through the API', () => {
  it('matches the reference model over random price lists and dates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(listArbitrary, { maxLength: 10 }).chain((specs) => fc.tuple(fc.constant(specs), queriesFor(specs))), async ([specs, queries]) => {
        const sku = `S-${run}`;
        // Codes are unique per run and sort differently from their creation order.
        const lists: ModelList[] = specs.map((spec, i) => ({
          code: `R${run}-${String.fromCharCode(90 - i)}`,
          currency: spec.currency,
          channelCode: spec.channelCode,
          region: spec.region,
          effectiveFrom: spec.from,
          effectiveUntil: spec.until,
          priority: spec.priority,
          archived: spec.archived,
        }));
        run++;
        // A SKU of its own per run (shrinking adds runs), so earlier runs' prices are never candidates.
        expect((await fx.erp(upsertSkus, { input: [{ code: sku, productCode: 'P-1', title: sku }] })).data?.upsertSkus.__typename).toBe('SkuBatchResult');
        if (lists.length > 0) {
          const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
          const upserted = await pricing(upsertPriceLists, {
            input: lists.map((l) => ({ code: l.code, name: l.code, currency: l.currency, channelCode: l.channelCode, region: l.region, effectiveFrom: iso(l.effectiveFrom), effectiveUntil: iso(l.effectiveUntil), priority: l.priority })),
          });
          expect(upserted.data?.upsertPriceLists.__typename).toBe('PriceListBatchResult');
          const archived = lists.filter((l) => l.archived).map((l) => l.code);
          if (archived.length > 0) expect((await pricing(archivePriceLists, { codes: archived })).data?.archivePriceLists.__typename).toBe('PriceListBatchResult');
          for (const [i, l] of lists.entries()) {
            const set = await pricing(setPrices, { priceList: l.code, items: [{ sku, amount: 100 + i }], key: `${l.code}-${sku}` });
            expect(set.data?.setPrices.__typename).toBe('PriceBatchResult');
          }
        }

        for (const query of queries) {
          const response = await pricing(priceAt, { sku, channel: query.channel.code, region: query.region, at: new Date(query.at).toISOString() });
          const resolution = response.data!.priceAt;
          const expected = referencePriceAt(lists, { channelCode: query.channel.code, currency: query.channel.currency, region: query.region ?? query.channel.region, at: query.at });
          expect(resolution.price?.priceList.code ?? null).toBe(expected.winner);
          if (expected.winner) expect(resolution.price?.amount).toBe(100 + lists.findIndex((l) => l.code === expected.winner));
          expect(resolution.candidates.map((c) => ({ code: c.priceList.code, reason: c.reason, outrankedBy: c.outrankedBy }))).toEqual(expected.verdicts);
          for (const verdict of expected.verdicts) see(verdict.outrankedBy ? `OUTRANKED by ${verdict.outrankedBy}` : verdict.reason);
          if (lists.some((l) => l.effectiveFrom === query.at || l.effectiveUntil === query.at)) see('at on a boundary');
        }
      }),
      { numRuns: RUNS },
    );
    for (const what of ['SELECTED', 'OUTRANKED by DATED', 'OUTRANKED by SCOPE', 'OUTRANKED by PRIORITY', 'OUTRANKED by CODE', 'EXPIRED', 'NOT_YET_EFFECTIVE', 'OTHER_CHANNEL', 'OTHER_REGION', 'CURRENCY_MISMATCH', 'ARCHIVED', 'at on a boundary']) {
      expect(seen.get(what) ?? 0, `runs that met ${what}`).toBeGreaterThanOrEqual(3);
    }
  });
});
