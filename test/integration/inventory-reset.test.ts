import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.js';
import type { RequestContext } from '../../src/domain/common/request-context.js';
import { positionKey } from '../../src/domain/inventory/inventory.types.js';
import { confirmDuplicates, DuplicateFinder, LineSet } from '../../src/domain/inventory/reset/duplicate-finder.js';
import { resolveImportPath } from '../../src/domain/inventory/reset/import-path.js';
import { InventoryResetRun, type ResetStores } from '../../src/domain/inventory/reset/inventory-reset.job.js';
import { InventoryResetService, jobIdOf } from '../../src/domain/inventory/reset/inventory-reset.service.js';
import { hashFile, readResetFile, ResetFileError, type ParsedRow } from '../../src/domain/inventory/reset/reset-file.js';
import { INVALID_RESET_FILES, resetCsv, resetFileDir } from '../fixtures/inventory-reset-files.js';
import { openTestApp, uniqueDbName } from '../utils/test-store.js';

let app: App;
let ctx: RequestContext;
const files = resetFileDir('reset-integration');
const LOCATIONS = ['L-1', 'L-2'];
const SKUS = Array.from({ length: 12 }, (_, i) => `S-${i + 1}`);

beforeAll(async () => {
  app = await openTestApp(uniqueDbName('inventory_reset'), { IMPORT_DIR: files.dir, INVENTORY_RESET_CHUNK_ROWS: '4', INVENTORY_RESET_LEASE_MS: '200' });
  ctx = app.systemContext();
  await app.services.locations.upsert(ctx, LOCATIONS.map((code) => ({ code, name: code, kind: 'STORE', region: 'EU', timezone: 'UTC', negativeStockPolicy: 'ALLOW' })), null);
  await app.services.products.upsert(ctx, [{ code: 'P', title: 'P' }], null);
  await app.services.skus.upsert(ctx, SKUS.map((code) => ({ code, productCode: 'P', title: code })), null);
});

afterAll(async () => {
  await app?.close();
  files.remove();
});

async function readAll(path: string): Promise<ParsedRow[]> {
  const rows: ParsedRow[] = [];
  for await (const chunk of readResetFile(path, { chunkRows: 3 })) rows.push(...chunk);
  return rows;
}

async function fileError(path: string): Promise<ResetFileError> {
  try {
    await readAll(path);
  } catch (error) {
    if (error instanceof ResetFileError) return error;
    throw error;
  }
  throw new Error('expected a ResetFileError');
}

const onHandOf = async (sku: string, location = 'L-1') => (await app.store.repositories.inventoryPositions.findByKey(positionKey(sku, location)))?.onHand ?? null;
const adjust = (sku: string, delta: number, key: string, location = 'L-1') => app.services.inventory.adjust(ctx, [{ sku, location, delta, reason: delta < 0 ? 'SALE' : 'RECEIPT' }], key);
const tick = async (after: Date) => {
  while (Date.now() <= after.getTime()) await new Promise((resolve) => setImmediate(resolve));
};

