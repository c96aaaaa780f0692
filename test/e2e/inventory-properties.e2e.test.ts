import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startGatewayProcess } from '../utils/gateway-process.js';
import { settle } from '../utils/settle.js';
import { startGatewayPair, type GatewayPair } from './fixture.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { adjustInventory, inventoryMovements, inventoryPosition, setInventory } from './inventory-operations.js';
import { upsertLocations, upsertProducts, upsertSkus } from './operations.js';

/** A short lease, so a retry takes over from a crashed or slow holder within the test. */
const env = { IDEMPOTENCY_LEASE_MS: '300' };
const SKUS = ['S-0', 'S-1', 'S-2'];

let pair: GatewayPair;
let dbName: string;
let key: string;
let clients: readonly GraphqlClient[] = [];

beforeAll(async () => {
  pair = await startGatewayPair('inventory_properties', ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write'], env);
  ({ dbName, key, clients } = pair);
  const [a] = clients as [GraphqlClient];
  await a(upsertLocations, { input: [{ code: 'L', name: 'DC', kind: 'DISTRIBUTION_CENTER', region: 'EU', timezone: 'UTC', negativeStockPolicy: 'ALLOW' }] });
  await a(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await a(upsertSkus, { input: [...SKUS, 'S-SET'].map((code) => ({ code, productCode: 'P', title: code })) });
});

afterAll(() => pair?.close());

const onHandOf = async (sku: string) => (await clients[0]!(inventoryPosition, { sku, location: 'L' })).data?.inventoryPosition?.onHand ?? 0;
const movementCount = async (sku: string) => (await clients[0]!(inventoryMovements, { sku, location: 'L', first: 0 })).data?.inventoryMovements.totalCount ?? 0;

describe('inventory invariants across two gateway processes', () => {
  it('applies each adjustment item exactly once, whatever the duplicates and retries: onHand = initial + Σ distinct deltas', async () => {
    let round = 0;
    const batch = fc.array(fc.record({ sku: fc.constantFrom(...SKUS), delta: fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0) }), { minLength: 1, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ items: batch, copies: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 6 }), async (batches) => {
        round++;
        const before = Object.fromEntries(await Promise.all(SKUS.map(async (sku) => [sku, { onHand: await onHandOf(sku), movements: await movementCount(sku) }] as const)));
        await Promise.all(
          batches.flatMap(({ items, copies }, b) =>
            Array.from({ length: copies }, (_, copy) =>
              settle(async () => (await clients[(b + copy) % 2]!(adjustInventory, { items: items.map((item) => ({ ...item, location: 'L', reason: 'CORRECTION' })), key: `r${round}-b${b}` })).data?.adjustInventory),
            ),
          ),
        );
        for (const sku of SKUS) {
          const applied = batches.flatMap(({ items }) => items).filter((item) => item.sku === sku);
          expect(await onHandOf(sku)).toBe(before[sku]!.onHand + applied.reduce((sum, item) => sum + item.delta, 0));
          expect(await movementCount(sku)).toBe(before[sku]!.movements + applied.length);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('lets exactly one of N parallel setInventory calls with the same compareOnHand win; the others get the current value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), async (n) => {
        const current = await onHandOf('S-SET');
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) => clients[i % 2]!(setInventory, { items: [{ sku: 'S-SET', location: 'L', onHand: current + i + 1, compareOnHand: current }] })),
        );
        const outcomes = results.map((response) => {
          const result = response.data?.setInventory;
          if (result?.__typename !== 'InventoryBatchResult') throw new Error(JSON.stringify(response));
          return result.items[0]!;
        });
        const winners = outcomes.filter((item) => item.outcome === 'APPLIED');
        expect(winners).toHaveLength(1);
        const final = await onHandOf('S-SET');
        expect(final).toBe(winners[0]!.position!.onHand);
        for (const loser of outcomes.filter((item) => item.outcome !== 'APPLIED')) {
          expect(loser.error).toMatchObject({ __typename: 'StaleInventoryError', expectedOnHand: current });
        }
      }),
      { numRuns: 10 },
    );
  });
});

