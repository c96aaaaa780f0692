import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient } from '../utils/graphql-client.js';
import { channelsAndLocations, productWithSkus, skusPage, upsertProducts, viewer } from './operations.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'rsg-start-'));
/** What `npm start` sees on a fresh machine: no MONGODB_URI, development mode, demo data on. */
const env = { NODE_ENV: 'development', MONGODB_URI: '', MONGODB_DB: '', SEED_DEMO_DATA: '', DATA_DIR: dataDir, AUTH_CACHE_TTL_MS: '0' };

interface DemoKey {
  name: string;
  key: string;
}

let gateway: GatewayProcess;
let keys: Record<string, string>;

beforeAll(async () => {
  gateway = await startGatewayProcess({ env, startTimeoutMs: 110_000 });
  keys = Object.fromEntries((JSON.parse(readFileSync(join(dataDir, 'demo-keys.json'), 'utf8')) as DemoKey[]).map((key) => [key.name, key.key]));
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'warn' } });

describe('npm start with no configuration', () => {
  it('loads the demo catalog into the embedded store and prints demo keys', async () => {
    expect(gateway.output.join('\n')).toMatch(/Demo API keys/);
    expect(Object.keys(keys).sort()).toEqual(['demo-analyst', 'demo-erp', 'demo-storefront-mkt-us', 'demo-storefront-pos-eu', 'demo-storefront-web-eu']);
    const analyst = graphqlClient(gateway.url, keys['demo-analyst']!);
    const skus = await analyst(skusPage, { first: 1, filter: { includeArchived: true } });
    expect(skus.data?.skus.totalCount).toBeGreaterThanOrEqual(1_900);
    const catalog = await analyst(channelsAndLocations);
    expect(catalog.data?.channels).toHaveLength(3);
    expect(catalog.data?.locations).toHaveLength(12);
    const storefront = await graphqlClient(gateway.url, keys['demo-storefront-web-eu']!)(channelsAndLocations);
    expect(storefront.data?.channels.map((channel) => channel.code)).toEqual(['WEB-EU']);
  });

  it('lets the CLI create, list and revoke keys against the running gateway\'s store', async () => {
    const created = JSON.parse((await cli('api-key', 'create', '--name', 'cli-made', '--scopes', 'catalog:read', '--json')).stdout) as { key: string; keyId: string };
    const client = graphqlClient(gateway.url, created.key);
    expect((await client(viewer)).data?.viewer.name).toBe('cli-made');

    await cli('api-key', 'revoke', created.keyId);
    expect((await client(viewer)).status).toBe(401);
    const listed = JSON.parse((await cli('api-key', 'list', '--json')).stdout) as { keyId: string; revokedAt: string | null; secretHash?: string }[];
    const entry = listed.find((key) => key.keyId === created.keyId);
    expect(entry?.revokedAt).not.toBeNull();
    expect(listed.every((key) => key.secretHash === undefined)).toBe(true);
  });

  it('refuses an unknown scope in the CLI with a clear message', async () => {
    await expect(cli('api-key', 'create', '--name', 'x', '--scopes', 'catalog:root')).rejects.toMatchObject({ stderr: expect.stringMatching(/unknown scope\(s\) catalog:root/) });
  });

  it('keeps what was written across a restart, without seeding again', async () => {
    const erp = graphqlClient(gateway.url, keys['demo-erp']!);
    await erp(upsertProducts, { input: [{ code: 'KEPT-1', title: 'Survives restarts' }] });
    const before = (await erp(skusPage, { first: 1, filter: { includeArchived: true } })).data?.skus.totalCount;

    expect(await gateway.stop()).toBe(0);
    gateway = await startGatewayProcess({ env, startTimeoutMs: 110_000 });

    const again = graphqlClient(gateway.url, keys['demo-erp']!);
    expect((await again(productWithSkus, { code: 'KEPT-1' })).data?.product?.title).toBe('Survives restarts');
    expect((await again(skusPage, { first: 1, filter: { includeArchived: true } })).data?.skus.totalCount).toBe(before);
    expect(gateway.output.join('\n')).toMatch(/Demo API keys/);
  });
});