/** `repository` with `method` throwing "runner died" on the calls `dies` picks, as a crashed process's store calls. */
function dyingAt<T extends object, K extends keyof T & string>(repository: T, method: K, dies: (call: number) => boolean): T {
  let calls = 0;
  return new Proxy(repository, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        if (dies(++calls)) throw new Error('runner died');
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** Creates the job for `path` and runs a first runner over `overrides` of the real stores until it dies; resolves the job id. */
async function runUntilTheRunnerDies(path: string, asOf: Date, overrides: Partial<ResetStores>): Promise<string> {
  const { sha256 } = await hashFile(path);
  const id = jobIdOf(sha256, { asOf, policy: 'REJECT_FILE', absent: 'LEAVE' });
  const repositories = app.store.repositories;
  const stores: ResetStores = { jobs: repositories.inventoryResetJobs, positions: repositories.inventoryPositions, movements: repositories.inventoryMovements, changeLog: repositories.changeLog, skus: repositories.skus, locations: repositories.locations, ...overrides };
  const now = new Date();
  const lease = { token: 'first-runner', until: new Date(now.getTime() + 200) };
  await stores.jobs.insertIfAbsent({ id, state: 'QUEUED', phase: null, path, fileSha256: sha256, fileBytes: 1, asOf, policy: 'REJECT_FILE', absent: 'LEAVE', rowsTotal: null, rowsValidated: 0, rowsProcessed: 0, rowsApplied: 0, rowsUnchanged: 0, rowsSkipped: 0, rowsStale: 0, positionsZeroed: 0, errorCount: 0, staleCount: 0, requestedBy: { keyId: 'system', name: 'system' }, errors: [], stalePositions: [], attempts: 0, createdAt: now, startedAt: null, finishedAt: null, updatedAt: now }, lease);
  const claimed = (await stores.jobs.claim(id, lease.token, path, now, lease.until))!;
  await expect(new InventoryResetRun(stores, claimed, lease.token, path, { chunkRows: 4, leaseMs: 200, logger: app.logger }).run()).rejects.toThrow('runner died');
  return id;
}

describe('reading a reset file', () => {
  it('takes the columns in any order and case, with a BOM, CRLF or LF endings, quotes, blank lines and an optional safetyStock', async () => {
    const path = files.write('variants.csv', '\uFEFF Location ,SKU,ONHAND,safetystock\r\nL-1,S-1,5,\r\n\r\n"L-2","S-2", 007 ,2\nL-1,S-3,0,0\n');
    const rows = await readAll(path);
    expect(rows).toEqual([
      { ok: true, row: { index: 0, line: 2, skuCode: 'S-1', locationCode: 'L-1', onHand: 5, safetyStock: null } },
      { ok: true, row: { index: 1, line: 4, skuCode: 'S-2', locationCode: 'L-2', onHand: 7, safetyStock: 2 } },
      { ok: true, row: { index: 2, line: 5, skuCode: 'S-3', locationCode: 'L-1', onHand: 0, safetyStock: 0 } },
    ]);
  });

  it.each(INVALID_RESET_FILES.filter((file) => ['WRONG_HEADER', 'MALFORMED_CSV', 'EMPTY_FILE'].includes(file.code)))('refuses the whole file: $name → $code', async ({ name, content, code, line }) => {
    const error = await fileError(files.write(name, content));
    expect(error.issue).toMatchObject({ code, line });
  });

  it.each(INVALID_RESET_FILES.filter((file) => ['WRONG_COLUMN_COUNT', 'BAD_ENCODING', 'INVALID_QUANTITY', 'OUT_OF_RANGE'].includes(file.code)))('reports a bad row with its line: $name → $code', async ({ name, content, code, line }) => {
    const rows = await readAll(files.write(name, content));
    const bad = rows.filter((row) => !row.ok);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ line, errors: [expect.objectContaining({ code, line })] });
  });

  it('reports every problem of a row, and keeps its valid codes so it still counts for duplicates', async () => {
    const rows = await readAll(files.write('many.csv', 'sku,location,onHand,safetyStock\nS 1,L-1,x,-1\nS-1,L-1,abc,\n'));
    expect(rows[0]).toMatchObject({ ok: false, skuCode: null, locationCode: 'L-1', errors: [{ code: 'INVALID_CODE', column: 'sku' }, { code: 'INVALID_QUANTITY', column: 'onHand' }, { code: 'OUT_OF_RANGE', column: 'safetyStock' }] });
    expect(rows[1]).toMatchObject({ ok: false, skuCode: 'S-1', locationCode: 'L-1', errors: [{ code: 'INVALID_QUANTITY' }] });
  });
});

