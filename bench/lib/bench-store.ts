import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { mongo } from 'mongoose';
import { DEFAULT_SERVER_SELECTION_TIMEOUT_MS } from '../../src/store/connection.js';
import { startEmbeddedStore } from '../../src/store/embedded-store.js';
import type { Cleanup } from './cleanup.js';
import { findJavaChildPid } from './cpu-meter.js';

/** Progress goes to stderr, so stdout carries only the report. */
export const progress = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

export interface BenchStore {
  readonly uri: string;
  readonly label: string;
  /** The embedded store's JVM, for CPU accounting; null for MONGODB_URI. */
  readonly pid: number | null;
}

/**
 * The embedded store's JVM sized as an in-memory database, not as an application: mongo-java-server's memory
 * backend keeps every document as Java objects, so nearly all that survives one young collection lives for the
 * rest of the run. With the JVM's defaults (G1) each young collection copies it between survivor spaces and stops
 * the store for 90–245 ms, which every store-bound figure then shows as its tail (BENCHMARKS.md, "24 November,
 * night: the store's JVM in the benches"). Here a 32 MB young generation is collected by the serial collector
 * (the store shares a core: parallel or concurrent GC threads only compete with it) and survivors are promoted at
 * once, so a pause copies only what the last few milliseconds kept; and the heap is reserved at the JVM's own
 * default maximum (a quarter of RAM) from the start, so the old generation is not grown through full collections
 * during a run — a database is given its memory up front the same way. MongoDB itself has no collector; a run
 * against MONGODB_URI has none of this. `BENCH_STORE_JVM=default` runs the store with the JVM's defaults; any
 * other value replaces these flags.
 */
export function benchStoreJvmOptions(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const chosen = env['BENCH_STORE_JVM']?.trim();
  if (chosen === 'default') return [];
  if (chosen) return chosen.split(/\s+/);
  const heap = `${Math.floor(totalmem() / 4 / 2 ** 20)}m`;
  return ['-XX:+UseSerialGC', '-Xmn32m', '-XX:MaxTenuringThreshold=0', `-Xms${heap}`, `-Xmx${heap}`];
}

/** The usage line every bench's --help prints for BENCH_STORE_JVM. */
export const STORE_JVM_USAGE = `  BENCH_STORE_JVM           the embedded store's JVM flags: "default" for the JVM's own, or the flags to use
                            (default: serial GC, 32 MB young generation, heap reserved up front; BENCHMARKS.md)`;

/** MONGODB_URI when set, otherwise an embedded memory store stopped by the cleanup. */
export async function openBenchStore(cleanup: Cleanup): Promise<BenchStore> {
  const externalUri = process.env['MONGODB_URI'];
  if (externalUri) return { uri: externalUri, label: 'MONGODB_URI', pid: null };
  progress('starting the embedded store (mongo-java-server, memory backend)');
  const jvmOptions = benchStoreJvmOptions();
  const store = await startEmbeddedStore({ backend: 'memory', jvmOptions });
  cleanup.add('stop the embedded store', () => store.stop());
  const jvm = jvmOptions.length > 0 ? jvmOptions.join(' ') : 'JVM defaults';
  return { uri: store.uri, label: `embedded mongo-java-server 1.47 (memory backend; ${jvm})`, pid: findJavaChildPid() };
}

/** What every bench run starts from: the store, a fresh database, a temporary DATA_DIR and a raw driver client. */
export interface BenchRun {
  /** Anything else busy on a 2-core machine shows in every figure; reports say how busy it was. */
  readonly loadAtStart: number;
  readonly store: BenchStore;
  /** A fresh database, so the gateway seeds it and a shared MONGODB_URI server is left as it was found. */
  readonly dbName: string;
  readonly dataDir: string;
  readonly client: mongo.MongoClient;
}

/**
 * Opens the store, a temporary DATA_DIR and a connected raw client, each undone by the cleanup (the database is
 * dropped). `prepare` sees the client before it connects (e.g. to count its commands).
 */
export async function openBenchRun(cleanup: Cleanup, name: string, clientOptions: mongo.MongoClientOptions = {}, prepare?: (client: mongo.MongoClient) => void): Promise<BenchRun> {
  const loadAtStart = loadavg()[0] ?? 0;
  const store = await openBenchStore(cleanup);
  const dbName = `bench${name ? `_${name}` : ''}_${Date.now().toString(36)}_${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), `rsg-bench${name ? `-${name}` : ''}-`));
  cleanup.add('remove the temporary DATA_DIR', async () => rmSync(dataDir, { recursive: true, force: true }));
  // The gateway's own bound on finding a server, so a bad URI fails fast.
  const client = new mongo.MongoClient(store.uri, { serverSelectionTimeoutMS: DEFAULT_SERVER_SELECTION_TIMEOUT_MS, ...clientOptions });
  prepare?.(client);
  cleanup.add('close the raw driver client', () => client.close());
  await client.connect();
  cleanup.add(`drop the bench database ${dbName}`, async () => {
    await client.db(dbName).dropDatabase();
  });
  return { loadAtStart, store, dbName, dataDir, client };
}

/** The machine and store a run measured, printed with every report so figures are never read without them. */
export function machineEnvironment(store: BenchStore, loadAverageAtStart: number) {
  return {
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart,
    store: store.label,
  };
}
