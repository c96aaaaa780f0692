import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { type Connection, mapSkus, productsPage, skusPage, skusWithRelations, upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';

let fx: CatalogGateway;
const PRODUCTS = 30;
const SKUS_PER_PRODUCT = 4;
const sizes = ['S', 'M', 'L', 'XL'];
let createdBefore: string;

beforeAll(async () => {
  // The change feed's background reads (log polls, lease renewals, outbox scans) would count in the command
  // totals below: slowed far past the test's duration, only the requests' own commands are counted.
  fx = await startCatalogGateway('pagination', { MONGODB_COMMAND_METRICS: 'true', CHANGE_FEED_POLL_INTERVAL_MS: '3600000', CHANGE_RELAY_LEASE_MS: '3600000', CHANGE_RELAY_SCAN_INTERVAL_MS: '3600000' });
  await fx.erp(upsertLocations, { input: LOCATIONS });
  await fx.erp(upsertChannels, { input: CHANNELS });
  const products = Array.from({ length: PRODUCTS }, (_, p) => ({ code: `P-${String(p).padStart(3, '0')}`, title: `Product ${p}`, status: p % 10 === 0 ? 'DRAFT' : 'ACTIVE' }));
  await fx.erp(upsertProducts, { input: products });
  const skus = products.flatMap((product, p) =>
    sizes.slice(0, SKUS_PER_PRODUCT).map((size) => ({
      code: `${product.code}-${size}`,
      productCode: product.code,
      title: `${product.title} ${size}`,
      status: p % 5 === 0 ? 'DISCONTINUED' : 'ACTIVE',
      attributes: [{ key: 'size', value: size }, { key: 'color', value: p % 2 === 0 ? 'red' : 'blue' }],
    })),
  );
  await fx.erp(upsertSkus, { input: skus });
  await fx.erp(mapSkus, { channel: 'WEB', input: skus.map((sku) => ({ skuCode: sku.code, externalVariantId: `web-${sku.code}` })) });
  await fx.erp(mapSkus, { channel: 'POS', input: skus.map((sku) => ({ skuCode: sku.code, externalVariantId: `pos-${sku.code}` })) });
  createdBefore = new Date().toISOString();
});

afterAll(() => fx?.close());

describe('skus connection', () => {
  it('pages through every SKU in code order, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const response = await fx.analyst(skusPage, { first: 50, after });
      const connection: Connection<{ code: string }> = response.data!.skus;
      expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...connection.edges.map((edge) => edge.node.code));
      pages++;
      if (!connection.pageInfo.hasNextPage) break;
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)!.cursor);
      after = connection.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(PRODUCTS * SKUS_PER_PRODUCT);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('admits a 500-item page and refuses 501', async () => {
    const page = await fx.analyst(skusPage, { first: 500 });
    expect(page.errors).toBeUndefined();
    expect(page.data?.skus.edges).toHaveLength(PRODUCTS * SKUS_PER_PRODUCT);
    const tooMany = await fx.analyst(skusPage, { first: 501 });
    expect(tooMany.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'first' } });
  });

  it('refuses a cursor it did not issue', async () => {
    const response = await fx.analyst(skusPage, { first: 5, after: 'garbage' });
    expect(response.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } });
  });

  it.each([
    ['status', { status: ['DISCONTINUED'] }, 6 * SKUS_PER_PRODUCT],
    ['product', { productCodes: ['P-001', 'P-002'] }, 2 * SKUS_PER_PRODUCT],
    ['one attribute', { attributes: [{ key: 'size', value: 'XL' }] }, PRODUCTS],
    ['two attributes, all must match', { attributes: [{ key: 'size', value: 'XL' }, { key: 'color', value: 'red' }] }, PRODUCTS / 2],
    ['status and attribute', { status: ['ACTIVE'], attributes: [{ key: 'size', value: 'S' }] }, 24],
    ['updatedSince after every write', { updatedSince: '2999-01-01T00:00:00Z' }, 0],
  ])('filters by %s, with a matching totalCount', async (_, filter, expected) => {
    const response = await fx.analyst(skusPage, { filter, first: 500 });
    expect(response.errors).toBeUndefined();
    expect(response.data?.skus.totalCount).toBe(expected);
    expect(response.data?.skus.edges).toHaveLength(expected);
  });

  it('finds SKUs changed since a point in time', async () => {
    await fx.erp(upsertSkus, { input: [{ code: 'P-007-M', title: 'Renamed' }] });
    const response = await fx.analyst(skusPage, { filter: { updatedSince: createdBefore } });
    expect(response.data?.skus.edges.map((edge) => edge.node.code)).toEqual(['P-007-M']);
  });

  it('refuses a malformed date-time', async () => {
    const response = await fx.analyst(skusPage, { filter: { updatedSince: 'yesterday' } });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('products connection', () => {
  it('filters by status and pages', async () => {
    const first = await fx.analyst(productsPage, { filter: { status: ['DRAFT'] }, first: 2 });
    expect(first.data?.products.totalCount).toBe(3);
    expect(first.data?.products.edges.map((edge) => edge.node.code)).toEqual(['P-000', 'P-010']);
    const rest = await fx.analyst(productsPage, { filter: { status: ['DRAFT'] }, first: 2, after: first.data?.products.pageInfo.endCursor });
    expect(rest.data?.products.edges.map((edge) => edge.node.code)).toEqual(['P-020']);
    expect(rest.data?.products.pageInfo.hasNextPage).toBe(false);
  });
});

describe('field resolvers batch through DataLoader', () => {
  it('answers 100 SKUs with their products and mappings in as many database commands as 10 SKUs', async () => {
    // Warm the API-key cache so authentication does not count.
    await fx.analyst(skusWithRelations, { first: 1 });
    const commandsFor = async (first: number) => {
      const before = await fx.mongoCommands();
      const response = await fx.analyst(skusWithRelations, { first });
      const after = await fx.mongoCommands();
      expect(response.data?.skus.nodes).toHaveLength(first);
      expect(response.data?.skus.nodes.every((sku) => sku.product.code === sku.code.slice(0, 5) && sku.mappings.length === 2)).toBe(true);
      return after - before;
    };
    const forTen = await commandsFor(10);
    const forHundred = await commandsFor(100);
    expect(forHundred).toBe(forTen);
    // One find each for the SKUs, their products and their mappings.
    expect(forHundred).toBe(3);
  });
});
