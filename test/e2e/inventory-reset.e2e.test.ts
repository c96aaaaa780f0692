import { spawn } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey } from '../utils/test-store.js';
import { INVALID_RESET_FILES, resetCsv, resetFileDir, type ResetFileRow } from '../fixtures/inventory-reset-files.js';
import { startCatalogGateway, type CatalogGateway } from './fixture.js';
import { importInventory, inventoryResetJob, settledJob, startImport, type ResetJobView } from './inventory-reset-operations.js';
import { adjustInventory, inventoryMovements, inventoryPosition, setInventory } from './inventory-operations.js';
import { upsertChannels, upsertLocations, upsertProducts, upsertSkus } from './operations.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const files = resetFileDir('reset-e2e');
const CHUNK_ROWS = '2';
let fx: CatalogGateway;
let admin: GraphqlClient;
let writer: GraphqlClient;
let saleKey = 0;

const SKUS = Array.from({ length: 8 }, (_, i) => `S-${i + 1}`);

beforeAll(async () => {
  fx = await startCatalogGateway('inventory_reset', { IMPORT_DIR: files.dir, INVENTORY_RESET_CHUNK_ROWS: CHUNK_ROWS });
  const catalog = graphqlClient(fx.gateway.url, await createKey(fx.app, 'catalog', ['catalog:read', 'catalog:write']));
  await catalog(upsertLocations, {
    input: ['L-1', 'L-2', 'L-3'].map((code) => ({ code, name: code, kind: 'STORE', region: 'EU', timezone: 'UTC', negativeStockPolicy: 'ALLOW' })),
  });
  await catalog(upsertChannels, { input: [{ code: 'WEB', name: 'Web', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1'] }] });
  await catalog(upsertProducts, { input: [{ code: 'P', title: 'Tee' }] });
  await catalog(upsertSkus, { input: SKUS.map((code) => ({ code, productCode: 'P', title: code })) });
  admin = graphqlClient(fx.gateway.url, await createKey(fx.app, 'erp-admin', ['sync:admin', 'inventory:read', 'inventory:write']));
  writer = graphqlClient(fx.gateway.url, await createKey(fx.app, 'erp-writer', ['inventory:read', 'inventory:write']));
});

afterAll(async () => {
  await fx?.close();
  files.remove();
});

async function adjust(sku: string, location: string, delta: number): Promise<void> {
  const response = await admin(adjustInventory, { items: [{ sku, location, delta, reason: delta < 0 ? 'SALE' : 'RECEIPT' }], key: `sale-${++saleKey}` });
  expect(response.data?.adjustInventory).toMatchObject({ __typename: 'InventoryBatchResult', items: [{ outcome: 'APPLIED' }] });
}

const onHand = async (sku: string, location: string) => (await admin(inventoryPosition, { sku, location })).data?.inventoryPosition?.onHand ?? null;
const resetMovements = async (sku: string, location: string) =>
  (await admin(inventoryMovements, { sku, location, first: 500 })).data?.inventoryMovements.nodes.filter((movement) => movement.reason === 'RESET') ?? [];

/** A moment just past: movements stamped after it are "after asOf". */
async function asOfNow(): Promise<string> {
  const asOf = new Date();
  while (Date.now() <= asOf.getTime()) await new Promise((resolve) => setImmediate(resolve));
  return asOf.toISOString();
}

async function importAndWait(client: GraphqlClient, name: string, content: string | Buffer, options: { asOf: string; policy?: string; absent?: string }): Promise<ResetJobView> {
  files.write(name, content);
  const job = await startImport(client, { path: name, ...options });
  return settledJob(client, job.id);
}

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run cli -- import-inventory …` as a child process on the gateway's database. */
function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'import-inventory', ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', MONGODB_URI: inject('mongoUri'), MONGODB_DB: fx.app.config.store.dbName },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('importInventory', () => {
  it('takes the snapshot and re-applies the sales stamped after asOf, so a sale during the import is not lost', async () => {
    await adjust('S-1', 'L-1', 10);
    await adjust('S-1', 'L-1', -2); // before asOf: the ERP's snapshot already counts it
    const asOf = await asOfNow();
    await adjust('S-1', 'L-1', -3); // after asOf: re-applied on top of the snapshot
    const job = await importAndWait(admin, 'basic.csv', resetCsv([['S-1', 'L-1', 20, 1], ['S-2', 'L-1', 5], ['S-3', 'L-2', 0]]), { asOf });
    expect(job).toMatchObject({
      state: 'COMPLETED',
      phase: null,
      path: 'basic.csv',
      policy: 'REJECT_FILE',
      absent: 'LEAVE',
      rowsTotal: 3,
      rowsProcessed: 3,
      rowsApplied: 2,
      rowsUnchanged: 1,
      rowsSkipped: 0,
      errorCount: 0,
      requestedBy: 'erp-admin',
      attempts: 1,
    });
    expect(job.id).toMatch(/^irj_[0-9a-f]{32}$/);
    expect(job.finishedAt).not.toBeNull();
    expect([await onHand('S-1', 'L-1'), await onHand('S-2', 'L-1'), await onHand('S-3', 'L-2')]).toEqual([17, 5, 0]);
    const [movement] = await resetMovements('S-1', 'L-1');
    expect(movement).toMatchObject({ delta: 12, onHandBefore: 5, onHandAfter: 17, apiKey: 'erp-admin', referenceDocument: `inventory-reset:${job.id}:line-2` });
    const position = (await admin(inventoryPosition, { sku: 'S-1', location: 'L-1' })).data?.inventoryPosition;
    expect(position).toMatchObject({ safetyStock: 1, available: 16 });
  });

  it('returns the existing job for the same file, asOf and options, and applies it once', async () => {
    const asOf = await asOfNow();
    const first = await importAndWait(admin, 'twice.csv', resetCsv([['S-4', 'L-1', 9]]), { asOf });
    await adjust('S-4', 'L-1', -1);
    const again = await startImport(admin, { path: 'twice.csv', asOf });
    files.write('twice-copy.csv', resetCsv([['S-4', 'L-1', 9]]));
    const copy = await startImport(admin, { path: 'twice-copy.csv', asOf });
    expect([again.id, copy.id]).toEqual([first.id, first.id]);
    expect(again).toMatchObject({ state: 'COMPLETED', attempts: 1, rowsApplied: 1 });
    expect(await onHand('S-4', 'L-1')).toBe(8);
    expect(await resetMovements('S-4', 'L-1')).toHaveLength(1);
  });

  describe('rejects a bad file with typed errors and line numbers, applying nothing', () => {
    beforeAll(async () => {
      await adjust('S-1', 'L-3', 7);
    });

    it.each(INVALID_RESET_FILES)('$name → $code at line $line', async ({ name, content, code, line }) => {
      const before = [await onHand('S-1', 'L-1'), await onHand('S-2', 'L-1'), (await resetMovements('S-1', 'L-1')).length];
      const job = await importAndWait(admin, name, content, { asOf: new Date().toISOString() });
      expect(job).toMatchObject({ state: 'FAILED', rowsProcessed: 0, rowsApplied: 0 });
      expect(job.errorCount).toBeGreaterThan(0);
      expect(job.errors[0]).toMatchObject({ code, line });
      expect(job.errors[0]!.message.length).toBeGreaterThan(10);
      expect(await onHand('S-1', 'L-3')).toBe(7);
      expect(await onHand('S-2', 'L-3')).toBeNull();
      expect([await onHand('S-1', 'L-1'), await onHand('S-2', 'L-1'), (await resetMovements('S-1', 'L-1')).length]).toEqual(before);
    });

    it('reports both rows of a duplicate with each other’s line', async () => {
      const job = await importAndWait(admin, 'dup-lines.csv', resetCsv([['S-1', 'L-3', 1], ['S-2', 'L-3', 2], ['S-1', 'L-3', 3]]), { asOf: new Date().toISOString() });
      expect(job.errors.map((error) => [error.line, error.code, error.skuCode, error.locationCode])).toEqual([
        [2, 'DUPLICATE_ROW', 'S-1', 'L-3'],
        [4, 'DUPLICATE_ROW', 'S-1', 'L-3'],
      ]);
      expect(job.errors[1]!.message).toContain('line 2');
    });
  });

  it('SKIP_ROWS applies the good rows and reports the others', async () => {
    const content = resetCsv([['S-5', 'L-3', 5], ['NOPE', 'L-3', 1], ['S-6', 'L-3', 'six'], ['S-7', 'L-3', 7]]);
    const job = await importAndWait(admin, 'skip.csv', content, { asOf: new Date().toISOString(), policy: 'SKIP_ROWS' });
    expect(job).toMatchObject({ state: 'COMPLETED', rowsTotal: 4, rowsProcessed: 4, rowsApplied: 2, rowsSkipped: 2, errorCount: 2 });
    expect(job.errors.map((error) => [error.line, error.code])).toEqual([[3, 'UNKNOWN_SKU'], [4, 'INVALID_QUANTITY']]);
    expect([await onHand('S-5', 'L-3'), await onHand('S-6', 'L-3'), await onHand('S-7', 'L-3')]).toEqual([5, null, 7]);
  });

  it('LEAVE keeps the positions the file does not list; ZERO sets them to 0 plus their movements after asOf', async () => {
    for (const sku of ['S-1', 'S-2', 'S-3']) await adjust(sku, 'L-2', 10);
    await adjust('S-8', 'L-1', 4); // another location: never touched by a file about L-2
    const asOf = await asOfNow();
    await adjust('S-3', 'L-2', -4);
    const leave = await importAndWait(admin, 'leave.csv', resetCsv([['S-1', 'L-2', 3]]), { asOf });
    expect(leave).toMatchObject({ state: 'COMPLETED', positionsZeroed: 0 });
    expect([await onHand('S-1', 'L-2'), await onHand('S-2', 'L-2'), await onHand('S-3', 'L-2')]).toEqual([3, 10, 6]);

    const zero = await importAndWait(admin, 'zero.csv', resetCsv([['S-1', 'L-2', 3]]), { asOf, absent: 'ZERO' });
    expect(zero).toMatchObject({ state: 'COMPLETED', absent: 'ZERO' });
    expect(zero.id).not.toBe(leave.id);
    expect([await onHand('S-1', 'L-2'), await onHand('S-2', 'L-2'), await onHand('S-3', 'L-2'), await onHand('S-8', 'L-1')]).toEqual([3, 0, -4, 4]);
    expect(zero.positionsZeroed).toBe(2);
    expect((await resetMovements('S-3', 'L-2')).at(-1)).toMatchObject({ delta: -10, onHandAfter: -4, referenceDocument: `inventory-reset:${zero.id}` });
  });

  it('leaves a position that setInventory set after asOf and reports it', async () => {
    const asOf = await asOfNow();
    await admin(setInventory, { items: [{ sku: 'S-6', location: 'L-1', onHand: 40, compareOnHand: null }] });
    const job = await importAndWait(admin, 'stale.csv', resetCsv([['S-6', 'L-1', 1], ['S-7', 'L-1', 2]]), { asOf });
    expect(job).toMatchObject({ state: 'COMPLETED', rowsApplied: 1, rowsStale: 1, staleCount: 1, stalePositions: [{ line: 2, skuCode: 'S-6', locationCode: 'L-1', reason: 'SET_AFTER_AS_OF' }] });
    expect(await onHand('S-6', 'L-1')).toBe(40);
  });

  it('runs the same job from the CLI, with progress on stderr and the job as JSON on stdout', async () => {
    const asOf = await asOfNow();
    const content = resetCsv([['S-2', 'L-1', 11], ['S-3', 'L-1', 12], ['S-4', 'L-1', 13]]);
    const path = files.write('cli.csv', content);
    const resetsBefore = (await resetMovements('S-2', 'L-1')).length;
    const run = await runCli([path, '--as-of', asOf, '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('import-inventory: validating');
    expect(run.stderr).toContain('import-inventory: applying');
    const job = JSON.parse(run.stdout) as { id: string; state: string; rowsApplied: number; requestedBy: { keyId: string; name: string } };
    expect(job).toMatchObject({ state: 'COMPLETED', rowsApplied: 3, requestedBy: { name: 'system' } });
    expect([await onHand('S-2', 'L-1'), await onHand('S-3', 'L-1'), await onHand('S-4', 'L-1')]).toEqual([11, 12, 13]);
    // The same content through the API is the same job: already applied.
    files.write('cli-copy.csv', content);
    expect(await startImport(admin, { path: 'cli-copy.csv', asOf })).toMatchObject({ id: job.id, state: 'COMPLETED' });
    const again = await runCli([path, '--as-of', asOf]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`inventory reset ${job.id} COMPLETED: 3 rows`);
    expect(await resetMovements('S-2', 'L-1')).toHaveLength(resetsBefore + 1);
  });

  it('the CLI exits 3 with the errors when the file is rejected, and refuses a time without a zone', async () => {
    const path = files.write('cli-bad.csv', 'sku,location,onHand\nS-1,L-1,-1\n');
    const rejected = await runCli([path, '--as-of', new Date().toISOString()]);
    expect(rejected.code).toBe(3);
    expect(rejected.stdout).toContain('line 2 OUT_OF_RANGE');
    const zoneless = await runCli([path, '--as-of', '2026-11-24T05:00:00']);
    expect(zoneless.code).not.toBe(0);
    expect(zoneless.stderr).toContain('ISO-8601 time with a zone');
  });
});

describe('the import directory is a security boundary', () => {
  it.each([['../outside.csv'], ['/etc/passwd'], ['sub/../../outside.csv']])('refuses %j', async (path) => {
    const response = await admin(importInventory, { path, asOf: new Date().toISOString() });
    expect(response.data?.importInventory).toMatchObject({ __typename: 'InvalidInputError', issues: [{ path: ['path'], code: 'INVALID_FORMAT' }] });
  });

  it('refuses a symbolic link that leads out of it, and names a missing file', async () => {
    symlinkSync('/etc/hostname', `${files.dir}/link.csv`);
    expect((await admin(importInventory, { path: 'link.csv', asOf: new Date().toISOString() })).data?.importInventory).toMatchObject({ issues: [{ path: ['path'], code: 'INVALID_FORMAT' }] });
    expect((await admin(importInventory, { path: 'missing.csv', asOf: new Date().toISOString() })).data?.importInventory).toMatchObject({ issues: [{ path: ['path'], code: 'UNKNOWN_REFERENCE' }] });
  });

  it('refuses an asOf in the future', async () => {
    files.write('future.csv', resetCsv([['S-1', 'L-1', 1]]));
    const response = await admin(importInventory, { path: 'future.csv', asOf: new Date(Date.now() + 3_600_000).toISOString() });
    expect(response.data?.importInventory).toMatchObject({ issues: [{ path: ['asOf'], code: 'OUT_OF_RANGE' }] });
  });
});

describe('access', () => {
  it('needs SYNC_ADMIN, and an unbound key', async () => {
    files.write('access.csv', resetCsv([['S-1', 'L-1', 1]]));
    const denied = await writer(importInventory, { path: 'access.csv', asOf: new Date().toISOString() });
    expect(denied.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'sync:admin' });
    expect((await writer(inventoryResetJob, { id: 'irj_x' })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bound = graphqlClient(fx.gateway.url, await createKey(fx.app, 'bound-admin', ['sync:admin'], ['WEB']));
    expect((await bound(importInventory, { path: 'access.csv', asOf: new Date().toISOString() })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await bound(inventoryResetJob, { id: 'irj_x' })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await admin(inventoryResetJob, { id: 'irj_x' })).data?.inventoryResetJob).toBeNull();
  });
});

describe('progress', () => {
  let paused: GatewayProcess;

  afterAll(async () => {
    await paused?.stop();
  });

  it('is readable while the job runs, chunk by chunk', async () => {
    paused = await startGatewayProcess({
      env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: fx.app.config.store.dbName, IMPORT_DIR: files.dir, INVENTORY_RESET_CHUNK_ROWS: CHUNK_ROWS, FAILPOINTS: 'inventory.reset.after-chunk=pause' },
    });
    const client = graphqlClient(paused.url, await createKey(fx.app, 'progress', ['sync:admin', 'inventory:read']));
    const rows: ResetFileRow[] = SKUS.slice(0, 6).map((sku, i) => [sku, 'L-3', 30 + i]);
    files.write('progress.csv', resetCsv(rows));
    const started = await startImport(client, { path: 'progress.csv', asOf: new Date().toISOString() });
    expect(['QUEUED', 'RUNNING']).toContain(started.state);
    const seen: Pick<ResetJobView, 'state' | 'phase' | 'rowsTotal' | 'rowsProcessed'>[] = [];
    for (let chunk = 0; chunk < 3; chunk++) {
      await waitForPauses(paused, chunk + 1);
      const job = (await client(inventoryResetJob, { id: started.id })).data?.inventoryResetJob;
      seen.push({ state: job!.state, phase: job!.phase, rowsTotal: job!.rowsTotal, rowsProcessed: job!.rowsProcessed });
      paused.process.kill('SIGUSR2');
    }
    const done = await settledJob(client, started.id);
    expect(seen).toEqual([
      { state: 'RUNNING', phase: 'APPLYING', rowsTotal: 6, rowsProcessed: 0 },
      { state: 'RUNNING', phase: 'APPLYING', rowsTotal: 6, rowsProcessed: 2 },
      { state: 'RUNNING', phase: 'APPLYING', rowsTotal: 6, rowsProcessed: 4 },
    ]);
    expect(done).toMatchObject({ state: 'COMPLETED', rowsProcessed: 6, rowsApplied: 6 });
  });
});

/** Resolves once the gateway has logged its `count`-th "failpoint paused" line (bounded: 30 s). */
async function waitForPauses(gateway: GatewayProcess, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (gateway.output.filter((line) => line.includes('"msg":"failpoint paused"')).length < count) {
    if (Date.now() > deadline || gateway.process.exitCode !== null) throw new Error(`expected ${count} pause(s):\n${gateway.output.slice(-20).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
