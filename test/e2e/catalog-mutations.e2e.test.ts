import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, gtin13, LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { archiveSkus, channelsAndLocations, locationByCode, mapSkus, productWithSkus, skuByCode, skuMappingsPage, skusPage, unmapSkus, upsertChannels, upsertLocations, upsertProducts, upsertSkus, type BatchResult } from './operations.js';

let fx: CatalogGateway;

beforeAll(async () => {
  fx = await startCatalogGateway('catalog_mutations');
});

afterAll(() => fx?.close());

/** The items of a successful batch; fails the test with the typed error otherwise. */
function itemsOf<K extends string, T>(response: { data?: Record<string, BatchResult<K, T>> | null; errors?: unknown }) {
  const result = response.data ? Object.values(response.data)[0] : undefined;
  if (!result || !('items' in result)) throw new Error(`expected a batch result, got ${JSON.stringify(response)}`);
  return result.items;
}

describe('upsertLocations and upsertChannels', () => {
  it('creates, leaves unchanged, and updates with a version bump only on change', async () => {
    const created = itemsOf(await fx.erp(upsertLocations, { input: LOCATIONS }));
    expect(created.map((item) => [item.outcome, item.location.version])).toEqual([['CREATED', 1], ['CREATED', 1]]);

    const again = itemsOf(await fx.erp(upsertLocations, { input: LOCATIONS }));
    expect(again.map((item) => [item.outcome, item.location.version])).toEqual([['UNCHANGED', 1], ['UNCHANGED', 1]]);

    const changed = itemsOf(await fx.erp(upsertLocations, { input: [{ code: 'L-1', timezone: 'Europe/Paris' }] }));
    expect(changed[0]).toMatchObject({ outcome: 'UPDATED', location: { code: 'L-1', version: 2 } });
    expect((await fx.erp(locationByCode, { code: 'L-1' })).data?.location).toEqual({ code: 'L-1', timezone: 'Europe/Paris', version: 2 });
  });

  it('creates channels that name existing locations, in the order given', async () => {
    const items = itemsOf(await fx.erp(upsertChannels, { input: CHANNELS }));
    expect(items.map((item) => item.channel.locationCodes)).toEqual([['L-1'], ['L-1', 'L-2']]);
    const read = await fx.erp(channelsAndLocations);
    expect(read.data?.channels).toEqual([
      { code: 'POS', locations: [{ code: 'L-1' }, { code: 'L-2' }] },
      { code: 'WEB', locations: [{ code: 'L-1' }] },
    ]);
  });
});

describe('upsertProducts and upsertSkus', () => {
  it('creates a product and its SKUs, with barcodes, attributes sorted by key, and defaults', async () => {
    itemsOf(await fx.erp(upsertProducts, { input: [{ code: 'P-1', title: 'Tee', attributes: [{ key: 'brand', value: 'Acme' }] }] }));
    const items = itemsOf(await fx.erp(upsertSkus, {
          input: [
            { code: 'P-1-M', productCode: 'P-1', title: 'Tee M', barcodes: [gtin13(1)], attributes: [{ key: 'size', value: 'M' }, { key: 'color', value: 'red' }] },
            { code: 'P-1-L', productCode: 'P-1', title: 'Tee L', status: 'DRAFT', taxClass: 'REDUCED' },
          ],
        }));
    expect(items.map((item) => item.outcome)).toEqual(['CREATED', 'CREATED']);
    expect(items[0]!.sku).toMatchObject({ status: 'ACTIVE', version: 1, archived: false, taxClass: null, barcodes: [gtin13(1)], attributes: [{ key: 'color', value: 'red' }, { key: 'size', value: 'M' }] });
    expect(items[1]!.sku).toMatchObject({ status: 'DRAFT', taxClass: 'REDUCED' });
    expect((await fx.erp(productWithSkus, { code: 'P-1' })).data?.product?.skus.map((sku) => sku.code)).toEqual(['P-1-L', 'P-1-M']);
  });

  it('keeps fields left out, clears taxClass on an explicit null, and bumps the version once per change', async () => {
    const update = itemsOf(await fx.erp(upsertSkus, { input: [{ code: 'P-1-L', title: 'Tee Large' }] }));
    expect(update[0]).toMatchObject({ outcome: 'UPDATED', sku: { title: 'Tee Large', status: 'DRAFT', taxClass: 'REDUCED', version: 2 } });
    const cleared = itemsOf(await fx.erp(upsertSkus, { input: [{ code: 'P-1-L', taxClass: null }] }));
    expect(cleared[0]).toMatchObject({ outcome: 'UPDATED', sku: { taxClass: null, version: 3 } });
    const same = itemsOf(await fx.erp(upsertSkus, { input: [{ code: 'P-1-L', title: 'Tee Large', taxClass: null }] }));
    expect(same[0]).toMatchObject({ outcome: 'UNCHANGED', sku: { version: 3, updatedAt: cleared[0]!.sku.updatedAt } });
  });

  it('treats attributes given in another order as unchanged', async () => {
    const items = itemsOf(await fx.erp(upsertSkus, { input: [{ code: 'P-1-M', attributes: [{ key: 'color', value: 'red' }, { key: 'size', value: 'M' }] }] }));
    expect(items[0]).toMatchObject({ outcome: 'UNCHANGED', sku: { version: 1 } });
  });

  it('reports each outcome of a mixed batch at its index', async () => {
    const items = itemsOf(await fx.erp(upsertSkus, {
          input: [
            { code: 'P-1-M', title: 'Tee Medium' },
            { code: 'P-1-S', productCode: 'P-1', title: 'Tee S' },
            { code: 'P-1-L', title: 'Tee Large' },
          ],
        }));
    expect(items.map((item) => [item.index, item.outcome])).toEqual([[0, 'UPDATED'], [1, 'CREATED'], [2, 'UNCHANGED']]);
  });
});

