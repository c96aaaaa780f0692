/**
 * The daily inventory reset of N rows against raw bulk writes of the same rows, on the same store, in one run
 * (BENCHMARKS.md, "Daily inventory reset"). Runnable alone:
 *
 *   npx tsx bench/inventory-reset.bench.ts [--rows N] [--locations N]
 *   BENCH_CLI_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npx tsx bench/inventory-reset.bench.ts   # the CLI's profile
 *
 * Each side runs in a child process of its own, against a store instance of its own (a fresh embedded store, or
 * a fresh database on MONGODB_URI) seeded identically (positions that exist, 1% of them with a sale after asOf),
 * so its peak RSS and the store's work are its own:
 *
 * - reset: the real CLI, `import-inventory <file> --as-of … --json`: validation pass, apply pass (chunked reads,
 *   bulk compare-and-set writes, ledger movements, checkpoints). Its time is the job's startedAt → finishedAt.
 * - raw: the MongoDB driver streaming the same file through csv-parse and sending one unordered bulkWrite of
 *   `updateOne({_id}, {$set: {onHand}}, upsert)` per 500 rows: the least work that puts the values in place.
 *
 * Only the ratio means much: the embedded store is a Java stand-in far slower than MongoDB.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { mongo } from 'mongoose';
import { openStore } from '../src/store/connection.js';
import { startEmbeddedStore } from '../src/store/embedded-store.js';
import { findJavaChildPid } from './lib/cpu-meter.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Extra node flags for the CLI child, e.g. `BENCH_CLI_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`. */
const CLI_NODE_ARGS = (process.env['BENCH_CLI_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const SELF = fileURLToPath(import.meta.url);
const RAW_CHUNK_ROWS = 500;
/** Issue 4's goals for a reset of 1,000,000 rows: ≥ 0.8 of raw bulk writes' rows per second, RSS ≤ 256 MB. */
const RATIO_GOAL = 0.8;
const RSS_GOAL_MB = 256;
/** Every 100th position has a sale stamped after asOf, which the reset must re-apply. */
const SALE_EVERY = 100;

interface Options {
  readonly rows: number;
  readonly locations: number;
}

const USAGE = 'Usage: npx tsx bench/inventory-reset.bench.ts [--rows N (default 100000)] [--locations N (default 10)]';

function parseArgs(argv: readonly string[]): Options {
  const options = { rows: 100_000, locations: 10 };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === '--help' || name === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if ((name === '--rows' || name === '--locations') && value && /^[1-9][0-9]*$/.test(value)) {
      options[name.slice(2) as 'rows' | 'locations'] = Number(value);
      i++;
    } else throw new Error(`Unknown or malformed argument "${name}".\n${USAGE}`);
  }
  return options;
}

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
const sku = (i: number, locations: number) => `SKU-${String(Math.floor(i / locations)).padStart(7, '0')}`;
const location = (i: number, locations: number) => `LOC-${String(i % locations).padStart(2, '0')}`;
const snapshotOf = (i: number) => (i * 7) % 1_000;
const seededOnHand = (i: number) => (i * 13) % 500;

async function writeCsv(path: string, options: Options): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) => new Promise<void>((resolve) => (out.write(text) ? resolve() : out.once('drain', () => resolve())));
  await write('sku,location,onHand\n');
  let buffer = '';
  for (let i = 0; i < options.rows; i++) {
    buffer += `${sku(i, options.locations)},${location(i, options.locations)},${snapshotOf(i)}\n`;
    if (buffer.length > 1 << 16) {
      await write(buffer);
      buffer = '';
    }
  }
  await write(buffer);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** The same catalog and positions in each database, with the gateway's indexes (so both sides maintain them). */
