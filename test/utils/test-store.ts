import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { openApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { Scope } from '../../src/domain/access/access.types.js';
import { createLogger } from '../../src/logging/logger.js';

/** A database name of its own for each test file (and each call), on the run's shared store. */
export function uniqueDbName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
}

/** The app (store + services) in-process, on a fresh database: for integration tests and e2e fixtures. */
export async function openTestApp(dbName: string, env: Record<string, string> = {}): Promise<App> {
  const config = loadConfig({ NODE_ENV: 'test', MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, LOG_LEVEL: 'silent', ...env });
  return openApp(config, createLogger('silent'));
}

/** Creates an API key through the domain service and returns the full key string. */
export async function createKey(app: App, name: string, scopes: Scope[], channels: string[] = []): Promise<string> {
  return (await app.services.apiKeys.create(app.systemContext(), { name, scopes, channels })).key;
}
