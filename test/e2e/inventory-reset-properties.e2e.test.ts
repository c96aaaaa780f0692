import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { App } from '../../src/app/app.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { resetCsv, resetFileDir, type ResetFileRow } from '../fixtures/inventory-reset-files.js';
import { inventoryResetJob, movementTimes, settledJob, startImport, type ResetJobView } from './inventory-reset-operations.js';
import { adjustInventory, inventoryMovements, inventoryPosition, type InventoryResult } from './inventory-operations.js';
import { upsertLocations, upsertProducts, upsertSkus } from './operations.js';

/**
 * The daily reset against live traffic, across two gateway processes, and against a gateway that dies
 * mid-import. The reference model is the rule itself, stated serially: a position in the file ends at
 * snapshot + Σ(sales after asOf); one absent from it at (ZERO ? 0 : its value at asOf) + Σ(sales after asOf).
 */

const files = resetFileDir('reset-properties');
const SKUS = Array.from({ length: 12 }, (_, i) => `S-${i + 1}`);
/** Small chunks and a short lease, so an import of a few rows spans several checkpoints and a takeover is quick. */
const env = { IMPORT_DIR: files.dir, INVENTORY_RESET_CHUNK_ROWS: '2', INVENTORY_RESET_LEASE_MS: '500', IDEMPOTENCY_LEASE_MS: '300' };

let app: App;
let dbName: string;
let key: string;
let gateways: GatewayProcess[] = [];
let clients: GraphqlClient[] = [];
let saleKey = 0;

beforeAll(async () => {
  dbName = uniqueDbName('inventory_reset_properties');
  app = await openTestApp(dbName);
  key = await createKey(app, 'erp', ['catalog:read', 'catalog:write', 'inventory:read', 'inventory:write', 'sync:admin']);
  gateways = await Promise.all([0, 1].map(() => startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName } })));
  clients = gateways.map((gateway) => graphqlClient(gateway.url, key));
  const [a] = clients as [GraphqlClient];
  await a(upsertLocations, { input: ['L', 'CRASH', 'KILL', 'ORPHAN'].map((code) => ({ code, name: code, kind: 'DISTRIBUTION_CENTER', region: 'EU', timezone: 'UTC', negativeStockPolicy: 'ALLOW' })) });
  await a(upsertProducts, { input: [{ code: 'P', title: 'P' }] });
  await a(upsertSkus, { input: SKUS.map((code) => ({ code, productCode: 'P', title: code })) });
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await app?.close();
  files.remove();
});

