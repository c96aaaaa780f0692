import { Command, InvalidArgumentError } from 'commander';
import { openApp, type App } from '../app/app.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { isScope, SCOPES, type Scope } from '../domain/access/access.types.js';
import { DomainError } from '../domain/common/errors.js';
import { createLogger } from '../logging/logger.js';

/**
 * Administration from the shell, against the same store as the gateway (MONGODB_URI, or the embedded store
 * of a running `npm start`, or the embedded store's file when the gateway is not running).
 */
const program = new Command('retail-sync-gateway').description('Administer a retail-sync-gateway store.').showHelpAfterError();

const apiKey = program.command('api-key').description('Create, list and revoke API keys.');

apiKey
  .command('create')
  .description('Create an API key and print it once; only its hash is stored.')
  .requiredOption('--name <name>', 'who uses the key, e.g. erp or storefront-web-eu')
  .requiredOption('--scopes <scopes>', `comma-separated: ${SCOPES.join(', ')}`, parseScopes)
  .option('--channels <codes>', 'comma-separated channel codes the key is bound to (default: all channels)', parseList, [])
  .option('--json', 'print JSON instead of text')
  .action((options: { name: string; scopes: Scope[]; channels: string[]; json?: boolean }) =>
    withApp(async (app) => {
      const created = await app.services.apiKeys.create(app.systemContext(), { name: options.name, scopes: options.scopes, channels: options.channels });
      if (options.json) print(JSON.stringify({ key: created.key, ...created.summary }));
      else print(`${created.key}\n\nkey id ${created.summary.keyId}, name ${created.summary.name}, scopes ${created.summary.scopes.join(',')}${created.summary.channels.length ? `, channels ${created.summary.channels.join(',')}` : ''}\nStore the key now: it is not shown again.`);
    }),
  );

apiKey
  .command('list')
  .description('List API keys (never their secrets).')
  .option('--json', 'print JSON instead of text')
  .action((options: { json?: boolean }) =>
    withApp(async (app) => {
      const keys = await app.services.apiKeys.list(app.systemContext());
      if (options.json) return print(JSON.stringify(keys));
      for (const key of keys) {
        print(`${key.keyId}  ${key.name.padEnd(28)} ${key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active'}  ${key.scopes.join(',')}${key.channels.length ? `  channels ${key.channels.join(',')}` : ''}`);
      }
    }),
  );

apiKey
  .command('revoke')
  .description('Revoke an API key by id; every replica refuses it within AUTH_CACHE_TTL_MS.')
  .argument('<keyId>', 'the key id (the part after rsg_)')
  .action((keyId: string) =>
    withApp(async (app) => {
      await app.services.apiKeys.revoke(app.systemContext(), keyId);
      print(`revoked ${keyId}`);
    }),
  );

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

function parseScopes(value: string): Scope[] {
  const scopes = parseList(value);
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scope(s) ${unknown.join(', ')}; expected ${SCOPES.join(', ')}`);
  return scopes as Scope[];
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function withApp(action: (app: App) => Promise<void>): Promise<void> {
  let app: App | null = null;
  try {
    const config = loadConfig();
    app = await openApp(config, createLogger(process.env['LOG_LEVEL'] ?? 'warn'));
    await action(app);
  } catch (error) {
    if (error instanceof DomainError || error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 2;
    } else throw error;
  } finally {
    await app?.close();
  }
}

await program.parseAsync();