describe('duplicate detection', () => {
  it('finds exactly the repeated keys of random files', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3 })), { maxLength: 200 }), async (rows) => {
        const keys = rows.map(([sku, location]) => `S-${sku}:L-${location}`);
        const finder = new DuplicateFinder();
        keys.forEach((key, i) => finder.add(key, i + 2));
        const confirmed = await confirmDuplicates(finder.suspects, async (lines) => new Map([...lines].map((line) => [line, keys[line - 2]!])));
        const expected = keys.flatMap((key, i) => (keys.indexOf(key) < i ? [{ first: keys.indexOf(key) + 2, line: i + 2, key }] : []));
        expect(confirmed).toEqual(expected);
      }),
    );
  });

  it('never reports two different keys whose hashes collide', async () => {
    const finder = new DuplicateFinder(100, () => [7, 7]);
    ['A:L', 'B:L', 'A:L', 'C:L'].forEach((key, i) => finder.add(key, i + 2));
    expect(finder.suspects).toHaveLength(3);
    const keys = ['A:L', 'B:L', 'A:L', 'C:L'];
    expect(await confirmDuplicates(finder.suspects, async (lines) => new Map([...lines].map((line) => [line, keys[line - 2]!])))).toEqual([{ first: 2, line: 4, key: 'A:L' }]);
  });

  it('stops recording repeats past its bound, and says so', () => {
    const finder = new DuplicateFinder(2);
    ['A', 'A', 'A', 'A'].forEach((key, i) => finder.add(key, i + 2));
    expect([finder.suspects.length, finder.overflowed]).toEqual([2, true]);
  });

  it('keeps line numbers in a bitset', () => {
    const set = new LineSet();
    for (const line of [2, 9, 100_000, 9]) set.add(line);
    expect([set.has(2), set.has(3), set.has(9), set.has(100_000), set.has(10_000_000), set.size]).toEqual([true, false, true, true, false, 3]);
  });
});

describe('the import directory', () => {
  it.each([['../etc/passwd'], ['/etc/passwd'], ['a/../../x.csv'], ['a\\..\\x.csv'], ['']])('refuses %j without looking it up', async (path) => {
    expect(await resolveImportPath(files.dir, path)).toMatchObject({ ok: false, issue: { path: ['path'], code: 'INVALID_FORMAT' } });
  });

  it('resolves a file inside it, and says when there is none', async () => {
    files.write('inside.csv', resetCsv([['S-1', 'L-1', 1]]));
    expect(await resolveImportPath(files.dir, './inside.csv')).toMatchObject({ ok: true, relative: 'inside.csv' });
    expect(await resolveImportPath(files.dir, 'missing.csv')).toMatchObject({ ok: false, issue: { code: 'UNKNOWN_REFERENCE' } });
  });
});