/** A client's retry loop: resend while the key is held by a request still in progress. */
async function settle(send: () => Promise<InventoryResult | undefined>): Promise<InventoryResult> {
  for (let attempt = 0; attempt < 2_000; attempt++) {
    const result = await send();
    if (result && result.__typename !== 'IdempotencyKeyInProgressError') return result;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the idempotency key never settled');
}

async function sale(client: GraphqlClient, sku: string, location: string, delta: number): Promise<void> {
  const idempotencyKey = `sale-${++saleKey}`;
  const result = await settle(async () => (await client(adjustInventory, { items: [{ sku, location, delta, reason: delta < 0 ? 'SALE' : 'RETURN' }], key: idempotencyKey })).data?.adjustInventory);
  expect(result).toMatchObject({ __typename: 'InventoryBatchResult', items: [{ outcome: 'APPLIED' }] });
}

const onHandOf = async (sku: string, location: string) => (await clients[0]!(inventoryPosition, { sku, location })).data?.inventoryPosition?.onHand ?? 0;
const resetMovementsOf = async (sku: string, location: string, jobId: string) =>
  ((await clients[1]!(inventoryMovements, { sku, location, first: 500 })).data?.inventoryMovements.nodes ?? []).filter((movement) => movement.reason === 'RESET' && movement.referenceDocument?.startsWith(`inventory-reset:${jobId}`));

/** A moment just past: everything applied so far is stamped at or before it, everything later after it. */
async function asOfNow(): Promise<Date> {
  const asOf = new Date();
  while (Date.now() <= asOf.getTime()) await new Promise((resolve) => setImmediate(resolve));
  return asOf;
}

interface PositionPlan {
  readonly inFile: boolean;
  readonly snapshot: number;
  readonly before: readonly number[];
  readonly after: readonly number[];
}

const delta = fc.integer({ min: -4, max: 4 }).filter((d) => d !== 0);
const positionPlan = fc.record({ inFile: fc.boolean(), snapshot: fc.integer({ min: 0, max: 40 }), before: fc.array(delta, { maxLength: 2 }), after: fc.array(delta, { maxLength: 3 }) });

describe('a reset with concurrent sales through two gateways', () => {
  it('ends where the serial model says, applying each row once', async () => {
    let run = 0;
    /** Sales applied while a job was running: the property must have exercised the race, not only its ends. */
    let salesDuringJobs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(positionPlan, { minLength: SKUS.length, maxLength: SKUS.length }).filter((plans) => plans.some((plan) => plan.inFile)),
        fc.constantFrom('LEAVE', 'ZERO'),
        async (plans, absent) => {
          run++;
          // Before asOf: the ERP's snapshot already includes these.
          await Promise.all(plans.flatMap((plan, i) => plan.before.map((d, j) => sale(clients[(i + j) % 2]!, SKUS[i]!, 'L', d))));
          const atAsOf = await Promise.all(SKUS.map((sku) => onHandOf(sku, 'L')));
          const asOf = await asOfNow();
          const rows: ResetFileRow[] = plans.flatMap((plan, i) => (plan.inFile ? [[SKUS[i]!, 'L', plan.snapshot] as const] : []));
          const name = `run-${run}.csv`;
          files.write(name, resetCsv(rows));

          // The import (on gateway 0) and the sales after asOf (on both gateways) race.
          const [job] = await Promise.all([
            startImport(clients[0]!, { path: name, asOf: asOf.toISOString(), absent }),
            ...plans.flatMap((plan, i) => plan.after.map((d, j) => sale(clients[(i + j + 1) % 2]!, SKUS[i]!, 'L', d))),
          ]);
          const done = await settledJob(clients[1]!, (job as ResetJobView).id);
          expect(done).toMatchObject({ state: 'COMPLETED', rowsTotal: rows.length, rowsProcessed: rows.length, rowsStale: 0, errorCount: 0 });

          const sum = (deltas: readonly number[]) => deltas.reduce((total, d) => total + d, 0);
          for (const [i, plan] of plans.entries()) {
            const base = plan.inFile ? plan.snapshot : absent === 'ZERO' ? 0 : atAsOf[i]!;
            expect({ sku: SKUS[i], onHand: await onHandOf(SKUS[i]!, 'L') }).toEqual({ sku: SKUS[i], onHand: base + sum(plan.after) });
            // A row changes its position once (whatever the sales around it did) exactly when the snapshot differs.
            const resets = await resetMovementsOf(SKUS[i]!, 'L', done.id);
            if (plan.inFile) expect(resets).toHaveLength(atAsOf[i] === plan.snapshot ? 0 : 1);
            else expect(resets.length).toBeLessThanOrEqual(1);
          }
          expect(done.rowsApplied + done.rowsUnchanged).toBe(rows.length);
          const [from, to] = [Date.parse(done.startedAt!), Date.parse(done.finishedAt!)];
          for (const sku of SKUS) {
            const times = (await clients[0]!(movementTimes, { sku, location: 'L' })).data?.inventoryMovements.nodes ?? [];
            salesDuringJobs += times.filter((movement) => movement.reason !== 'RESET' && Date.parse(movement.at) >= from && Date.parse(movement.at) <= to).length;
          }
          expect(done.rowsApplied).toBe(plans.filter((plan, i) => plan.inFile && atAsOf[i] !== plan.snapshot).length);
        },
      ),
      { numRuns: 12 },
    );
    expect(salesDuringJobs).toBeGreaterThan(0);
  });
});

