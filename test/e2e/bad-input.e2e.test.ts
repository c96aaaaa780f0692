import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, gtin13, LOCATIONS, startCatalogGateway, type CatalogGateway } from './fixture.js';
import { archiveSkus, channelsAndLocations, mapSkus, productWithSkus, skuByCode, unmapSkus, upsertChannels, upsertLocations, upsertProducts, upsertSkus, type Issue } from './operations.js';
import type { Operation } from '../utils/graphql-client.js';

let fx: CatalogGateway;

beforeAll(async () => {
  fx = await startCatalogGateway('bad_input');
  await fx.erp(upsertLocations, { input: LOCATIONS });
  await fx.erp(upsertChannels, { input: CHANNELS });
  await fx.erp(upsertProducts, { input: [{ code: 'P-1', title: 'Tee' }] });
  await fx.erp(upsertSkus, { input: [{ code: 'S-1', productCode: 'P-1', title: 'Tee M' }, { code: 'S-2', productCode: 'P-1', title: 'Tee L' }] });
  await fx.erp(mapSkus, { channel: 'WEB', input: [{ skuCode: 'S-1', externalVariantId: 'web-1' }] });
});

afterAll(() => fx?.close());

const validSku = { code: 'NEW-SKU', productCode: 'P-1', title: 'Fresh' };
const sku = (overrides: Record<string, unknown>) => ({ ...validSku, ...overrides });
const many = (n: number) => Array.from({ length: n }, (_, i) => ({ code: `BULK-${i}`, productCode: 'P-1', title: 'x' }));

type Case = readonly [name: string, op: Operation<Record<string, unknown>, Record<string, unknown>>, variables: Record<string, unknown>, expected: Partial<Issue>];

const CASES: readonly Case[] = [
  ['a code with a space', upsertSkus, { input: [validSku, sku({ code: 'BAD CODE' })] }, { index: 1, path: ['code'], code: 'INVALID_FORMAT' }],
  ['a code starting with a dash', upsertProducts, { input: [{ code: '-P', title: 'x' }] }, { index: 0, path: ['code'], code: 'INVALID_FORMAT' }],
  ['a 65-character code', upsertSkus, { input: [sku({ code: 'A'.repeat(65) })] }, { index: 0, path: ['code'], code: 'TOO_LONG' }],
  ['an empty code', upsertSkus, { input: [sku({ code: '' })] }, { index: 0, path: ['code'], code: 'REQUIRED' }],
  ['a GTIN with a wrong check digit', upsertSkus, { input: [sku({ barcodes: [gtin13(5), `${gtin13(6).slice(0, 12)}${(Number(gtin13(6).at(-1)) + 1) % 10}`] })] }, { index: 0, path: ['barcodes', '1'], code: 'INVALID_CHECK_DIGIT' }],
  ['a GTIN of 11 digits', upsertSkus, { input: [sku({ barcodes: ['12345678901'] })] }, { index: 0, path: ['barcodes', '0'], code: 'INVALID_FORMAT' }],
  ['a GTIN with letters', upsertSkus, { input: [sku({ barcodes: ['40063813339AB'] })] }, { index: 0, path: ['barcodes', '0'], code: 'INVALID_FORMAT' }],
  ['501 items', upsertSkus, { input: many(501) }, { index: null, path: ['input'], code: 'TOO_MANY_ITEMS' }],
  ['an empty batch', upsertSkus, { input: [] }, { index: null, path: ['input'], code: 'EMPTY_BATCH' }],
  ['a code twice in one batch', upsertSkus, { input: [validSku, sku({ title: 'again' })] }, { index: 1, path: ['code'], code: 'DUPLICATE_IN_BATCH' }],
  ['an external id twice in one batch', mapSkus, { channel: 'WEB', input: [{ skuCode: 'S-2', externalVariantId: 'dup' }, { skuCode: 'NEW-SKU', externalVariantId: 'dup' }] }, { index: 1, path: ['externalVariantId'], code: 'DUPLICATE_IN_BATCH' }],
  ['a $-prefixed attribute key', upsertSkus, { input: [sku({ attributes: [{ key: '$where', value: '1' }] })] }, { index: 0, path: ['attributes', '0', 'key'], code: 'RESERVED_KEY' }],
  ['a dotted attribute key', upsertProducts, { input: [{ code: 'P-9', title: 'x', attributes: [{ key: 'a.b', value: '1' }] }] }, { index: 0, path: ['attributes', '0', 'key'], code: 'RESERVED_KEY' }],
  ['an attribute key twice', upsertSkus, { input: [sku({ attributes: [{ key: 'size', value: 'M' }, { key: 'size', value: 'L' }] })] }, { index: 0, path: ['attributes', '1', 'key'], code: 'DUPLICATE_IN_BATCH' }],
  ['a 513-character title', upsertSkus, { input: [sku({ title: 'x'.repeat(513) })] }, { index: 0, path: ['title'], code: 'TOO_LONG' }],
  ['a blank title', upsertProducts, { input: [{ code: 'P-9', title: '   ' }] }, { index: 0, path: ['title'], code: 'REQUIRED' }],
  ['a 1,025-character attribute value', upsertSkus, { input: [sku({ attributes: [{ key: 'k', value: 'v'.repeat(1025) }] })] }, { index: 0, path: ['attributes', '0', 'value'], code: 'TOO_LONG' }],
  ['an unknown product', upsertSkus, { input: [sku({ productCode: 'NOPE' })] }, { index: 0, path: ['productCode'], code: 'UNKNOWN_REFERENCE' }],
  ['a new SKU without a product', upsertSkus, { input: [{ code: 'NEW-SKU', title: 'x' }] }, { index: 0, path: ['productCode'], code: 'REQUIRED' }],
  ['a new product without a title', upsertProducts, { input: [{ code: 'P-9' }] }, { index: 0, path: ['title'], code: 'REQUIRED' }],
  ['an unknown location in a channel', upsertChannels, { input: [{ ...CHANNELS[0], code: 'NEW-CH', locationCodes: ['L-1', 'L-404'] }] }, { index: 0, path: ['locationCodes', '1'], code: 'UNKNOWN_REFERENCE' }],
  ['an unknown currency', upsertChannels, { input: [{ ...CHANNELS[0], code: 'NEW-CH', currency: 'EURO' }] }, { index: 0, path: ['currency'], code: 'INVALID_FORMAT' }],
  ['an unknown time zone', upsertLocations, { input: [{ ...LOCATIONS[0], code: 'L-NEW', timezone: 'Mars/Olympus' }] }, { index: 0, path: ['timezone'], code: 'INVALID_FORMAT' }],
  ['an unknown SKU to map', mapSkus, { channel: 'WEB', input: [{ skuCode: 'NOPE', externalVariantId: 'x-1' }] }, { index: 0, path: ['skuCode'], code: 'UNKNOWN_REFERENCE' }],
  ['an unknown channel to map in', mapSkus, { channel: 'NOPE', input: [{ skuCode: 'S-2', externalVariantId: 'x-1' }] }, { index: null, path: ['channel'], code: 'UNKNOWN_REFERENCE' }],
  ['an external id with white space', mapSkus, { channel: 'WEB', input: [{ skuCode: 'S-2', externalVariantId: 'a b' }] }, { index: 0, path: ['externalVariantId'], code: 'INVALID_FORMAT' }],
  ['an external id of another SKU', mapSkus, { channel: 'WEB', input: [{ skuCode: 'S-2', externalVariantId: 'web-1' }] }, { index: 0, path: ['externalVariantId'], code: 'CONFLICT' }],
  ['a SKU without a mapping to unmap', unmapSkus, { channel: 'WEB', skuCodes: ['S-2'] }, { index: 0, code: 'UNKNOWN_REFERENCE' }],
  ['an unknown SKU to archive', archiveSkus, { codes: ['S-1', 'NOPE'] }, { index: 1, code: 'UNKNOWN_REFERENCE' }],
];

