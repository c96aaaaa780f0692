import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindStorefront, CHANNELS, LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { channelByCode, channelsAndLocations, mapSkus, skuByCode, skuMappingsPage, upsertChannels, upsertLocations, upsertProducts, upsertSkus, viewer } from './operations.js';
import { graphqlClient } from '../utils/graphql-client.js';
import { createKey } from '../utils/test-store.js';

let fx: CatalogGateway;

beforeAll(async () => {
  fx = await startCatalogGateway('access');
  await fx.erp(upsertLocations, { input: LOCATIONS });
  await fx.erp(upsertChannels, { input: CHANNELS });
  await fx.erp(upsertProducts, { input: [{ code: 'P-1', title: 'Tee' }] });
  await fx.erp(upsertSkus, { input: [{ code: 'S-1', productCode: 'P-1', title: 'Tee M' }] });
  await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'S-1', externalVariantId: 'web-1' }] });
  await fx.erp(mapSkus, { channel: 'POS', input: [{ skuCode: 'S-1', externalVariantId: 'pos-1' }] });
  await bindStorefront(fx);
});

afterAll(() => fx?.close());

describe('authentication', () => {
  it('answers 401 UNAUTHENTICATED without a key, and no data', async () => {
    const response = await fx.anonymous(skuByCode, { code: 'S-1' });
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.data ?? null).toBeNull();
  });

  it.each([
    ['a malformed key', 'not-a-key'],
    ['an unknown key', `rsg_0123456789abcdef_${'A'.repeat(43)}`],
  ])('answers 401 with the same message for %s', async (_, key) => {
    const anonymous = await fx.anonymous(viewer);
    const response = await graphqlClient(fx.gateway.url, key)(viewer);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]).toEqual(anonymous.errors?.[0]);
  });

  it('refuses a key whose secret is wrong even though its id exists', async () => {
    const tampered = fx.keys.erp.slice(0, -4) + (fx.keys.erp.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const response = await graphqlClient(fx.gateway.url, tampered)(viewer);
    expect(response.status).toBe(401);
  });

  it('tells a valid key who it is', async () => {
    const response = await fx.storefront(viewer);
    expect(response.data?.viewer).toEqual({ name: 'storefront-web', scopes: ['CATALOG_READ'], channels: ['WEB'] });
  });
});

describe('scopes', () => {
  it('answers FORBIDDEN to a write without catalog:write and writes nothing', async () => {
    const response = await fx.analyst(upsertProducts, { input: [{ code: 'P-NEW', title: 'Nope' }] });
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(response.data).toBeNull();
    const after = await fx.erp(skuByCode, { code: 'P-NEW' });
    expect(after.data?.sku).toBeNull();
  });

  it('lets a read-only key read', async () => {
    const response = await fx.analyst(skuByCode, { code: 'S-1' });
    expect(response.data?.sku?.code).toBe('S-1');
  });
});

describe('channel binding', () => {
  it('lists only the bound channel', async () => {
    const response = await fx.storefront(channelsAndLocations);
    expect(response.data?.channels.map((channel) => channel.code)).toEqual(['WEB']);
  });

  it('shows another channel as absent, exactly like a channel that does not exist', async () => {
    const other = await fx.storefront(channelByCode, { code: 'POS' });
    const missing = await fx.storefront(channelByCode, { code: 'NOPE' });
    expect(other.data?.channel).toBeNull();
    expect(missing.data?.channel).toBeNull();
  });

  it("answers FORBIDDEN for another channel's mappings", async () => {
    const response = await fx.storefront(skuMappingsPage, { channel: 'POS' });
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(response.data).toBeNull();
  });

  it('refuses a bound key with catalog:write any change to the shared catalog', async () => {
    const boundWriter = graphqlClient(fx.gateway.url, await createKey(fx.app, 'web-connector', ['catalog:read', 'catalog:write'], ['WEB']));
    for (const [op, variables] of [
      [upsertChannels, { input: [{ code: 'POS', name: 'Renamed by WEB' }] }],
      [upsertProducts, { input: [{ code: 'P-1', title: 'Renamed by WEB' }] }],
      [upsertSkus, { input: [{ code: 'S-1', title: 'Renamed by WEB' }] }],
    ] as const) {
      const response = await boundWriter(op as typeof upsertProducts, variables as never);
      expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await fx.analyst(skuByCode, { code: 'S-1' })).data?.sku?.title).toBe('Tee M');
    // …but may maintain its own channel's mappings.
    const own = await boundWriter(mapSkus, { channel: 'WEB', input: [{ skuCode: 'S-1', externalVariantId: 'web-1' }] });
    expect(own.data?.mapSkus).toMatchObject({ items: [{ outcome: 'UNCHANGED' }] });
  });

  it("shows a SKU's mappings in the bound channel only", async () => {
    const bound = await fx.storefront(skuByCode, { code: 'S-1' });
    const unbound = await fx.analyst(skuByCode, { code: 'S-1' });
    expect(bound.data?.sku?.mappings).toEqual([{ channelCode: 'WEB', externalVariantId: 'web-1' }]);
    expect(unbound.data?.sku?.mappings.map((mapping) => mapping.channelCode).sort()).toEqual(['POS', 'WEB']);
  });
});
