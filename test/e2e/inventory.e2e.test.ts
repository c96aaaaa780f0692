import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey } from '../utils/test-store.js';
import { expireIdempotencyKey, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { adjustInventory, availableToSell, inventoryMovements, inventoryPosition, inventoryPositions, setInventory, type InventoryItemView, type InventoryResult } from './inventory-operations.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';

let fx: CatalogGateway;
let erp: GraphqlClient;
let pos: GraphqlClient;

beforeAll(async () => {
  fx = await startCatalogGateway('inventory');
  const admin = graphqlClient(fx.gateway.url, await createKey(fx.app, 'admin', ['catalog:read', 'catalog:write']));
  await admin(upsertLocations, {
    input: [
      { code: 'L-REJ', name: 'Rejecting store', kind: 'STORE', region: 'EU', timezone: 'Europe/Berlin' },
      { code: 'L-ALLOW', name: 'Allowing DC', kind: 'DISTRIBUTION_CENTER', region: 'EU', timezone: 'Europe/Berlin', negativeStockPolicy: 'ALLOW' },
      { code: 'L-CLAMP', name: 'Clamping store', kind: 'STORE', region: 'EU', timezone: 'Europe/Berlin', negativeStockPolicy: 'CLAMP' },
    ],
  });
  await admin(upsertChannels, {
    input: [
      { code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-REJ', 'L-ALLOW'], inventoryBuffer: 2 },
      { code: 'POS', name: 'Stores', kind: 'POS', currency: 'EUR', region: 'EU', locationCodes: ['L-CLAMP'] },
    ],
  });
  await admin(upsertProducts, { input: [{ code: 'P', title: 'Tee' }] });
  await admin(upsertSkus, { input: ['S-1', 'S-2', 'S-3', 'S-4', 'S-5'].map((code) => ({ code, productCode: 'P', title: code })) });
  erp = graphqlClient(fx.gateway.url, await createKey(fx.app, 'erp', ['catalog:read', 'inventory:read', 'inventory:write']));
  pos = graphqlClient(fx.gateway.url, await createKey(fx.app, 'pos', ['inventory:read', 'inventory:write'], ['POS']));
});

afterAll(() => fx?.close());

function items(result: InventoryResult | undefined): InventoryItemView[] {
  if (!result || result.__typename !== 'InventoryBatchResult') throw new Error(`expected a batch, got ${JSON.stringify(result)}`);
  return result.items;
}

describe('adjustInventory', () => {
  it('creates the position on the first receipt and writes one ledger entry per applied item', async () => {
    const received = items((await erp(adjustInventory, { items: [{ sku: 'S-1', location: 'L-REJ', delta: 10, reason: 'RECEIPT', referenceDocument: 'ASN-1' }], key: 'a-1' })).data?.adjustInventory);
    expect(received[0]).toMatchObject({ outcome: 'APPLIED', position: { onHand: 10, version: 1 }, movement: { delta: 10, onHandBefore: 0, onHandAfter: 10, reason: 'RECEIPT', apiKey: 'erp' } });
    const sold = items((await erp(adjustInventory, { items: [{ sku: 'S-1', location: 'L-REJ', delta: -3, reason: 'SALE', referenceDocument: 'ORDER-7' }], key: 'a-2' })).data?.adjustInventory);
    expect(sold[0]).toMatchObject({ outcome: 'APPLIED', position: { onHand: 7, available: 7, version: 2 } });

    const ledger = (await erp(inventoryMovements, { sku: 'S-1', location: 'L-REJ' })).data?.inventoryMovements;
    expect(ledger?.nodes.map((m) => [m.delta, m.reason, m.referenceDocument, m.idempotencyKey, m.onHandBefore, m.onHandAfter])).toEqual([
      [10, 'RECEIPT', 'ASN-1', 'a-1', 0, 10],
      [-3, 'SALE', 'ORDER-7', 'a-2', 10, 7],
    ]);
  });

  it('replays a repeated request without applying it again', async () => {
    const request = { items: [{ sku: 'S-1', location: 'L-REJ', delta: -1, reason: 'SALE' }], key: 'a-3' };
    const first = (await erp(adjustInventory, request)).data?.adjustInventory;
    const again = await Promise.all([erp(adjustInventory, request), erp(adjustInventory, request)]);
    for (const response of again) expect(response.data?.adjustInventory).toMatchObject({ replayed: true });
    expect(items(first)[0]?.position?.onHand).toBe(6);
    expect((await erp(inventoryPosition, { sku: 'S-1', location: 'L-REJ' })).data?.inventoryPosition?.onHand).toBe(6);
    expect((await erp(inventoryMovements, { sku: 'S-1', location: 'L-REJ' })).data?.inventoryMovements.totalCount).toBe(3);
  });

  it('refuses the same key with other items', async () => {
    const response = await erp(adjustInventory, { items: [{ sku: 'S-1', location: 'L-REJ', delta: -2, reason: 'SALE' }], key: 'a-3' });
    expect(response.data?.adjustInventory).toMatchObject({ errorCode: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it("applies each location's negative-stock policy per item, independently of the other items", async () => {
    const result = items(
      (
        await erp(adjustInventory, {
          items: [
            { sku: 'S-2', location: 'L-REJ', delta: -1, reason: 'SALE' },
            { sku: 'S-2', location: 'L-ALLOW', delta: -5, reason: 'SALE' },
            { sku: 'S-2', location: 'L-CLAMP', delta: 2, reason: 'RECEIPT' },
            { sku: 'S-2', location: 'L-CLAMP', delta: -5, reason: 'SALE' },
            { sku: 'S-2', location: 'L-CLAMP', delta: -1, reason: 'SALE' },
          ],
          key: 'a-4',
        })
      ).data?.adjustInventory,
    );
    expect(result.map((item) => [item.outcome, item.position?.onHand ?? null, item.flags])).toEqual([
      ['REJECTED', null, []],
      ['APPLIED', -5, []],
      ['APPLIED', 2, []],
      ['APPLIED', 0, ['CLAMPED']],
      ['UNCHANGED', 0, ['CLAMPED']],
    ]);
    expect(result[0]?.error).toMatchObject({ __typename: 'NegativeStockError', onHand: 0, delta: -1 });
    expect(result[3]?.movement).toMatchObject({ delta: -2, onHandBefore: 2, onHandAfter: 0 });
    expect(result[4]?.movement).toBeNull();
  });

  it('applies two lines for the same position in one batch in order', async () => {
    const result = items((await erp(adjustInventory, { items: [{ sku: 'S-3', location: 'L-ALLOW', delta: 5, reason: 'RECEIPT' }, { sku: 'S-3', location: 'L-ALLOW', delta: -2, reason: 'SALE' }], key: 'a-5' })).data?.adjustInventory);
    expect(result.map((item) => item.movement?.onHandAfter)).toEqual([5, 3]);
  });

  it('writes nothing for a zero delta', async () => {
    const result = items((await erp(adjustInventory, { items: [{ sku: 'S-3', location: 'L-ALLOW', delta: 0, reason: 'CORRECTION' }], key: 'a-6' })).data?.adjustInventory);
    expect(result[0]).toMatchObject({ outcome: 'UNCHANGED', movement: null });
  });

  it('applies a key used again after its retention as a new request, with a movement of its own', async () => {
    const restock = { items: [{ sku: 'S-5', location: 'L-ALLOW', delta: 4, reason: 'RECEIPT' }], key: 'daily-restock' };
    const first = items((await erp(adjustInventory, restock)).data?.adjustInventory);
    await expireIdempotencyKey(fx, 'daily-restock');
    // The next day's restock under the same key, on a position whose recent operations still hold the first one.
    const nextDay = (await erp(adjustInventory, restock)).data?.adjustInventory;
    expect(first[0]).toMatchObject({ outcome: 'APPLIED', position: { onHand: 4 } });
    expect(nextDay).toMatchObject({ replayed: false, items: [{ outcome: 'APPLIED', position: { onHand: 8 }, movement: { onHandBefore: 4, onHandAfter: 8 } }] });
    const ledger = (await erp(inventoryMovements, { sku: 'S-5', location: 'L-ALLOW' })).data?.inventoryMovements;
    expect(ledger?.nodes.map((movement) => [movement.idempotencyKey, movement.onHandBefore, movement.onHandAfter])).toEqual([
      ['daily-restock', 0, 4],
      ['daily-restock', 4, 8],
    ]);
  });
});

describe('setInventory', () => {
  it('sets when compareOnHand matches and refuses a stale compare with the current value', async () => {
    const set = items((await erp(setInventory, { items: [{ sku: 'S-4', location: 'L-REJ', onHand: 20, compareOnHand: 0 }] })).data?.setInventory);
    expect(set[0]).toMatchObject({ outcome: 'APPLIED', position: { onHand: 20 }, movement: { delta: 20, reason: 'CYCLE_COUNT' } });
    const stale = items((await erp(setInventory, { items: [{ sku: 'S-4', location: 'L-REJ', onHand: 25, compareOnHand: 0 }] })).data?.setInventory);
    expect(stale[0]).toMatchObject({ outcome: 'REJECTED', error: { __typename: 'StaleInventoryError', expectedOnHand: 0, currentOnHand: 20 } });
  });

  it('takes an explicit null as the opt-out, and refuses a missing compareOnHand', async () => {
    const optOut = items((await erp(setInventory, { items: [{ sku: 'S-4', location: 'L-REJ', onHand: 18, compareOnHand: null, safetyStock: 3 }] })).data?.setInventory);
    expect(optOut[0]).toMatchObject({ outcome: 'APPLIED', position: { onHand: 18, safetyStock: 3, available: 15 } });
    const missing = (await erp(setInventory, { items: [{ sku: 'S-4', location: 'L-REJ', onHand: 1 }] })).data?.setInventory;
    expect(missing).toMatchObject({ __typename: 'InvalidInputError', issues: [{ index: 0, path: ['compareOnHand'], code: 'REQUIRED' }] });
  });

  it('reports UNCHANGED and writes nothing when the value is already the requested one', async () => {
    const result = items((await erp(setInventory, { items: [{ sku: 'S-4', location: 'L-REJ', onHand: 18, compareOnHand: 18 }] })).data?.setInventory);
    expect(result[0]).toMatchObject({ outcome: 'UNCHANGED', movement: null });
  });
});

describe('reads', () => {
  it("computes available-to-sell over the channel's locations, clamping oversold locations and subtracting the buffer", async () => {
    const response = await erp(availableToSell, { channel: 'WEB', skus: ['S-1', 'S-2', 'S-4', 'S-404'], explain: true });
    expect(response.data?.availableToSell.map((a) => [a.skuCode, a.availableToSell])).toEqual([
      ['S-1', 4], // 6 at L-REJ − buffer 2
      ['S-2', 0], // 0 + max(0, −5) − 2, never below 0
      ['S-4', 13], // 18 − safety 3 − buffer 2
      ['S-404', 0],
    ]);
    expect(response.data?.availableToSell[1]?.explain).toEqual({ sumOfLocations: 0, channelBuffer: 2, locations: [{ locationCode: 'L-REJ', available: 0 }, { locationCode: 'L-ALLOW', available: -5 }] });
  });

  it('lists positions by channel and below a threshold', async () => {
    const byChannel = await erp(inventoryPositions, { filter: { channel: 'POS' } });
    expect(byChannel.data?.inventoryPositions.nodes.map((p) => `${p.skuCode}@${p.locationCode}`)).toEqual(['S-2@L-CLAMP']);
    const low = await erp(inventoryPositions, { filter: { availableBelow: 1 } });
    expect(low.data?.inventoryPositions.nodes.map((p) => `${p.skuCode}@${p.locationCode}`)).toEqual(['S-2@L-ALLOW', 'S-2@L-CLAMP']);
  });
});

describe('channel-bound keys', () => {
  it("may change stock only at its channels' locations, and read only its channels", async () => {
    const own = await pos(adjustInventory, { items: [{ sku: 'S-1', location: 'L-CLAMP', delta: 4, reason: 'RETURN' }], key: 'pos-1' });
    expect(items(own.data?.adjustInventory)[0]?.outcome).toBe('APPLIED');
    const other = await pos(adjustInventory, { items: [{ sku: 'S-1', location: 'L-REJ', delta: -1, reason: 'SALE' }], key: 'pos-2' });
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await pos(availableToSell, { channel: 'WEB', skus: ['S-1'] })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await pos(inventoryPosition, { sku: 'S-1', location: 'L-REJ' })).data?.inventoryPosition).toBeNull();
  });
});

describe('bad input changes nothing', () => {
  it.each([
    ['a delta over a billion', { items: [{ sku: 'S-1', location: 'L-REJ', delta: 1_000_000_001, reason: 'RECEIPT' }] }, { index: 0, path: ['delta'], code: 'OUT_OF_RANGE' }],
    ['an unknown SKU', { items: [{ sku: 'NOPE', location: 'L-REJ', delta: 1, reason: 'RECEIPT' }] }, { index: 0, path: ['sku'], code: 'UNKNOWN_REFERENCE' }],
    ['an unknown location', { items: [{ sku: 'S-1', location: 'NOPE', delta: 1, reason: 'RECEIPT' }] }, { index: 0, path: ['location'], code: 'UNKNOWN_REFERENCE' }],
    ['an empty batch', { items: [] }, { index: null, path: ['items'], code: 'EMPTY_BATCH' }],
    ['501 items', { items: Array.from({ length: 501 }, () => ({ sku: 'S-1', location: 'L-REJ', delta: 1, reason: 'RECEIPT' })) }, { index: null, path: ['items'], code: 'TOO_MANY_ITEMS' }],
  ])('%s', async (_, variables, issue) => {
    const before = (await erp(inventoryMovements, { sku: 'S-1', location: 'L-REJ' })).data?.inventoryMovements.totalCount;
    const response = await erp(adjustInventory, { ...variables, key: `bad-${_.replace(/\W+/g, '-')}` });
    expect(response.data?.adjustInventory).toMatchObject({ __typename: 'InvalidInputError', issues: [expect.objectContaining(issue)] });
    expect((await erp(inventoryMovements, { sku: 'S-1', location: 'L-REJ' })).data?.inventoryMovements.totalCount).toBe(before);
  });

  it('refuses a non-integer quantity and a missing key at the protocol level', async () => {
    const fractional = await erp(adjustInventory, { items: [{ sku: 'S-1', location: 'L-REJ', delta: 1.5, reason: 'RECEIPT' }], key: 'frac' });
    expect(fractional.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const keyless = await erp(adjustInventory, { items: [{ sku: 'S-1', location: 'L-REJ', delta: 1, reason: 'RECEIPT' }] } as never);
    expect(keyless.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a negative absolute onHand', async () => {
    const response = await erp(setInventory, { items: [{ sku: 'S-1', location: 'L-REJ', onHand: -1, compareOnHand: null }] });
    expect(response.data?.setInventory).toMatchObject({ issues: [{ index: 0, path: ['onHand'], code: 'OUT_OF_RANGE' }] });
  });
});