describe('a reset through the service', () => {
  it('takes the snapshot and re-applies what happened after asOf, not before', async () => {
    await adjust('S-1', 10, 'before-1');
    await adjust('S-2', 10, 'before-2');
    const asOf = new Date();
    await tick(asOf);
    await adjust('S-1', -3, 'after-1');
    const path = files.write('basic.csv', resetCsv([['S-1', 'L-1', 20, 2], ['S-2', 'L-1', 4], ['S-3', 'L-2', 0]]));
    const job = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf });
    expect(job).toMatchObject({ state: 'COMPLETED', rowsTotal: 3, rowsProcessed: 3, rowsApplied: 2, rowsUnchanged: 1, rowsSkipped: 0, errorCount: 0 });
    expect([await onHandOf('S-1'), await onHandOf('S-2'), await onHandOf('S-3', 'L-2')]).toEqual([17, 4, 0]);
    const s1 = await app.store.repositories.inventoryPositions.findByKey('S-1:L-1');
    expect(s1).toMatchObject({ safetyStock: 2, lastResetAsOf: asOf, lastResetJobId: job.id });
    const ledger = await app.services.inventory.listMovements(ctx, 'S-1', 'L-1', null, 50, null);
    expect(ledger.items.map((m) => [m.reason, m.delta, m.onHandAfter])).toEqual([['RECEIPT', 10, 10], ['SALE', -3, 7], ['RESET', 10, 17]]);
  });

  it('is the same job for the same file and options, applied once', async () => {
    const path = files.write('twice.csv', resetCsv([['S-4', 'L-1', 9]]));
    const asOf = new Date();
    const first = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf });
    await adjust('S-4', -1, 'twice-sale');
    const second = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf });
    expect(second).toMatchObject({ id: first.id, state: 'COMPLETED', attempts: 1 });
    expect(await onHandOf('S-4')).toBe(8);
    const sha = createHash('sha256').update(resetCsv([['S-4', 'L-1', 9]])).digest('hex');
    expect(first.id).toBe(jobIdOf(sha, { asOf, policy: 'REJECT_FILE', absent: 'LEAVE' }));
    const other = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf, absent: 'ZERO' });
    expect(other.id).not.toBe(first.id);
  });

  it('leaves a position alone that setInventory or a newer reset changed after asOf, and reports it', async () => {
    const asOf = new Date();
    await tick(asOf);
    await app.services.inventory.set(ctx, [{ sku: 'S-5', location: 'L-1', onHand: 50, compareOnHand: null }], null);
    const newer = files.write('newer.csv', resetCsv([['S-6', 'L-1', 30]]));
    await app.services.inventoryReset.importLocalFile(ctx, { path: newer, asOf: new Date(asOf.getTime() + 1) });
    const path = files.write('stale.csv', resetCsv([['S-5', 'L-1', 1], ['S-6', 'L-1', 2], ['S-7', 'L-1', 3]]));
    const job = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf });
    expect(job).toMatchObject({ state: 'COMPLETED', rowsApplied: 1, rowsStale: 2, staleCount: 2 });
    expect(job.stalePositions.map((stale) => [stale.line, stale.skuCode, stale.reason])).toEqual([[2, 'S-5', 'SET_AFTER_AS_OF'], [3, 'S-6', 'NEWER_RESET']]);
    expect([await onHandOf('S-5'), await onHandOf('S-6'), await onHandOf('S-7')]).toEqual([50, 30, 3]);
  });

  it('SKIP_ROWS applies the good rows; REJECT_FILE applies nothing', async () => {
    const content = resetCsv([['S-8', 'L-1', 8], ['NOPE', 'L-1', 1], ['S-9', 'L-1', 'x'], ['S-10', 'L-1', 10], ['S-10', 'L-1', 11]]);
    const path = files.write('mixed.csv', content);
    const asOf = new Date();
    const rejected = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf });
    expect(rejected).toMatchObject({ state: 'FAILED', rowsTotal: 5, rowsProcessed: 0, rowsApplied: 0, errorCount: 4 });
    expect(rejected.errors.map((error) => [error.line, error.code])).toEqual([[3, 'UNKNOWN_SKU'], [4, 'INVALID_QUANTITY'], [5, 'DUPLICATE_ROW'], [6, 'DUPLICATE_ROW']]);
    expect(await onHandOf('S-8')).toBeNull();
    const skipped = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf, policy: 'SKIP_ROWS' });
    expect(skipped).toMatchObject({ state: 'COMPLETED', rowsProcessed: 5, rowsApplied: 1, rowsSkipped: 4 });
    expect([await onHandOf('S-8'), await onHandOf('S-10')]).toEqual([8, null]);
  });

  it('ZERO sets the unlisted positions of the file’s locations to 0 plus their movements after asOf, and leaves other locations', async () => {
    await adjust('S-11', 5, 'zero-before');
    await adjust('S-12', 6, 'zero-other-location', 'L-2');
    const asOf = new Date();
    await tick(asOf);
    await adjust('S-11', -2, 'zero-after');
    const path = files.write('zero.csv', resetCsv([['S-1', 'L-1', 1]]));
    const job = await app.services.inventoryReset.importLocalFile(ctx, { path, asOf, absent: 'ZERO' });
    expect(job.state).toBe('COMPLETED');
    expect([await onHandOf('S-1'), await onHandOf('S-11'), await onHandOf('S-12', 'L-2')]).toEqual([1, -2, 6]);
    expect(job.positionsZeroed).toBeGreaterThan(0);
  });

  it('decides again when a sale wins the race between its read and its compare-and-set', async () => {
    await adjust('S-7', 5, 'race-before', 'L-2');
    const asOf = new Date();
    await tick(asOf);
    const positions = app.store.repositories.inventoryPositions;
    let raced = 0;
    const racing = new Proxy(positions, {
      get(target, property, receiver) {
        if (property === 'applyResetWrites') {
          return async (...args: Parameters<typeof positions.applyResetWrites>) => {
            // The first bulk write finds both positions changed under it: one by a sale, one created by a return.
            if (raced++ === 0) {
              await adjust('S-7', -2, 'race-sale', 'L-2');
              await adjust('S-8', 1, 'race-create', 'L-2');
            }
            return target.applyResetWrites(...args);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const service = new InventoryResetService(
      { jobs: app.store.repositories.inventoryResetJobs, positions: racing, movements: app.store.repositories.inventoryMovements, changeLog: app.store.repositories.changeLog, skus: app.store.repositories.skus, locations: app.store.repositories.locations },
      { importDir: files.dir, chunkRows: 10, leaseMs: 5_000 },
    );
    const path = files.write('race.csv', resetCsv([['S-7', 'L-2', 50], ['S-8', 'L-2', 60]]));
    const job = await service.importLocalFile(ctx, { path, asOf });
    expect(raced).toBe(2);
    expect(job).toMatchObject({ state: 'COMPLETED', rowsApplied: 2 });
    expect([await onHandOf('S-7', 'L-2'), await onHandOf('S-8', 'L-2')]).toEqual([48, 61]);
  });

  it('re-applies from the ledger what the position no longer remembers (more than 100 changes after asOf)', async () => {
    const asOf = new Date();
    await tick(asOf);
    for (let i = 0; i < 105; i++) await adjust('S-9', 1, `busy-${i}`, 'L-2');
    expect((await app.store.repositories.inventoryPositions.findByKey('S-9:L-2'))?.recentOps).toHaveLength(100);
    const path = files.write('busy.csv', resetCsv([['S-9', 'L-2', 10]]));
    await app.services.inventoryReset.importLocalFile(ctx, { path, asOf });
    expect(await onHandOf('S-9', 'L-2')).toBe(115);
  });

  it('resumes from its checkpoint after the runner died, applying each row once', async () => {
    const rows = SKUS.map((sku, i) => [sku, 'L-2', 100 + i] as const);
    const path = files.write('resume.csv', resetCsv(rows));
    const asOf = new Date();
    const service = app.services.inventoryReset as InventoryResetService;
    // The first runner dies after two chunks (8 rows): its store calls start failing, as after a crash.
    const id = await runUntilTheRunnerDies(path, asOf, { positions: dyingAt(app.store.repositories.inventoryPositions, 'applyResetWrites', (call) => call > 2) });
    expect(await app.store.repositories.inventoryResetJobs.findById(id)).toMatchObject({ state: 'RUNNING', rowsProcessed: 8, rowsApplied: 8 });

    // A sale lands on an applied row and on a pending one before the job is resumed.
    await adjust('S-1', -1, 'resume-sale-1', 'L-2');
    await adjust('S-12', -1, 'resume-sale-12', 'L-2');
    const resumed = await service.importLocalFile(ctx, { path, asOf });
    expect(resumed).toMatchObject({ id, state: 'COMPLETED', attempts: 2, rowsProcessed: 12, rowsApplied: 12 });
    for (const [i, sku] of SKUS.entries()) {
      expect(await onHandOf(sku, 'L-2')).toBe(100 + i - (sku === 'S-1' || sku === 'S-12' ? 1 : 0));
      const ledger = await app.services.inventory.listMovements(ctx, sku, 'L-2', asOf, 50, null);
      expect(ledger.items.filter((movement) => movement.reason === 'RESET')).toHaveLength(1);
    }
  });

  it('resumed after dying between the positions of a chunk and its ledger, and after a hundred more changes to one of them, writes each movement once', async () => {
    const rows = SKUS.map((sku, i) => [sku, 'L-1', 200 + i] as const);
    const path = files.write('resume-ledger.csv', resetCsv(rows));
    // S-6 already holds its snapshot value: the job only marks it, with no operation and no movement.
    await app.services.inventory.set(ctx, [{ sku: 'S-6', location: 'L-1', onHand: 205, compareOnHand: null }], 'resume-ledger-s6');
    const setAt = new Date();
    await tick(setAt);
    const asOf = new Date();
    const service = app.services.inventoryReset as InventoryResetService;
    // The first runner dies on its second ledger write: chunk 2's positions (S-5…S-8) are written, their movements are not.
    const id = await runUntilTheRunnerDies(path, asOf, { movements: dyingAt(app.store.repositories.inventoryMovements, 'insertManyIfAbsent', (call) => call === 2) });
    expect(await app.store.repositories.inventoryResetJobs.findById(id)).toMatchObject({ state: 'RUNNING', rowsProcessed: 4 });
    expect(await onHandOf('S-5')).toBe(204);

    // S-5 changes a hundred times: its position no longer remembers the reset's operation.
    await app.services.inventory.adjust(ctx, Array.from({ length: 100 }, () => ({ sku: 'S-5', location: 'L-1', delta: 1, reason: 'RECEIPT' })), 'resume-ledger-receipts');
    const resumed = await service.importLocalFile(ctx, { path, asOf });
    expect(resumed).toMatchObject({ id, state: 'COMPLETED', attempts: 2, rowsProcessed: 12, rowsApplied: 11, rowsUnchanged: 1 });
    expect(await onHandOf('S-5')).toBe(304);
    for (const [i, sku] of SKUS.entries()) {
      const ledger = await app.services.inventory.listMovements(ctx, sku, 'L-1', asOf, 200, null);
      expect(ledger.items.filter((movement) => movement.reason === 'RESET')).toMatchObject(sku === 'S-6' ? [] : [{ onHandAfter: 200 + i }]);
    }
  });

  it('is held by the replica that creates it: no other replica sweeping for abandoned jobs takes it first', async () => {
    const jobs = app.store.repositories.inventoryResetJobs;
    const now = new Date();
    const until = new Date(now.getTime() + 60_000);
    const id = 'irj_created_and_held';
    const job = { id, state: 'QUEUED', phase: null, path: 'held.csv', fileSha256: 'x', fileBytes: 1, asOf: now, policy: 'REJECT_FILE', absent: 'LEAVE', rowsTotal: null, rowsValidated: 0, rowsProcessed: 0, rowsApplied: 0, rowsUnchanged: 0, rowsSkipped: 0, rowsStale: 0, positionsZeroed: 0, errorCount: 0, staleCount: 0, requestedBy: { keyId: 'system', name: 'system' }, errors: [], stalePositions: [], attempts: 0, createdAt: now, startedAt: null, finishedAt: null, updatedAt: now } as const;
    expect(await jobs.insertIfAbsent(job, { token: 'creator', until })).toBe(true);

    expect((await jobs.findAbandoned(new Date(), 100)).map((found) => found.id)).not.toContain(id);
    expect(await jobs.claim(id, 'sweeper', 'held.csv', new Date(), until)).toBeNull();
    expect(await jobs.claim(id, 'creator', 'held.csv', new Date(), until)).toMatchObject({ id, state: 'RUNNING', attempts: 1 });
  });
});
