import { join, resolve } from 'node:path';
import { z } from 'zod';

const boolean = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');
const positiveInt = z.coerce.number().int().positive();

/**
 * Every setting, read from the environment once at start-up. Each bad value yields one line naming the
 * variable, what was expected and what was given. Defaults make `npm start` work with no configuration.
 */
const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URI').optional(),
    MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'expected a database name (letters, digits, _ and -)').default('retail_sync'),
    DATA_DIR: z.string().min(1).default('.data'),
    // Off by default: the driver's command monitoring copies every command and decodes every reply a second time
    // (measured: 7–10% of a writer replica's CPU, BENCHMARKS.md); mongodb_commands_total only counts while it is on.
    MONGODB_COMMAND_METRICS: boolean.default(false),
    SEED_DEMO_DATA: boolean.optional(),
    INTROSPECTION: boolean.optional(),
    MAX_BODY_BYTES: positiveInt.default(2 * 1024 * 1024),
    MAX_DEPTH: positiveInt.default(10),
    MAX_ALIASES: positiveInt.default(15),
    MAX_DIRECTIVES: positiveInt.default(10),
    MAX_TOKENS: positiveInt.default(5_000),
    // armor multiplies by a literal `first`: a 500-item page of SKUs with product and mappings costs ~47,500.
    MAX_COST: positiveInt.default(100_000),
    IDEMPOTENCY_RETENTION_HOURS: z.coerce.number().int().min(24, 'keys are kept at least 24 hours').default(24),
    IDEMPOTENCY_LEASE_MS: z.coerce.number().int().min(0).default(60_000),
    RESERVATION_SWEEP_INTERVAL_MS: positiveInt.default(15_000),
    AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5_000),
    LOCATION_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5_000),
    SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(65_000),
    FAILPOINTS: z.string().optional(),
    // Daily inventory reset (docs/inventory-reset.md): importInventory reads files from this directory only.
    IMPORT_DIR: z.string().min(1).optional(),
    INVENTORY_RESET_CHUNK_ROWS: z.coerce.number().int().min(1).max(5_000).default(500),
    INVENTORY_RESET_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').optional(),
    REDIS_CHANNEL_PREFIX: z.string().min(1).max(200).optional(),
    CHANGE_LOG_RETENTION_HOURS: z.coerce.number().min(1, 'keep changes at least an hour').default(7 * 24),
    CHANGE_RELAY_LEASE_MS: z.coerce.number().int().min(100).default(10_000),
    CHANGE_RELAY_SCAN_INTERVAL_MS: positiveInt.default(5_000),
    CHANGE_FEED_POLL_INTERVAL_MS: positiveInt.default(500),
    WS_MAX_QUEUED_EVENTS: positiveInt.default(10_000),
    WS_MAX_BUFFERED_BYTES: positiveInt.default(1024 * 1024),
  })
  .refine((env) => !(env.FAILPOINTS && env.NODE_ENV === 'production'), { message: 'failpoints are for tests and cannot be set in production', path: ['FAILPOINTS'] })
  // A retry under a remembered key finds what its dead attempt applied in the change log (docs/inventory.md).
  .refine((env) => env.CHANGE_LOG_RETENTION_HOURS >= env.IDEMPOTENCY_RETENTION_HOURS, {
    message: 'keep changes at least as long as idempotency keys (IDEMPOTENCY_RETENTION_HOURS)',
    path: ['CHANGE_LOG_RETENTION_HOURS'],
  })
  .transform((env) => ({
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    store: { uri: env.MONGODB_URI ?? null, dbName: env.MONGODB_DB, dataDir: env.DATA_DIR, commandMetrics: env.MONGODB_COMMAND_METRICS },
    seedDemoData: env.SEED_DEMO_DATA ?? env.NODE_ENV === 'development',
    introspection: env.INTROSPECTION ?? env.NODE_ENV !== 'production',
    limits: {
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxDepth: env.MAX_DEPTH,
      maxAliases: env.MAX_ALIASES,
      maxDirectives: env.MAX_DIRECTIVES,
      maxTokens: env.MAX_TOKENS,
      maxCost: env.MAX_COST,
    },
    idempotencyRetentionMs: env.IDEMPOTENCY_RETENTION_HOURS * 60 * 60 * 1000,
    idempotencyLeaseMs: env.IDEMPOTENCY_LEASE_MS,
    reservationSweepIntervalMs: env.RESERVATION_SWEEP_INTERVAL_MS,
    authCacheTtlMs: env.AUTH_CACHE_TTL_MS,
    locationCacheTtlMs: env.LOCATION_CACHE_TTL_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    failpoints: env.FAILPOINTS ?? null,
    inventoryReset: {
      importDir: resolve(env.IMPORT_DIR ?? join(env.DATA_DIR, 'imports')),
      chunkRows: env.INVENTORY_RESET_CHUNK_ROWS,
      leaseMs: env.INVENTORY_RESET_LEASE_MS,
    },
    changes: {
      redisUrl: env.REDIS_URL ?? null,
      // Replicas of one deployment share channels; deployments (and test databases) on one Redis do not.
      channelPrefix: env.REDIS_CHANNEL_PREFIX ?? `rsg:${env.MONGODB_DB}:`,
      relay: {
        leaseMs: env.CHANGE_RELAY_LEASE_MS,
        scanIntervalMs: env.CHANGE_RELAY_SCAN_INTERVAL_MS,
        batchSize: 500,
        retentionMs: env.CHANGE_LOG_RETENTION_HOURS * 60 * 60 * 1000,
        retentionSweepIntervalMs: 10 * 60 * 1000,
      },
      feed: { pollIntervalMs: env.CHANGE_FEED_POLL_INTERVAL_MS, readBatch: 500 },
      hub: { maxQueuedEvents: env.WS_MAX_QUEUED_EVENTS, replayBatch: 500 },
      maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
    },
  }));

export type Config = z.output<typeof envSchema>;
export type Limits = Config['limits'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`MONGODB_URI=`) means "not set", as in most shells' and orchestrators' conventions.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '');
    return `  ${variable}: ${issue.message} (got ${JSON.stringify(env[variable])})`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}
