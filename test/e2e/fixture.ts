import type { App } from '../../src/app/app.js';
import type { Scope } from '../../src/domain/access/access.types.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient, type GraphqlClient } from '../utils/graphql-client.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { inject } from 'vitest';

export interface CatalogGateway {
  readonly gateway: GatewayProcess;
  /** In-process access to the same database, for fixtures (API keys) only: assertions go through the API. */
  readonly app: App;
  readonly keys: { readonly erp: string; readonly analyst: string; readonly storefront: string };
  readonly erp: GraphqlClient;
  readonly analyst: GraphqlClient;
  /** Bound to channel WEB. */
  readonly storefront: GraphqlClient;
  readonly anonymous: GraphqlClient;
  /** Sum of `mongodb_commands_total` on the gateway's /metrics. */
  mongoCommands(): Promise<number>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** A real gateway process on its own database, with an ERP, an analyst and a WEB storefront key. */
export async function startCatalogGateway(name: string, env: Record<string, string> = {}): Promise<CatalogGateway> {
  const dbName = uniqueDbName(name);
  const app = await openTestApp(dbName);
  const keys = {
    erp: await createKey(app, 'erp', ['catalog:read', 'catalog:write']),
    analyst: await createKey(app, 'analyst', ['catalog:read']),
    storefront: '',
  };
  const gateway = await startGatewayProcess({ env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, ...env } });
  const metrics = async () => (await fetch(new URL('/metrics', gateway.url))).text();
  return {
    gateway,
    app,
    keys,
    erp: graphqlClient(gateway.url, keys.erp),
    analyst: graphqlClient(gateway.url, keys.analyst),
    get storefront() {
      if (!keys.storefront) throw new Error('call bindStorefront() after the WEB channel exists');
      return graphqlClient(gateway.url, keys.storefront);
    },
    anonymous: graphqlClient(gateway.url, null),
    metrics,
    async mongoCommands() {
      return [...(await metrics()).matchAll(/^mongodb_commands_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    },
    async close() {
      await gateway.stop();
      await app.close();
    },
  };
}

/**
 * What the retention (24 hours at least) does to an idempotency key: it expires in place, and the sweeper may not
 * have removed it yet. The store's clock cannot be moved, so the record's expiry is.
 */
export async function expireIdempotencyKey(fixture: CatalogGateway, key: string): Promise<void> {
  const keys = fixture.app.store.connection.collection('idempotency_keys');
  const ids = (await keys.find({}, { projection: { _id: 1 } }).toArray()).map(({ _id }) => String(_id)).filter((id) => id.endsWith(`:${key}`));
  if (ids.length !== 1) throw new Error(`expected one idempotency record for key "${key}", found ${ids.length}`);
  await keys.updateOne({ _id: ids[0] } as never, { $set: { expiresAt: new Date(Date.now() - 1000) } });
}

/** Creates the storefront key once channel WEB exists (keys may only name existing channels). */
export async function bindStorefront(fixture: CatalogGateway): Promise<void> {
  (fixture.keys as { storefront: string }).storefront = await createKey(fixture.app, 'storefront-web', ['catalog:read'], ['WEB']);
}

export const LOCATIONS = [
  { code: 'L-1', name: 'Berlin store', kind: 'STORE', region: 'EU', timezone: 'Europe/Berlin' },
  { code: 'L-2', name: 'Reno warehouse', kind: 'WAREHOUSE', region: 'US', timezone: 'America/Los_Angeles' },
];

export const CHANNELS = [
  { code: 'WEB', name: 'Web shop', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1'] },
  { code: 'POS', name: 'Stores', kind: 'POS', currency: 'EUR', region: 'EU', locationCodes: ['L-1', 'L-2'] },
];

/** A valid GTIN-13 for a sequence number. */
export function gtin13(sequence: number): string {
  const body = `400${String(sequence).padStart(9, '0')}`;
  const sum = [...body].reverse().reduce((acc, digit, i) => acc + Number(digit) * (i % 2 === 0 ? 3 : 1), 0);
  return body + String((10 - (sum % 10)) % 10);
}

export interface GatewayPair {
  readonly app: App;
  readonly dbName: string;
  /** An unbound key with the scopes asked for. */
  readonly key: string;
  readonly gateways: readonly GatewayProcess[];
  /** One client per gateway, with `key`. */
  readonly clients: readonly GraphqlClient[];
  close(): Promise<void>;
}

/** Two gateway processes on one fresh database: for properties that must hold across replicas. */
export async function startGatewayPair(name: string, scopes: Scope[], env: Record<string, string> = {}): Promise<GatewayPair> {
  const dbName = uniqueDbName(name);
  const app = await openTestApp(dbName);
  const key = await createKey(app, 'erp', scopes);
  const gateways = await Promise.all([0, 1].map(() => startGatewayProcess({ env: { ...env, MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName } })));
  return {
    app,
    dbName,
    key,
    gateways,
    clients: gateways.map((gateway) => graphqlClient(gateway.url, key)),
    async close() {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await app.close();
    },
  };
}
