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

/** MONGODB_URI when set, otherwise an embedded memory store stopped by the cleanup. */
export async function openBenchStore(cleanup: Cleanup): Promise<BenchStore> {
  const externalUri = process.env['MONGODB_URI'];
  if (externalUri) return { uri: externalUri, label: 'MONGODB_URI', pid: null };
  progress('starting the embedded store (mongo-java-server, memory backend)');
  const store = await startEmbeddedStore({ backend: 'memory' });
  cleanup.add('stop the embedded store', () => store.stop());
  return { uri: store.uri, label: 'embedded mongo-java-server 1.47 (memory backend)', pid: findJavaChildPid() };
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