describe('bad input is rejected with a typed error naming the offending path, and nothing is written', () => {
  it.each(CASES)('%s', async (_, op, variables, expected) => {
    const before = await snapshot();
    const response = await fx.erp(op, variables);
    const result = Object.values(response.data ?? {})[0] as { __typename: string; issues: Issue[] };
    expect(result.__typename).toBe('InvalidInputError');
    expect(result.issues).toContainEqual(expect.objectContaining(expected));
    expect(await snapshot()).toEqual(before);
  });

  it('reports every issue of a batch at once', async () => {
    const response = await fx.erp(upsertSkus, { input: [sku({ code: 'A B' }), validSku, sku({ code: 'C-1', barcodes: ['1'] })] });
    expect(response.data?.upsertSkus).toMatchObject({
      __typename: 'InvalidInputError',
      issues: [
        { index: 0, path: ['code'], code: 'INVALID_FORMAT' },
        { index: 2, path: ['barcodes', '0'], code: 'INVALID_FORMAT' },
      ],
    });
    expect((await fx.erp(skuByCode, { code: 'NEW-SKU' })).data?.sku).toBeNull();
  });

  it('refuses an unknown enum value at the protocol level', async () => {
    const response = await fx.erp(upsertSkus, { input: [sku({ status: 'ACTIV' })] });
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0]?.message).toContain('input[0].status');
    expect(response.errors?.[0]?.message).not.toContain('Did you mean');
  });

  it('refuses a request body over the limit with 413', async () => {
    const response = await fetch(fx.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fx.keys.erp}` },
      body: JSON.stringify({ query: 'mutation($input: [SkuInput!]!) { upsertSkus(input: $input) { __typename } }', variables: { input: [sku({ title: 'x'.repeat(3 * 1024 * 1024) })] } }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

/** What the API shows of the store: every test case must leave it exactly as it was. */
async function snapshot() {
  const [catalog, s1, s2, fresh, product] = await Promise.all([
    fx.erp(channelsAndLocations),
    fx.erp(skuByCode, { code: 'S-1' }),
    fx.erp(skuByCode, { code: 'S-2' }),
    fx.erp(skuByCode, { code: 'NEW-SKU' }),
    fx.erp(productWithSkus, { code: 'P-1' }),
  ]);
  return { catalog: catalog.data, s1: s1.data, s2: s2.data, fresh: fresh.data, product: product.data };
}
