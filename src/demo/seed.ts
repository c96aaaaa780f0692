import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../app/app.js';
import type { Scope } from '../domain/access/access.types.js';
import { isErrorResult } from '../domain/common/errors.js';
import { MAX_BATCH_ITEMS } from '../domain/common/batch.js';
import { DEMO_CHANNELS, generateDemoCatalog } from './demo-data.js';

export interface DemoKey {
  readonly name: string;
  readonly key: string;
  readonly scopes: readonly Scope[];
  readonly channels: readonly string[];
}

const DEMO_KEYS: readonly Omit<DemoKey, 'key'>[] = [
  { name: 'demo-erp', scopes: ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write', 'prices:write'], channels: [] },
  { name: 'demo-analyst', scopes: ['catalog:read', 'inventory:read'], channels: [] },
  ...DEMO_CHANNELS.map((channel) => ({ name: `demo-storefront-${channel.toLowerCase()}`, scopes: ['catalog:read', 'inventory:read'] as Scope[], channels: [channel] })),
];

/**
 * Loads the demo catalog into an empty store through the same services the API uses, and creates demo keys.
 * Keys are kept in DATA_DIR/demo-keys.json so a restart can print them again (their secrets are not in the
 * store). Returns the keys, or an empty list when the store already had data and no key file exists.
 */
export async function seedDemoData(app: App): Promise<DemoKey[]> {
  const keyFile = join(app.config.store.dataDir, 'demo-keys.json');
  const ctx = app.systemContext();
  const existing = await app.services.skus.list(ctx, { includeArchived: true }, 1, null);
  if (existing.items.length > 0) return existsSync(keyFile) ? (JSON.parse(readFileSync(keyFile, 'utf8')) as DemoKey[]) : [];

  const started = Date.now();
  const catalog = generateDemoCatalog();
  await apply('locations', [catalog.locations], (batch) => app.services.locations.upsert(ctx, batch, null));
  await apply('channels', [catalog.channels], (batch) => app.services.channels.upsert(ctx, batch, null));
  await apply('products', chunks(catalog.products), (batch) => app.services.products.upsert(ctx, batch, null));
  await apply('skus', chunks(catalog.skus), (batch) => app.services.skus.upsert(ctx, batch, null));
  for (const { channel, items } of catalog.mappings) {
    await apply(`mappings of ${channel}`, chunks(items), (batch) => app.services.skuMappings.map(ctx, channel, batch, null));
  }
  const keys: DemoKey[] = [];
  for (const spec of DEMO_KEYS) {
    const created = await app.services.apiKeys.create(ctx, { name: spec.name, scopes: [...spec.scopes], channels: [...spec.channels] });
    keys.push({ ...spec, key: created.key });
  }
  mkdirSync(app.config.store.dataDir, { recursive: true });
  writeFileSync(keyFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  app.logger.info({ products: catalog.products.length, skus: catalog.skus.length, locations: catalog.locations.length, channels: catalog.channels.length, ms: Date.now() - started }, 'demo data loaded');
  return keys;
}

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_BATCH_ITEMS) result.push(items.slice(i, i + MAX_BATCH_ITEMS));
  return result;
}

async function apply<T>(what: string, batches: readonly (readonly T[])[], write: (batch: readonly T[]) => Promise<unknown>): Promise<void> {
  for (const batch of batches) {
    const result = await write(batch);
    if (isErrorResult(result)) throw new Error(`Demo ${what} were rejected: ${result.message}`);
  }
}