describe('a gateway that dies mid-import', () => {
  const rows: ResetFileRow[] = SKUS.slice(0, 10).map((sku, i) => [sku, 'CRASH', 100 + i]);

  it('crashes after a chunk (failpoint), and the same import resumes elsewhere to the same final state, each row applied once', async () => {
    const crashing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.reset.after-chunk=crash' } });
    files.write('crash.csv', resetCsv(rows));
    const asOf = await asOfNow();
    const started = await startImport(graphqlClient(crashing.url, key), { path: 'crash.csv', asOf: asOf.toISOString() });
    expect(await crashing.exited()).toBe(137);
    // The first chunk (2 rows) was written, its checkpoint was not.
    expect((await clients[0]!(inventoryResetJob, { id: started.id })).data?.inventoryResetJob).toMatchObject({ state: 'RUNNING', rowsProcessed: 0, attempts: 1 });
    expect(await onHandOf('S-1', 'CRASH')).toBe(100);

    // Sales after asOf on a written row and on a pending one, before the job is resumed.
    await sale(clients[0]!, 'S-1', 'CRASH', -3);
    await sale(clients[1]!, 'S-9', 'CRASH', -2);
    const done = await resumeAndSettle(clients[1]!, 'crash.csv', asOf, started.id);
    expect(done).toMatchObject({ state: 'COMPLETED', rowsProcessed: 10, rowsApplied: 10, attempts: 2 });
    await expectEachRowOnce('CRASH', done.id, { 'S-1': -3, 'S-9': -2 });
  });

  it('is killed after its third chunk was written (checkpoint at 4 rows) and resumes from the checkpoint', async () => {
    const pausing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.reset.after-chunk=pause' } });
    files.write('kill.csv', resetCsv(rows.map(([sku, , onHand]) => [sku, 'KILL', onHand])));
    const asOf = await asOfNow();
    const started = await startImport(graphqlClient(pausing.url, key), { path: 'kill.csv', asOf: asOf.toISOString() });
    for (let chunk = 1; chunk <= 3; chunk++) {
      await waitForPauses(pausing, chunk);
      if (chunk < 3) pausing.process.kill('SIGUSR2');
    }
    pausing.process.kill('SIGKILL');
    await pausing.exited();
    expect((await clients[0]!(inventoryResetJob, { id: started.id })).data?.inventoryResetJob).toMatchObject({ state: 'RUNNING', rowsProcessed: 4, rowsApplied: 4 });
    expect(await onHandOf('S-6', 'KILL')).toBe(105);

    await sale(clients[0]!, 'S-5', 'KILL', -1);
    const done = await resumeAndSettle(clients[0]!, 'kill.csv', asOf, started.id);
    expect(done).toMatchObject({ state: 'COMPLETED', rowsProcessed: 10, rowsApplied: 10, attempts: 2 });
    await expectEachRowOnce('KILL', done.id, { 'S-5': -1 });
  });

  it('is resumed by a live gateway on its own when the gateway running it dies (no second import needed)', async () => {
    const pausing = await startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'inventory.reset.after-chunk=pause' } });
    files.write('orphan.csv', resetCsv(rows.map(([sku, , onHand]) => [sku, 'ORPHAN', onHand])));
    const asOf = await asOfNow();
    const started = await startImport(graphqlClient(pausing.url, key), { path: 'orphan.csv', asOf: asOf.toISOString() });
    await waitForPauses(pausing, 1);
    pausing.process.kill('SIGKILL');
    await pausing.exited();
    // The other gateway notices the expired lease and finishes the job.
    const done = await settledJob(clients[0]!, started.id);
    expect(done).toMatchObject({ state: 'COMPLETED', rowsProcessed: 10, rowsApplied: 10, attempts: 2 });
    await expectEachRowOnce('ORPHAN', done.id, {});
  });

  /** Imports the same file again until a live gateway has taken the job over (its lease expires first), then waits. */
  async function resumeAndSettle(client: GraphqlClient, path: string, asOf: Date, id: string): Promise<ResetJobView> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = await startImport(client, { path, asOf: asOf.toISOString() });
      expect(job.id).toBe(id);
      if (job.attempts >= 2) return settledJob(client, id);
      if (Date.now() > deadline) throw new Error(`job ${id} was never taken over: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function expectEachRowOnce(location: string, jobId: string, salesAfterAsOf: Record<string, number>): Promise<void> {
    for (const [i, sku] of SKUS.slice(0, 10).entries()) {
      expect({ sku, onHand: await onHandOf(sku, location) }).toEqual({ sku, onHand: 100 + i + (salesAfterAsOf[sku] ?? 0) });
      expect({ sku, resets: (await resetMovementsOf(sku, location, jobId)).length }).toEqual({ sku, resets: 1 });
    }
  }
});

/** Resolves once the gateway has logged its `count`-th "failpoint paused" line (bounded: 30 s). */
async function waitForPauses(gateway: GatewayProcess, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (gateway.output.filter((line) => line.includes('"msg":"failpoint paused"')).length < count) {
    if (Date.now() > deadline || gateway.process.exitCode !== null) throw new Error(`expected ${count} pause(s):\n${gateway.output.slice(-20).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