async function seed(uri: string, dbName: string, options: Options, asOf: Date): Promise<void> {
  const store = await openStore({ uri, dbName });
  await store.close();
  const client = new mongo.MongoClient(uri);
  await client.connect();
  try {
    const db = client.db(dbName);
    const now = new Date();
    const versioned = { version: 1, createdAt: now, updatedAt: now };
    await db.collection('locations').insertMany(
      Array.from({ length: options.locations }, (_, i) => ({ _id: location(i, options.locations) as never, name: `Store ${i}`, kind: 'STORE', region: 'EU', timezone: 'UTC', negativeStockPolicy: 'ALLOW', archivedAt: null, ...versioned })),
    );
    await db.collection('products').insertOne({ _id: 'P' as never, title: 'Bench product', attributes: [], status: 'ACTIVE', archivedAt: null, ...versioned });
    const skuCount = Math.ceil(options.rows / options.locations);
    for (let start = 0; start < skuCount; start += 5_000) {
      const batch = Array.from({ length: Math.min(5_000, skuCount - start) }, (_, j) => ({
        _id: sku((start + j) * options.locations, options.locations) as never,
        productCode: 'P',
        title: `SKU ${start + j}`,
        attributes: [],
        taxClass: null,
        barcodes: [],
        status: 'ACTIVE',
        archivedAt: null,
        ...versioned,
      }));
      await db.collection('skus').insertMany(batch, { ordered: false });
    }
    const saleAt = new Date(asOf.getTime() + 60_000);
    for (let start = 0; start < options.rows; start += 5_000) {
      const batch = Array.from({ length: Math.min(5_000, options.rows - start) }, (_, j) => {
        const i = start + j;
        const [skuCode, locationCode] = [sku(i, options.locations), location(i, options.locations)];
        const onHand = seededOnHand(i);
        const sale = i % SALE_EVERY === 0 ? [{ id: `bench-sale-${i}`, delta: -1, onHandBefore: onHand + 1, onHandAfter: onHand, flags: [], at: saleAt }] : [];
        return { _id: `${skuCode}:${locationCode}` as never, skuCode, locationCode, onHand, reserved: 0, safetyStock: 0, lastResetAsOf: null, lastResetJobId: null, lastSetAt: null, recentOps: sale, holds: [], ...versioned };
      });
      await db.collection('inventory_positions').insertMany(batch, { ordered: false });
    }
  } finally {
    await client.close();
  }
}

interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  /** Peak resident set (VmHWM), MB; null where /proc is not available. */
  readonly peakRssMb: number | null;
  /** CPU time of the child (sampled until it exits, so the last ≤50 ms may be missing) and of the store meanwhile. */
  readonly childCpuMs: number | null;
  readonly storeCpuMs: number | null;
}

const TICKS_PER_SECOND = 100; // USER_HZ on every mainstream Linux build

/** utime + stime of a process, from /proc/<pid>/stat; null when it is gone or there is no /proc. */
function cpuMsOf(pid: number | null | undefined): number | null {
  if (!pid) return null;
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Runs a child and samples its peak RSS and CPU from /proc (Linux) until it exits. */
function runChild(args: readonly string[], env: Record<string, string>, storePid: number | null): Promise<ChildResult> {
  const started = performance.now();
  const storeBefore = cpuMsOf(storePid);
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakKb: number | null = null;
  let childCpuMs: number | null = null;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const sample = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakKb = Math.max(peakKb ?? 0, Number(match[1]));
    } catch {
      // exited, or no /proc
    }
    childCpuMs = cpuMsOf(child.pid) ?? childCpuMs;
  };
  const sampler = setInterval(sample, 50);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(sampler);
      const storeAfter = cpuMsOf(storePid);
      const storeCpuMs = storeBefore === null || storeAfter === null ? null : storeAfter - storeBefore;
      resolve({ code, stdout, stderr, wallMs: performance.now() - started, peakRssMb: peakKb === null ? null : peakKb / 1024, childCpuMs, storeCpuMs });
    });
  });
}

/** The raw side, in its own process: stream, parse, bulk-write. Prints {"ms": …}. */
async function rawSide(uri: string, dbName: string, file: string): Promise<void> {
  const client = new mongo.MongoClient(uri);
  await client.connect();
  const positions = client.db(dbName).collection<{ _id: string }>('inventory_positions');
  const started = performance.now();
  let batch: mongo.AnyBulkWriteOperation<{ _id: string }>[] = [];
  let header = true;
  for await (const fields of createReadStream(file).pipe(parse({ bom: true, relax_column_count: true })) as AsyncIterable<string[]>) {
    if (header) {
      header = false;
      continue;
    }
    const [skuCode, locationCode, onHand] = fields as [string, string, string];
    batch.push({ updateOne: { filter: { _id: `${skuCode}:${locationCode}` }, update: { $set: { onHand: Number(onHand), updatedAt: new Date() } }, upsert: true } });
    if (batch.length >= RAW_CHUNK_ROWS) {
      await positions.bulkWrite(batch, { ordered: false });
      batch = [];
    }
  }
  if (batch.length > 0) await positions.bulkWrite(batch, { ordered: false });
  const ms = performance.now() - started;
  await client.close();
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
}

