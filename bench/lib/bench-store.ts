import { cpus, totalmem } from 'node:os';
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
