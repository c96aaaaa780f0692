import fc from 'fast-check';
import type { ChangeOriginValue } from '../../src/domain/changes/change-event.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.js';
import type { ProductRecord } from '../../src/domain/catalog/catalog.types.js';
import { applyUpserts, type UpsertPlan } from '../../src/domain/common/versioned-upsert.js';
import { openTestApp, uniqueDbName } from '../utils/test-store.js';

let app: App;

beforeAll(async () => {
  app = await openTestApp(uniqueDbName('versioned_upsert'));
});

afterAll(() => app?.close());

const plan: UpsertPlan<ProductRecord, { code: string; title: string }> = {
  keyOf: (input) => input.code,
  keyOfRecord: (record) => record.code,
  build: (_current, input) => ({ code: input.code, title: input.title, attributes: [], taxClass: null, status: 'ACTIVE', archivedAt: null }),
};

const TEST_ORIGIN: ChangeOriginValue = { source: 'API', apiKeyId: null, apiKey: 'test', requestId: null, idempotencyKey: null, reason: null, referenceDocument: null };

describe('optimistic single-document upserts on the real store', () => {
  it('loses no update under concurrent writers: the version counts exactly the writes that changed something', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('red', 'green', 'blue'), { minLength: 2, maxLength: 12 }), async (titles) => {
        const code = `RACE-${round++}`;
        const results = await Promise.all(titles.map((title) => applyUpserts(app.store.repositories.products, plan, [{ code, title }], { now: new Date(), origin: TEST_ORIGIN })));
        const outcomes = results.map((items) => items[0]!.outcome);
        const stored = await app.store.repositories.products.findByKey(code);
        expect(outcomes.filter((outcome) => outcome === 'CREATED')).toHaveLength(1);
        expect(stored!.version).toBe(1 + outcomes.filter((outcome) => outcome === 'UPDATED').length);
        expect(titles).toContain(stored!.title);
        // Each reported record is a state that was really stored: versions are distinct among changes.
        const versions = results.filter((items) => items[0]!.outcome !== 'UNCHANGED').map((items) => items[0]!.record.version);
        expect(new Set(versions).size).toBe(versions.length);
      }),
      { numRuns: 20 },
    );
  });

  it('does not write at all when nothing changes', async () => {
    await applyUpserts(app.store.repositories.products, plan, [{ code: 'SAME', title: 'x' }], { now: new Date('2026-01-01T00:00:00Z'), origin: TEST_ORIGIN });
    const [item] = await applyUpserts(app.store.repositories.products, plan, [{ code: 'SAME', title: 'x' }], { now: new Date('2026-06-01T00:00:00Z'), origin: TEST_ORIGIN });
    expect(item).toMatchObject({ outcome: 'UNCHANGED', record: { version: 1, updatedAt: new Date('2026-01-01T00:00:00Z') } });
  });
});
