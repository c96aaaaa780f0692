import { openApp, type App } from './app/app.js';
import { ConfigError, loadConfig } from './config/config.js';
import { DEMO_EXAMPLE_SKU } from './demo/demo-data.js';
import { seedDemoData, type DemoKey } from './demo/seed.js';
import { configureFailpoints, parseFailpoints } from './faults/failpoints.js';
import { createLogger } from './logging/logger.js';
import { startGateway, type Gateway } from './server/gateway.js';

/** How often expired idempotency keys are deleted (they are already ignored once expired). */
const SWEEP_INTERVAL_MS = 10 * 60_000; // 10 minutes
/** Time for closing the store after the HTTP drain's grace period, before the watchdog gives up. */
const SHUTDOWN_WATCHDOG_MARGIN_MS = 5_000; // 5 seconds

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  configureFailpoints(parseFailpoints(config.failpoints ?? undefined), logger);
  const app: App = await openApp(config, logger, { advertiseEmbeddedStore: true, changeFeed: true });
  const demoKeys = config.seedDemoData ? await seedDemoData(app) : [];
  const gateway: Gateway = await startGateway({ config, store: app.store, services: app.services, logger, metrics: app.metrics });
  const sweeper = setInterval(() => {
    app.services.idempotency.sweep().catch((error: unknown) => logger.warn({ err: error }, 'idempotency sweep failed'));
  }, SWEEP_INTERVAL_MS).unref();
  // Expired reservations return their stock; commits and releases a dead gateway left half done are finished.
  const reservationSweeper = setInterval(() => {
    app.services.reservations.sweep(app.systemContext()).catch((error: unknown) => logger.warn({ err: error }, 'reservation sweep failed'));
  }, config.reservationSweepIntervalMs).unref();

  // Server-side inventory resets whose gateway died or shut down mid-file continue here once their lease expires.
  const resumeResets = () => {
    app.services.inventoryReset.resumeAbandoned(app.systemContext()).catch((error: unknown) => logger.warn({ err: error }, 'resuming inventory resets failed'));
  };
  resumeResets();
  const resetResumer = setInterval(resumeResets, config.inventoryReset.leaseMs).unref();

  if (demoKeys.length > 0) printBanner(gateway.url, demoKeys);
  // Machine-readable for tests and orchestration, and written last: everything above is out once it appears.
  logger.info({ url: gateway.url, port: gateway.port, env: config.env }, 'listening');

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    // Ctrl-C under npm delivers SIGINT twice (the terminal's and npm's forwarded copy): repeats are ignored,
    // and a watchdog ends a drain that hangs instead.
    if (shuttingDown) return logger.debug({ signal }, 'already draining');
    shuttingDown = true;
    logger.info({ signal }, 'draining');
    setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'drain did not finish in time: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + SHUTDOWN_WATCHDOG_MARGIN_MS).unref();
    clearInterval(sweeper);
    clearInterval(reservationSweeper);
    clearInterval(resetResumer);
    try {
      await gateway.stop();
      await app.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function printBanner(url: string, keys: readonly DemoKey[]): void {
  const erp = keys.find((key) => key.name === 'demo-erp');
  const lines = [
    '',
    `retail-sync-gateway is serving ${url} (GraphQL over HTTP and WebSocket)`,
    'Demo API keys (development only; also in DATA_DIR/demo-keys.json):',
    ...keys.map((key) => `  ${key.name.padEnd(26)} ${key.key}  [${key.scopes.join(' ')}]${key.channels.length ? ` channels: ${key.channels.join(',')}` : ''}`),
    '',
    'Try:',
    `  curl -s ${url} -H 'content-type: application/json' -H 'authorization: Bearer ${erp?.key ?? '<key>'}' \\`,
    `    -d '{"query":"{ sku(code: \\"${DEMO_EXAMPLE_SKU}\\") { code title product { title } mappings { channelCode externalVariantId } } }"}'`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`retail-sync-gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