describe('archiveSkus', () => {
  it('archives instead of deleting: hidden from lists, still readable, restored by an upsert', async () => {
    const archived = itemsOf(await fx.erp(archiveSkus, { codes: ['P-1-S'] }));
    expect(archived[0]).toMatchObject({ outcome: 'UPDATED', sku: { archived: true, version: 2 } });
    expect(itemsOf(await fx.erp(archiveSkus, { codes: ['P-1-S'] }))[0]).toMatchObject({ outcome: 'UNCHANGED' });

    const listed = await fx.erp(skusPage, { filter: { productCodes: ['P-1'] } });
    expect(listed.data?.skus.edges.map((edge) => edge.node.code)).toEqual(['P-1-L', 'P-1-M']);
    const withArchived = await fx.erp(skusPage, { filter: { productCodes: ['P-1'], includeArchived: true } });
    expect(withArchived.data?.skus.edges.map((edge) => edge.node.code)).toEqual(['P-1-L', 'P-1-M', 'P-1-S']);
    expect((await fx.erp(skuByCode, { code: 'P-1-S' })).data?.sku?.archived).toBe(true);

    const restored = itemsOf(await fx.erp(upsertSkus, { input: [{ code: 'P-1-S' }] }));
    expect(restored[0]).toMatchObject({ outcome: 'UPDATED', sku: { archived: false, version: 3 } });
  });
});

describe('mapSkus and unmapSkus', () => {
  it('maps, remaps with history, unmaps and maps again', async () => {
    const mapped = itemsOf(await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'P-1-M', externalVariantId: 'gid://v/1', externalProductId: 'gid://p/1' }] }));
    expect(mapped[0]).toMatchObject({ outcome: 'CREATED', mapping: { channelCode: 'WEB', skuCode: 'P-1-M', active: true, version: 1, history: [] } });

    const same = itemsOf(await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'P-1-M', externalVariantId: 'gid://v/1', externalProductId: 'gid://p/1' }] }));
    expect(same[0]).toMatchObject({ outcome: 'UNCHANGED', mapping: { version: 1 } });

    const remapped = itemsOf(await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'P-1-M', externalVariantId: 'gid://v/2' }] }));
    expect(remapped[0]).toMatchObject({ outcome: 'UPDATED', mapping: { externalVariantId: 'gid://v/2', externalProductId: null, version: 2, history: [{ externalVariantId: 'gid://v/1', replacedBy: 'erp' }] } });

    const unmapped = itemsOf(await fx.erp(unmapSkus, { channel: 'WEB', skuCodes: ['P-1-M'] }));
    expect(unmapped[0]).toMatchObject({ outcome: 'UPDATED', mapping: { active: false, history: [{ externalVariantId: 'gid://v/1' }, { externalVariantId: 'gid://v/2' }] } });
    expect(itemsOf(await fx.erp(unmapSkus, { channel: 'WEB', skuCodes: ['P-1-M'] }))[0]).toMatchObject({ outcome: 'UNCHANGED' });
    expect((await fx.erp(skuByCode, { code: 'P-1-M' })).data?.sku?.mappings).toEqual([]);

    // The released external id may now go to another SKU.
    const reused = itemsOf(await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'P-1-L', externalVariantId: 'gid://v/2' }] }));
    expect(reused[0]).toMatchObject({ outcome: 'CREATED', mapping: { skuCode: 'P-1-L', externalVariantId: 'gid://v/2' } });

    const remappedAgain = itemsOf(await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'P-1-M', externalVariantId: 'gid://v/3' }] }));
    expect(remappedAgain[0]).toMatchObject({ outcome: 'UPDATED', mapping: { active: true, history: [{ externalVariantId: 'gid://v/1' }, { externalVariantId: 'gid://v/2' }] } });
  });

  it('refuses an external id held by another SKU of the channel, and allows it in another channel', async () => {
    const conflict = (await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'P-1-S', externalVariantId: 'gid://v/3' }] })).data?.mapSkus;
    expect(conflict).toMatchObject({ __typename: 'InvalidInputError', issues: [{ index: 0, path: ['externalVariantId'], code: 'CONFLICT' }] });
    const otherChannel = itemsOf(await fx.erp(mapSkus, { channel: 'POS', input: [{ skuCode: 'P-1-S', externalVariantId: 'gid://v/3' }] }));
    expect(otherChannel[0]?.outcome).toBe('CREATED');
  });

  it('lists a channel\'s mappings, inactive ones on request', async () => {
    const active = await fx.erp(skuMappingsPage, { channel: 'WEB' });
    expect(active.data?.skuMappings.edges.map((edge) => [edge.node.skuCode, edge.node.externalVariantId])).toEqual([['P-1-L', 'gid://v/2'], ['P-1-M', 'gid://v/3']]);
    const byExternal = await fx.erp(skuMappingsPage, { channel: 'WEB', filter: { externalVariantIds: ['gid://v/3'] } });
    expect(byExternal.data?.skuMappings.totalCount).toBe(1);
  });
});
