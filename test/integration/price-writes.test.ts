import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.js';
import type { Caller } from '../../src/domain/access/access.types.js';
import { isErrorResult } from '../../src/domain/common/errors.js';
import { IdempotencyService } from '../../src/domain/common/idempotency.service.js';
import type { RequestContext } from '../../src/domain/common/request-context.js';
import { PriceService } from '../../src/domain/pricing/price.service.js';
import type { PriceBatchOutcome, PriceItemOutcomeRecord } from '../../src/domain/pricing/pricing.types.js';
import type { Repositories } from '../../src/store/repositories/index.js';
import type { PriceHistoryRepository } from '../../src/store/repositories/price-history.repository.js';
import type { PriceRepository } from '../../src/store/repositories/price.repository.js';
import { deferred } from '../utils/deferred.js';
import { openTestApp, uniqueDbName } from '../utils/test-store.js';

let app: App;
let repositories: Repositories;

const SKUS = Array.from({ length: 8 }, (_, i) => `S-${i}`);
const CALLER: Caller = { keyId: 'erp-key', name: 'erp', scopes: ['catalog:read', 'prices:write'], channels: [] };

beforeAll(async () => {
  app = await openTestApp(uniqueDbName('price_writes'));
  repositories = app.store.repositories;
  const ctx = app.systemContext();
  await app.services.products.upsert(ctx, [{ code: 'P-1', title: 'Tee' }], null);
  await app.services.skus.upsert(ctx, SKUS.map((code) => ({ code, productCode: 'P-1', title: code })), null);
});

afterAll(() => app?.close());

const contextFor = (): RequestContext => ({ ...app.systemContext(), caller: CALLER, now: new Date() });

/** A service over the given price repositories whose idempotency keys are abandoned at once (lease 0). */
function serviceOver(prices: PriceRepository, history: PriceHistoryRepository): PriceService {
  const idempotency = new IdempotencyService(repositories.idempotency, { retentionMs: 86_400_000, leaseMs: 0 });
  return new PriceService(prices, history, repositories.priceLists, repositories.skus, repositories.channels, idempotency, repositories.changeLog);
}

/**
 * The price repositories of a process that dies after its `writesBeforeDeath`-th price write: that write lands,
 * and from then on no call ever returns, as if the process were killed.
 */
function dyingAfter(writesBeforeDeath: number) {
  let writes = 0;
  let dead = false;
  const died = deferred<void>();
  const never = new Promise<never>(() => {});
  const wrap = <T extends object>(target: T, isWrite: (name: string) => boolean): T =>
    new Proxy(target, {
      get(object, name, receiver) {
        const value = Reflect.get(object, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (dead) return never;
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
          if (isWrite(String(name)) && result === true && ++writes === writesBeforeDeath) {
            dead = true;
            died.resolve();
            return never;
          }
          return result;
        };
      },
    });
  return {
    prices: wrap(repositories.prices, (name) => name === 'insert' || name === 'apply'),
    history: wrap(repositories.priceHistory, () => false),
    died: died.promise,
  };
}

const batchOf = (result: Awaited<ReturnType<PriceService['set']>>): PriceBatchOutcome => {
  if (isErrorResult(result)) throw new Error(`expected a batch, got ${result.errorCode}: ${result.message}`);
  return result;
};

let listSequence = 0;

async function freshList(): Promise<string> {
  const code = `PL-${listSequence++}`;
  const result = await app.services.priceLists.upsert(app.systemContext(), [{ code, name: code, currency: 'EUR' }], null);
  expect(isErrorResult(result)).toBe(false);
  return code;
}

/** Prices 0..3 versions deep for some SKUs, so items meet CREATED and UPDATED cases. */
async function seed(list: string, depths: readonly number[]): Promise<void> {
  for (let round = 1; round <= Math.max(0, ...depths); round++) {
    const items = SKUS.flatMap((sku, i) => ((depths[i] ?? 0) >= round ? [{ sku, amount: 100 * round }] : []));
    batchOf(await app.services.prices.set(contextFor(), list, items, `seed-${list}-${round}`));
  }
}

type Compare = 'none' | 'current' | 'stale';
const itemArbitrary = fc.record({ amount: fc.integer({ min: 0, max: 10 }).map((n) => 1000 + n), compare: fc.constantFrom<Compare>('none', 'current', 'stale') });

