import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../utils/graphql-client.js';
import { createKey } from '../utils/test-store.js';
import { startCatalogGateway, type CatalogGateway } from './fixture.js';
import { productWithSkus, upsertLocations, upsertProducts } from './operations.js';

let fx: CatalogGateway;

beforeAll(async () => {
  fx = await startCatalogGateway('idempotency');
});

afterAll(() => fx?.close());

describe('idempotency keys', () => {
  it('replays the first result for the same key and input, without writing again', async () => {
    const input = [{ code: 'IDEM-1', title: 'First' }];
    const first = await fx.erp(upsertProducts, { input, key: 'order-1' });
    const replay = await fx.erp(upsertProducts, { input, key: 'order-1' });
    expect(first.data?.upsertProducts).toMatchObject({ replayed: false, items: [{ outcome: 'CREATED', product: { version: 1 } }] });
    // The replay carries the first outcome (CREATED), not what a new write would say (UNCHANGED).
    expect(replay.data?.upsertProducts).toEqual({ ...first.data?.upsertProducts, replayed: true });
  });

  it('replays even after the state moved on, and does not undo the newer write', async () => {
    await fx.erp(upsertProducts, { input: [{ code: 'IDEM-2', title: 'v1' }], key: 'k-2' });
    await fx.erp(upsertProducts, { input: [{ code: 'IDEM-2', title: 'v2' }] });
    const replay = await fx.erp(upsertProducts, { input: [{ code: 'IDEM-2', title: 'v1' }], key: 'k-2' });
    expect(replay.data?.upsertProducts).toMatchObject({ replayed: true, items: [{ product: { title: 'v1', version: 1 } }] });
    expect((await fx.erp(productWithSkus, { code: 'IDEM-2' })).data?.product).toMatchObject({ title: 'v2', version: 2 });
  });

  it('refuses the same key with other input as IDEMPOTENCY_KEY_REUSED and writes nothing', async () => {
    await fx.erp(upsertProducts, { input: [{ code: 'IDEM-3', title: 'Original' }], key: 'k-3' });
    const reused = await fx.erp(upsertProducts, { input: [{ code: 'IDEM-3', title: 'Changed' }], key: 'k-3' });
    expect(reused.data?.upsertProducts).toMatchObject({ __typename: 'IdempotencyKeyReusedError', errorCode: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await fx.erp(productWithSkus, { code: 'IDEM-3' })).data?.product).toMatchObject({ title: 'Original', version: 1 });
  });

  it('refuses the same key sent to another mutation', async () => {
    await fx.erp(upsertProducts, { input: [{ code: 'IDEM-4', title: 'x' }], key: 'k-4' });
    const other = await fx.erp(upsertLocations, { input: [{ code: 'L-IDEM', name: 'x', kind: 'STORE', region: 'EU', timezone: 'UTC' }], key: 'k-4' });
    expect(other.data?.upsertLocations).toMatchObject({ errorCode: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('scopes keys per API key', async () => {
    const otherErp = graphqlClient(fx.gateway.url, await createKey(fx.app, 'erp-2', ['catalog:read', 'catalog:write']));
    await fx.erp(upsertProducts, { input: [{ code: 'IDEM-5', title: 'a' }], key: 'shared' });
    const response = await otherErp(upsertProducts, { input: [{ code: 'IDEM-5', title: 'b' }], key: 'shared' });
    expect(response.data?.upsertProducts).toMatchObject({ replayed: false, items: [{ outcome: 'UPDATED' }] });
  });

  it('does not remember rejected input: the corrected request may reuse the key', async () => {
    const rejected = await fx.erp(upsertProducts, { input: [{ code: 'IDEM 6', title: 'x' }], key: 'k-6' });
    expect(rejected.data?.upsertProducts).toMatchObject({ errorCode: 'INVALID_INPUT' });
    const corrected = await fx.erp(upsertProducts, { input: [{ code: 'IDEM-6', title: 'x' }], key: 'k-6' });
    expect(corrected.data?.upsertProducts).toMatchObject({ replayed: false, items: [{ outcome: 'CREATED' }] });
  });

  it('applies once when the same request races itself', async () => {
    const input = [{ code: 'IDEM-7', title: 'Race' }];
    const results = await Promise.all(Array.from({ length: 12 }, () => fx.erp(upsertProducts, { input, key: 'k-7' })));
    const outcomes = results.map((result) => result.data?.upsertProducts as { __typename: string; replayed?: boolean });
    const applied = outcomes.filter((outcome) => outcome.__typename === 'ProductBatchResult' && outcome.replayed === false);
    expect(applied).toHaveLength(1);
    expect(outcomes.every((outcome) => outcome.__typename === 'ProductBatchResult' || outcome.__typename === 'IdempotencyKeyInProgressError')).toBe(true);
    expect((await fx.erp(productWithSkus, { code: 'IDEM-7' })).data?.product?.version).toBe(1);
  });

  it('rejects a malformed key as invalid input', async () => {
    const response = await fx.erp(upsertProducts, { input: [{ code: 'IDEM-8', title: 'x' }], key: 'has spaces' });
    expect(response.data?.upsertProducts).toMatchObject({ errorCode: 'INVALID_INPUT', issues: [{ index: null, path: ['idempotencyKey'], code: 'INVALID_FORMAT' }] });
  });
});
