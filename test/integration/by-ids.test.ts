import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { findByIds, IDS_PER_READ } from '../../src/store/repositories/by-ids.js';
import { uniqueDbName } from '../utils/test-store.js';

let app: App;

beforeAll(async () => {
  const config = loadConfig({ NODE_ENV: 'test', MONGODB_URI: inject('mongoUri'), MONGODB_DB: uniqueDbName('by_ids'), LOG_LEVEL: 'silent' });
  app = await openApp(config, createLogger('silent'), {});
  await app.store.connection.collection('things').insertMany(Array.from({ length: 3 * IDS_PER_READ }, (_, i) => ({ _id: `t-${i}`, n: i })) as never[]);
});

afterAll(() => app?.close());

describe('reading documents by _id in slices', () => {
  it('returns each listed document once, across slices and repeated ids, with the projection applied', async () => {
    const ids = [...Array.from({ length: 2 * IDS_PER_READ + 7 }, (_, i) => `t-${i}`), 't-3', 't-150', 'missing'];
    const found = await findByIds<{ _id: string; n?: number }>(app.store.connection.collection('things'), ids, { projection: { n: 0 } });
    expect(found.map((document) => document._id).sort()).toEqual(Array.from({ length: 2 * IDS_PER_READ + 7 }, (_, i) => `t-${i}`).sort());
    expect(found.every((document) => document.n === undefined)).toBe(true);
  });

  it('sends nothing for no ids', async () => {
    expect(await findByIds(app.store.connection.collection('things'), [])).toEqual([]);
  });
});
