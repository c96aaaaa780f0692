import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { SCOPES, type Caller } from '../domain/access/access.types.js';
import type { RequestContext } from '../domain/common/request-context.js';
import { createServices, type Services } from '../domain/services.js';
import { AvailabilityDeriver } from '../domain/inventory/availability-deriver.js';
import { OperationRecorder } from '../domain/changes/operation-recorder.js';
import { movementsOfChanges } from '../domain/inventory/ledger-recorder.js';
import { priceChangesOfChanges } from '../domain/pricing/price-history-recorder.js';
import { startChangeFeedRuntime, type ChangeFeedRuntime } from '../events/change-feed-runtime.js';
import { Metrics } from '../server/metrics.js';
import { openStore, type Store } from '../store/connection.js';
import { startEmbeddedStore, type EmbeddedStore } from '../store/embedded-store.js';
import { createLoaders } from '../store/loaders.js';

/** The caller of work the gateway does on its own behalf (demo seeding, CLI administration). */
export const SYSTEM_CALLER: Caller = { keyId: 'system', name: 'system', scopes: [...SCOPES], channels: [] };

/** Everything but the network front: the store, the services, and a way to act through them. */
export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly services: Services;
  /** The change feed (relay, bus, subscriptions); null in processes that serve none (the CLI). */
  readonly changeFeed: ChangeFeedRuntime | null;
  /** A context for work outside a request (CLI, seeding), with fresh loaders. */
  systemContext(): RequestContext;
  close(): Promise<void>;
}

/**
 * Opens the store named by MONGODB_URI or, without one, the embedded store on an H2 file under DATA_DIR.
 * A second process (the CLI while `npm start` runs) joins the running embedded store instead of starting its
 * own: H2 lets one process hold the file.
 */
export interface OpenAppOptions {
  /**
   * Let other processes (the CLI) join the embedded store this process starts. Only the long-running gateway
   * does: a store started by a short CLI command vanishes when it exits.
   */
  readonly advertiseEmbeddedStore?: boolean;
  /**
   * Run the change feed: take part in relaying outbox entries to the change log, follow the log, serve
   * subscriptions. The gateway does; short-lived processes (CLI) leave their writes' events to the gateway's
   * relay, which finds them in its repair scan.
   */
  readonly changeFeed?: boolean;
}

export async function openApp(config: Config, logger: Logger, options: OpenAppOptions = {}): Promise<App> {
  const metrics = new Metrics();
  const embedded = config.store.uri ? null : await joinOrStartEmbedded(config.store.dataDir, logger, options.advertiseEmbeddedStore ?? false);
  const uri = config.store.uri ?? embedded!.uri;
  const onCommand = config.store.commandMetrics ? (command: string) => metrics.mongoCommands.inc({ command }) : undefined;
  const store = await openStore({ uri, dbName: config.store.dbName, onCommand }).catch(async (error: unknown) => {
    await embedded?.stop();
    throw error;
  });
  const repositories = store.repositories;
  // Written by the relay from each batch of changes, before the changes leave their outboxes.
  const derivers = [
    new OperationRecorder(movementsOfChanges, (movements) => repositories.inventoryMovements.insertManyIfAbsent(movements)),
    new OperationRecorder(priceChangesOfChanges, (changes) => repositories.priceHistory.insertManyIfAbsent(changes)),
    new AvailabilityDeriver(repositories.inventoryPositions, repositories.channels, repositories.channelAvailability, repositories.skus, repositories.availabilityRederivations, logger.child({ component: 'availability' })),
  ];
  const changeFeed = options.changeFeed
    ? await startChangeFeedRuntime(store, derivers, config.changes, logger).catch(async (error: unknown) => {
        await store.close();
        await embedded?.stop();
        throw error;
      })
    : null;
  if (changeFeed) metrics.observeChangeFeed(changeFeed);
  const services = createServices(store.repositories, {
    changeHub: changeFeed?.hub ?? null,
    idempotency: { retentionMs: config.idempotencyRetentionMs, leaseMs: config.idempotencyLeaseMs },
    apiKeys: { cacheTtlMs: config.authCacheTtlMs },
    locationCacheTtlMs: config.locationCacheTtlMs,
    // A reservation untouched for longer than a request may hold its idempotency key was abandoned.
    reservations: { staleAfterMs: config.idempotencyLeaseMs },
    inventoryReset: config.inventoryReset,
  });
  // Another replica changed a location: this one's adjustments read it again (LocationDirectory).
  changeFeed?.feed.listen((event) => {
    if (event.entity === 'Location') services.locationDirectory.invalidate([event.key]);
  });
  return {
    config,
    logger,
    metrics,
    store,
    services,
    changeFeed,
    systemContext: () => ({ requestId: 'system', caller: SYSTEM_CALLER, logger, loaders: createLoaders(store.repositories), services, now: new Date() }),
    async close() {
      await changeFeed?.stop();
      await store.close();
      await embedded?.stop();
    },
  };
}

interface EmbeddedHandle {
  readonly uri: string;
  stop(): Promise<void>;
}

async function joinOrStartEmbedded(dataDir: string, logger: Logger, advertise: boolean): Promise<EmbeddedHandle> {
  const directory = resolve(dataDir);
  const marker = join(directory, 'embedded-store.json');
  const running = readMarker(marker);
  if (running) {
    logger.debug({ uri: running.uri }, 'joining the running embedded store');
    return { uri: running.uri, stop: async () => {} };
  }
  mkdirSync(directory, { recursive: true });
  const store: EmbeddedStore = await startEmbeddedStore({ backend: 'h2', file: join(directory, 'store.mv.db') });
  if (advertise) writeFileSync(marker, JSON.stringify({ uri: store.uri, pid: process.pid }));
  logger.info({ uri: store.uri, file: join(directory, 'store.mv.db') }, 'embedded store started (set MONGODB_URI to use a real MongoDB)');
  return {
    uri: store.uri,
    async stop() {
      if (advertise) rmSync(marker, { force: true });
      await store.stop();
    },
  };
}

/** The marker of an embedded store still held by a live process, or null. */
function readMarker(path: string): { uri: string; pid: number } | null {
  try {
    const marker = JSON.parse(readFileSync(path, 'utf8')) as { uri: string; pid: number };
    process.kill(marker.pid, 0);
    return marker;
  } catch {
    return null;
  }
}