/** Spot checks: a fast wrong answer must not count. */
async function verify(uri: string, dbName: string, options: Options, expectSales: boolean): Promise<void> {
  const client = new mongo.MongoClient(uri);
  await client.connect();
  try {
    const positions = client.db(dbName).collection<{ _id: string; onHand: number }>('inventory_positions');
    const sample = Array.from({ length: 1_000 }, (_, k) => Math.floor((k * options.rows) / 1_000));
    const found = new Map((await positions.find({ _id: { $in: sample.map((i) => `${sku(i, options.locations)}:${location(i, options.locations)}`) } }).toArray()).map((doc) => [doc._id, doc.onHand]));
    for (const i of sample) {
      const expected = snapshotOf(i) - (expectSales && i % SALE_EVERY === 0 ? 1 : 0);
      const actual = found.get(`${sku(i, options.locations)}:${location(i, options.locations)}`);
      if (actual !== expected) throw new Error(`${dbName}: row ${i} has onHand ${actual}, expected ${expected}`);
    }
  } finally {
    await client.close();
  }
}

async function dropDatabase(uri: string, dbName: string): Promise<void> {
  const client = new mongo.MongoClient(uri);
  await client.connect();
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

/**
 * The embedded store's JVM heap unless JAVA_TOOL_OPTIONS says otherwise. It keeps every document as Java maps:
 * ~3 KB a position with its indexes, so a million positions and the reset's million movements need ~12 GB
 * (`JAVA_TOOL_OPTIONS=-Xmx12g`); with less the JVM spends its time collecting garbage.
 */
const STORE_HEAP = '-Xmx8g';

/**
 * Runs one side on a store of its own: a fresh embedded store (memory backend), or a fresh database on
 * MONGODB_URI. The embedded store keeps everything in the JVM's heap; one side's million positions and movements
 * must not slow (or stall) the other's.
 */
async function withStore<T>(name: string, run: (uri: string, dbName: string, storePid: number | null) => Promise<T>): Promise<T> {
  const external = process.env['MONGODB_URI'];
  const dbName = `bench_${name}_${process.pid}`;
  if (external) {
    try {
      return await run(external, dbName, null);
    } finally {
      await dropDatabase(external, dbName);
    }
  }
  process.env['JAVA_TOOL_OPTIONS'] ??= STORE_HEAP;
  const store = await startEmbeddedStore({ backend: 'memory' });
  try {
    return await run(store.uri, dbName, findJavaChildPid());
  } finally {
    await store.stop();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--side' && argv[1] === 'raw') return rawSide(argv[2]!, argv[3]!, argv[4]!);
  const options = parseArgs(argv);
  const load = loadavg()[0] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'rsg-reset-bench-'));
  try {
    const file = join(dir, 'snapshot.csv');
    log(`writing ${options.rows.toLocaleString('en-US')} rows to ${file}`);
    await writeCsv(file, options);
    const asOf = new Date(Date.now() - 3_600_000);
    const seeded = async (uri: string, dbName: string) => {
      log(`seeding ${dbName}: ${options.rows.toLocaleString('en-US')} positions, ${Math.ceil(options.rows / options.locations).toLocaleString('en-US')} SKUs`);
      await seed(uri, dbName, options, asOf);
    };

    const raw = await withStore('raw', async (uri, dbName, storePid) => {
      await seeded(uri, dbName);
      log('raw bulk writes…');
      const result = await runChild(['--import', 'tsx', SELF, '--side', 'raw', uri, dbName, file], {}, storePid);
      if (result.code !== 0) throw new Error(`raw side failed:\n${result.stderr}`);
      await verify(uri, dbName, options, false);
      return { ...result, ms: (JSON.parse(result.stdout.trim()) as { ms: number }).ms };
    });
    log(`raw: ${(raw.ms / 1_000).toFixed(1)} s`);

    const reset = await withStore('reset', async (uri, dbName, storePid) => {
      await seeded(uri, dbName);
      log('reset through the CLI…');
      // As `npm run cli` runs it (package.json): the heap cap keeps V8 from letting garbage pile up to 2x the live set.
      const result = await runChild([...CLI_NODE_ARGS, '--max-old-space-size=128', '--import', 'tsx', 'src/cli/main.ts', 'import-inventory', file, '--as-of', asOf.toISOString(), '--json'], { MONGODB_URI: uri, MONGODB_DB: dbName, LOG_LEVEL: 'warn', NODE_ENV: 'production' }, storePid);
      if (result.code !== 0) throw new Error(`reset failed (${result.code}):\n${result.stderr}\n${result.stdout}`);
      const job = JSON.parse(result.stdout) as { state: string; rowsApplied: number; rowsUnchanged: number; startedAt: string; finishedAt: string };
      if (job.state !== 'COMPLETED') throw new Error(`reset ended ${job.state}`);
      await verify(uri, dbName, options, true);
      return { ...result, job, ms: Date.parse(job.finishedAt) - Date.parse(job.startedAt) };
    });

    const perSecond = (ms: number) => Math.round((options.rows / ms) * 1_000);
    const ratio = perSecond(reset.ms) / perSecond(raw.ms);
    const mb = (value: number | null) => (value === null ? 'n/a' : `${Math.round(value)} MB`);
    const cpu = (result: ChildResult) => (result.childCpuMs === null || result.storeCpuMs === null ? 'n/a' : `${(result.childCpuMs / 1_000).toFixed(1)} + ${(result.storeCpuMs / 1_000).toFixed(1)} s`);
    const cpuRatio = reset.childCpuMs !== null && reset.storeCpuMs !== null && raw.childCpuMs !== null && raw.storeCpuMs !== null ? (raw.childCpuMs + raw.storeCpuMs) / (reset.childCpuMs + reset.storeCpuMs) : null;
    const lines = [
      `rows: ${options.rows.toLocaleString('en-US')} (${options.locations} locations, 1 in ${SALE_EVERY} with a sale after asOf); store: ${process.env['MONGODB_URI'] ? 'MONGODB_URI' : `embedded mongo-java-server (memory, JVM ${process.env['JAVA_TOOL_OPTIONS'] ?? STORE_HEAP}), one per side`}; ${cpus().length} cores, load ${load.toFixed(2)} at start`,
      `| side | time | rows/s | CPU (node + store) | peak RSS |`,
      `|---|---|---|---|---|`,
      `| reset (CLI: validate + apply + ledger) | ${(reset.ms / 1_000).toFixed(1)} s | ${perSecond(reset.ms).toLocaleString('en-US')} | ${cpu(reset)} | ${mb(reset.peakRssMb)} |`,
      `| raw bulkWrite ($set onHand, 500/batch) | ${(raw.ms / 1_000).toFixed(1)} s | ${perSecond(raw.ms).toLocaleString('en-US')} | ${cpu(raw)} | ${mb(raw.peakRssMb)} |`,
      `ratio reset/raw: ${ratio.toFixed(2)} in rows/s, ${cpuRatio === null ? 'n/a' : cpuRatio.toFixed(2)} in CPU per row (the CLI's includes its start); reset applied ${reset.job.rowsApplied.toLocaleString('en-US')}, unchanged ${reset.job.rowsUnchanged.toLocaleString('en-US')}; CLI wall time ${(reset.wallMs / 1_000).toFixed(1)} s (process start and store connect included)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    // Last, one JSON line with the figures (`npm run bench` reads it), as every other bench ends.
    const report = {
      rows: options.rows,
      locations: options.locations,
      resetMs: reset.ms,
      rawMs: raw.ms,
      ratio,
      cpuRatio,
      resetPeakRssMb: reset.peakRssMb,
      rawPeakRssMb: raw.peakRssMb,
      rowsApplied: reset.job.rowsApplied,
      rowsUnchanged: reset.job.rowsUnchanged,
      goal: { ratio: RATIO_GOAL, rssMb: RSS_GOAL_MB },
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
