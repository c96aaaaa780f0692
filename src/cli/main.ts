import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { openApp, type App } from '../app/app.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { isScope, SCOPES, type Scope } from '../domain/access/access.types.js';
import { DomainError } from '../domain/common/errors.js';
import type { ResetProgressEvent } from '../domain/inventory/reset/inventory-reset.job.js';
import { ABSENT_POSITIONS, RESET_POLICIES, type AbsentPositions, type InventoryResetJobRecord, type ResetPhase, type ResetPolicy } from '../domain/inventory/reset/inventory-reset.types.js';
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

program
  .command('import-inventory')
  .description('Apply a daily inventory reset from a CSV snapshot (docs/inventory-reset.md); progress on stderr. Running it again resumes a reset that was interrupted.')
  .argument('<file>', 'UTF-8 CSV with a header: sku,location,onHand[,safetyStock]')
  .requiredOption('--as-of <time>', 'when the ERP took the snapshot, ISO-8601 with a zone, e.g. 2026-11-24T05:00:00Z', parseInstant)
  .addOption(new Option('--policy <policy>', 'invalid rows: reject the whole file, or skip them').choices(RESET_POLICIES).default('REJECT_FILE'))
  .addOption(new Option('--absent <mode>', "positions at the file's locations that it does not list").choices(ABSENT_POSITIONS).default('LEAVE'))
  .option('--json', 'print the finished job as JSON')
  .action((file: string, options: { asOf: Date; policy: ResetPolicy; absent: AbsentPositions; json?: boolean }) =>
    withApp(async (app) => {
      const progress = new ResetProgressDisplay(process.stderr);
      let job: InventoryResetJobRecord;
      try {
        job = await app.services.inventoryReset.importLocalFile(
          app.systemContext(),
          { path: file, asOf: options.asOf, policy: options.policy, absent: options.absent },
          { onProgress: (event) => progress.update(event), onWaiting: (running) => progress.waiting(running) },
        );
      } finally {
        progress.stop();
      }
      print(options.json ? JSON.stringify(job) : describeResetJob(job));
      // 3: the file was rejected (nothing applied); 2 stays for usage and configuration errors.
      if (job.state === 'FAILED') process.exitCode = 3;
    }),
  );

function parseInstant(value: string): Date {
  // A time without a zone would be read in this machine's zone: refuse it rather than guess.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('expected an ISO-8601 time with a zone, e.g. 2026-11-24T05:00:00Z');
  }
  return new Date(value);
}

const PHASE_LABELS: Record<ResetPhase, string> = { VALIDATING: 'validating', APPLYING: 'applying', ZEROING_ABSENT: 'zeroing absent' };

/**
 * The reset's progress on stderr: a cli-progress bar per phase on a terminal (bytes while validating, rows while
 * applying), one line per phase otherwise, so logs and CI output stay readable.
 */
class ResetProgressDisplay {
  private bar: SingleBar | null = null;
  private phase: ResetPhase | null = null;
  private waitingShown = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(event: ResetProgressEvent): void {
    const [value, total, unit] =
      event.phase === 'VALIDATING'
        ? [event.bytesRead, event.fileBytes, 'bytes']
        : event.phase === 'APPLYING'
          ? [event.progress.rowsProcessed, event.progress.rowsTotal ?? event.progress.rowsProcessed, 'rows']
          : [event.progress.positionsZeroed, event.progress.positionsZeroed, 'positions'];
    if (event.phase !== this.phase) {
      this.stop();
      this.phase = event.phase;
      if (!this.stream.isTTY) return void this.stream.write(`import-inventory: ${PHASE_LABELS[event.phase]}…\n`);
      this.bar = new SingleBar({ stream: this.stream, format: `${PHASE_LABELS[event.phase].padEnd(14)} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted}`, hideCursor: true, barsize: 30 });
      this.bar.start(Math.max(total, 1), value);
      return;
    }
    this.bar?.setTotal(Math.max(total, 1));
    this.bar?.update(value);
  }

  waiting(job: InventoryResetJobRecord): void {
    if (this.waitingShown) return;
    this.waitingShown = true;
    this.stream.write(`import-inventory: job ${job.id} is ${job.state.toLowerCase()} in another process; following it (and taking over if that process stops)…\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function describeResetJob(job: InventoryResetJobRecord): string {
  const n = (value: number) => value.toLocaleString('en-US');
  const lines = [
    `inventory reset ${job.id} ${job.state}: ${n(job.rowsTotal ?? 0)} rows as of ${job.asOf.toISOString()} (${job.policy}, absent ${job.absent})`,
    `  ${n(job.rowsApplied)} applied, ${n(job.rowsUnchanged)} unchanged, ${n(job.rowsSkipped)} skipped, ${n(job.rowsStale)} stale${job.absent === 'ZERO' ? `, ${n(job.positionsZeroed)} absent positions zeroed` : ''}`,
  ];
  const shown = 20;
  if (job.errorCount > 0) lines.push(`  ${n(job.errorCount)} problem(s)${job.errorCount > shown ? `, first ${shown}` : ''}:`, ...job.errors.slice(0, shown).map((error) => `    ${error.line === null ? 'file' : `line ${error.line}`} ${error.code}: ${error.message}`));
  if (job.staleCount > 0) lines.push(`  ${n(job.staleCount)} position(s) left alone (newer than the snapshot)${job.staleCount > shown ? `, first ${shown}` : ''}:`, ...job.stalePositions.slice(0, shown).map((stale) => `    ${stale.line === null ? 'absent' : `line ${stale.line}`} ${stale.reason}: ${stale.message}`));
  return lines.join('\n');
}

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
