import type { TestProject } from 'vitest/node';
import { startEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded-store.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One store per test run; each test file uses its own database on it. */
    mongoUri: string;
  }
}

/** Starts one in-memory embedded store for the whole run, unless MONGODB_URI points at a real MongoDB. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let store: EmbeddedStore | null = null;
  const uri = process.env['MONGODB_URI'] ?? (store = await startEmbeddedStore({ backend: 'memory' })).uri;
  project.provide('mongoUri', uri);
  return async () => {
    await store?.stop();
  };
}