describe('setPrices on the real store', () => {
  it('applies each item exactly once when a request dies mid-batch and is retried', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: SKUS.length, maxLength: SKUS.length }),
        fc.uniqueArray(fc.integer({ min: 0, max: SKUS.length - 1 }), { minLength: 1, maxLength: SKUS.length }).chain((indexes) =>
          fc.tuple(fc.constant(indexes), fc.array(itemArbitrary, { minLength: indexes.length, maxLength: indexes.length }), fc.nat()),
        ),
        async (depths, [indexes, specs, deathSeed]) => {
          const list = await freshList();
          await seed(list, depths);
          const items = indexes.map((skuIndex, i) => {
            const depth = depths[skuIndex]!;
            const { amount, compare } = specs[i]!;
            return { sku: SKUS[skuIndex]!, amount, compareVersion: compare === 'none' ? null : compare === 'current' ? depth : depth + 1 };
          });
          const key = `batch-${list}`;

          // The first attempt dies after one of the writes it makes (the relay has not written its history entry).
          const writes = items.filter((item, i) => item.compareVersion !== depths[indexes[i]!]! + 1).length;
          if (writes > 0) {
            const dying = dyingAfter(1 + (deathSeed % writes));
            void serviceOver(dying.prices, dying.history).set(contextFor(), list, items, key);
            await dying.died;
          }

          // A retry with the same key takes the abandoned request over and completes it.
          const retried = batchOf(await serviceOver(repositories.prices, repositories.priceHistory).set(contextFor(), list, items, key));
          expect(retried.replayed).toBe(false);

          for (const [i, item] of items.entries()) {
            const depth = depths[indexes[i]!]!;
            const result = retried.items[i]!;
            const stored = await repositories.prices.findByKey(`${list}:${item.sku}`);
            const history = await app.services.prices.historyOf(contextFor(), list, item.sku, 50, null);
            expect(history.items.map((change) => change.after.version)).toEqual(Array.from({ length: stored?.version ?? 0 }, (_, v) => (stored?.version ?? 0) - v));
            if (item.compareVersion === depth + 1) {
              // A stale compare stays stale, whether or not the first attempt got to it.
              expect(result).toMatchObject({ outcome: 'REJECTED', error: { errorType: 'StalePriceError', currentVersion: depth } });
              expect(stored?.version ?? 0).toBe(depth);
            } else if (depth > 0 && item.amount === 100 * depth) {
              expect(result.outcome).toBe('UNCHANGED');
              expect(stored!.version).toBe(depth);
            } else {
              // Applied once: by the dead attempt or by the retry, never by both, and never stale against itself.
              expect(result).toMatchObject({ outcome: depth === 0 ? 'CREATED' : 'UPDATED', price: { amount: item.amount, version: depth + 1 } });
              expect(stored).toMatchObject({ amount: item.amount, version: depth + 1 });
              expect(history.items[0]).toMatchObject({ id: result.change!.id, before: depth === 0 ? null : { version: depth }, after: { amount: item.amount, version: depth + 1 }, idempotencyKey: key });
            }
          }

          // Once complete, the key replays the retry's result.
          const replay = batchOf(await serviceOver(repositories.prices, repositories.priceHistory).set(contextFor(), list, items, key));
          expect(replay).toEqual({ ...retried, replayed: true });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('lets exactly one of N concurrent writers with the same compareVersion win', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 0, max: 2 }), async (writers, depth) => {
        const list = await freshList();
        await seed(list, [depth]);
        const results = await Promise.all(
          Array.from({ length: writers }, (_, w) => app.services.prices.set(contextFor(), list, [{ sku: 'S-0', amount: 5000 + w, compareVersion: depth }], `race-${list}-${w}`)),
        );
        const items: PriceItemOutcomeRecord[] = results.map((result) => batchOf(result).items[0]!);
        const winners = items.filter((item) => item.outcome !== 'REJECTED');
        expect(winners).toHaveLength(1);
        const stored = await repositories.prices.findByKey(`${list}:S-0`);
        expect(stored).toMatchObject({ amount: winners[0]!.price!.amount, version: depth + 1 });
        for (const loser of items.filter((item) => item.outcome === 'REJECTED')) {
          expect(loser.error).toMatchObject({ expectedVersion: depth, currentVersion: depth + 1, currentAmount: stored!.amount });
        }
        const history = await app.services.prices.historyOf(contextFor(), list, 'S-0', 50, null);
        expect(history.items).toHaveLength(depth + 1);
      }),
      { numRuns: 15 },
    );
  });

  it('counts every unconditional concurrent write: the version grows by the number of changes', async () => {
    const list = await freshList();
    const results = await Promise.all(Array.from({ length: 16 }, (_, w) => app.services.prices.set(contextFor(), list, [{ sku: 'S-1', amount: 7000 + w }], `free-${w}`)));
    const items = results.map((result) => batchOf(result).items[0]!);
    expect(items.filter((item) => item.outcome === 'CREATED')).toHaveLength(1);
    expect(items.filter((item) => item.outcome === 'UPDATED')).toHaveLength(15);
    expect(new Set(items.map((item) => item.price!.version)).size).toBe(16);
    const stored = await repositories.prices.findByKey(`${list}:S-1`);
    expect(stored?.version).toBe(16);
    const history = await app.services.prices.historyOf(contextFor(), list, 'S-1', 50, null);
    // Each entry's before is the previous entry's after: no lost update.
    const chain = [...history.items].reverse();
    chain.forEach((change, i) => expect(change.before).toEqual(i === 0 ? null : chain[i - 1]!.after));
  });

  it('keeps a bounded list of recent operations in the price document', async () => {
    const list = await freshList();
    for (let i = 0; i < 20; i++) batchOf(await app.services.prices.set(contextFor(), list, [{ sku: 'S-2', amount: i }], `bounded-${i}`));
    const [stored] = await repositories.prices.findForWrite([`${list}:S-2`]);
    expect(stored!.recentChanges).toHaveLength(16);
    expect(stored!.recentChanges.at(-1)!.after).toEqual({ amount: 19, compareAtAmount: null, version: 20 });
    // An operation that left the document is still known by its history entry: retrying it applies nothing.
    const oldest = await app.services.prices.set(contextFor(), list, [{ sku: 'S-2', amount: 0 }], 'bounded-0');
    expect(batchOf(oldest).replayed).toBe(true);
  });
});