describe('a gateway killed right after the position write', () => {
  it('loses nothing and applies nothing twice when the client retries elsewhere', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.after-position-write=crash' } });
    const before = await Promise.all(SKUS.map(async (sku) => ({ onHand: await onHandOf(sku), movements: await movementCount(sku) })));
    const items = SKUS.map((sku, i) => ({ sku, location: 'L', delta: i + 1, reason: 'RECEIPT' }));

    await expect(graphqlClient(crashing.url, key)(adjustInventory, { items, key: 'crash-1' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);

    const retried = await settle(async () => (await clients[1]!(adjustInventory, { items, key: 'crash-1' })).data?.adjustInventory);
    expect(retried).toMatchObject({ __typename: 'InventoryBatchResult', items: SKUS.map(() => ({ outcome: 'APPLIED' })) });
    for (const [i, sku] of SKUS.entries()) {
      expect(await onHandOf(sku)).toBe(before[i]!.onHand + i + 1);
      expect(await movementCount(sku)).toBe(before[i]!.movements + 1);
    }
  });
});

describe('a gateway killed right after the position write, and no client ever retrying', () => {
  it('still has the movement: the ledger is written from the change, not by the request', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.after-position-write=crash' } });
    const [, sku] = SKUS as [string, string];
    const before = { onHand: await onHandOf(sku), movements: await movementCount(sku) };

    const items = [{ sku, location: 'L', delta: -2, reason: 'SHRINKAGE', referenceDocument: 'AUDIT-9' }];
    await expect(graphqlClient(crashing.url, key)(adjustInventory, { items, key: 'crash-abandoned' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);

    expect(await onHandOf(sku)).toBe(before.onHand - 2);
    expect(await movementCount(sku)).toBe(before.movements + 1);
    const latest = (await clients[1]!(inventoryMovements, { sku, location: 'L', first: 500 })).data?.inventoryMovements.nodes.filter((movement) => movement.idempotencyKey === 'crash-abandoned');
    expect(latest).toMatchObject([{ delta: -2, reason: 'SHRINKAGE', referenceDocument: 'AUDIT-9', onHandBefore: before.onHand, onHandAfter: before.onHand - 2 }]);
  });
});

describe('a gateway killed right after the position write, then a hundred changes before the retry', () => {
  it('applies nothing twice although the position no longer remembers the operation, and writes its movement once', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.after-position-write=crash' } });
    const [sku] = SKUS as [string];
    const before = { onHand: await onHandOf(sku), movements: await movementCount(sku) };
    const items = [{ sku, location: 'L', delta: -3, reason: 'SALE' }];

    await expect(graphqlClient(crashing.url, key)(adjustInventory, { items, key: 'crash-late' })).rejects.toThrow();
    expect(await crashing.exited()).toBe(137);
    // The position changes a hundred times (its last hundred operations are all it remembers) before the client retries.
    const receipts = Array.from({ length: 100 }, () => ({ sku, location: 'L', delta: 1, reason: 'RECEIPT' }));
    expect((await clients[0]!(adjustInventory, { items: receipts, key: 'crash-late-receipts' })).data?.adjustInventory).toMatchObject({ __typename: 'InventoryBatchResult' });

    const retried = await settle(async () => (await clients[1]!(adjustInventory, { items, key: 'crash-late' })).data?.adjustInventory);
    expect(retried).toMatchObject({ __typename: 'InventoryBatchResult', items: [{ outcome: 'APPLIED', movement: { onHandBefore: before.onHand, onHandAfter: before.onHand - 3 } }] });
    expect(await onHandOf(sku)).toBe(before.onHand - 3 + 100);
    expect(await movementCount(sku)).toBe(before.movements + 1 + 100);
  });
});

describe('a gateway SIGKILLed mid-batch', () => {
  it('loses nothing and applies nothing twice when the client retries elsewhere', async () => {
    // Paused right after its first position write, then killed by the operating system: no handler runs.
    const victim = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.after-position-write=pause' } });
    const before = await Promise.all(SKUS.map(async (sku) => ({ onHand: await onHandOf(sku), movements: await movementCount(sku) })));
    const items = SKUS.map((sku, i) => ({ sku, location: 'L', delta: -(i + 1), reason: 'SALE' }));

    const doomed = graphqlClient(victim.url, key)(adjustInventory, { items, key: 'sigkill-1' });
    await victim.waitForOutput(/"msg":"failpoint paused"/);
    victim.process.kill('SIGKILL');
    await expect(doomed).rejects.toThrow();
    expect(await victim.exited()).toBeNull(); // killed by a signal, not exited

    const retried = await settle(async () => (await clients[0]!(adjustInventory, { items, key: 'sigkill-1' })).data?.adjustInventory);
    expect(retried).toMatchObject({ __typename: 'InventoryBatchResult', items: SKUS.map(() => ({ outcome: 'APPLIED' })) });
    for (const [i, sku] of SKUS.entries()) {
      expect(await onHandOf(sku)).toBe(before[i]!.onHand - (i + 1));
      expect(await movementCount(sku)).toBe(before[i]!.movements + 1);
    }
  });
});
