import { createHash, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError, invalidInput, type InputIssue, type InvalidInputResult } from '../../common/errors.js';
import type { RequestContext } from '../../common/request-context.js';
import { resolveImportPath } from './import-path.js';
import { InventoryResetRun, type ResetProgressEvent, type ResetStores } from './inventory-reset.job.js';
import { EMPTY_PROGRESS, type AbsentPositions, type InventoryResetJobRecord, type ResetOptions, type ResetPolicy } from './inventory-reset.types.js';
import { hashFile } from './reset-file.js';

/** Abandoned jobs one resume pass takes over; the next pass takes the rest. */
const RESUME_BATCH = 10;

export interface InventoryResetOptions {
  /** importInventory reads files from here only (IMPORT_DIR, default DATA_DIR/imports). */
  readonly importDir: string;
  /** Rows per chunk: one read of positions, one bulk write and one checkpoint each. */
  readonly chunkRows: number;
  /** How long a runner holds a job between checkpoints; after it, a re-submission takes over (the runner died). */
  readonly leaseMs: number;
}

export const DEFAULT_INVENTORY_RESET_OPTIONS: InventoryResetOptions = {
  importDir: resolve('.data', 'imports'),
  chunkRows: 500,
  leaseMs: 30_000, // 30 seconds
};

export interface ImportRequest {
  readonly path: string;
  readonly asOf: Date;
  readonly policy?: ResetPolicy | null;
  readonly absent?: AbsentPositions | null;
}

export interface LocalImportHooks {
  readonly onProgress?: (event: ResetProgressEvent) => void;
  /** The job is run by another live process; called on every poll while this one waits to follow or take over. */
  readonly onWaiting?: (job: InventoryResetJobRecord) => void;
}

/** A snapshot may be a little ahead of our clock (the ERP's clock), not more. */
const MAX_AS_OF_AHEAD_MS = 5 * 60_000; // 5 minutes
/** How often a CLI waiting for another process's run of the same job looks again. */
const FOLLOW_POLL_MS = 1_000; // 1 second

/**
 * The daily inventory reset's entry points: the importInventory mutation (a file in the import directory, run
 * in the background of the gateway that received it) and the CLI (a local file, run in the foreground). Both
 * create or find the same job — its id is derived from the file's content and the options — and run the same
 * {@link InventoryResetRun}. See docs/inventory-reset.md.
 */
export class InventoryResetService {
  constructor(
    private readonly stores: ResetStores,
    private readonly options: InventoryResetOptions = DEFAULT_INVENTORY_RESET_OPTIONS,
  ) {}

  async getJob(ctx: RequestContext, id: string): Promise<InventoryResetJobRecord | null> {
    assertUnbound(ctx, 'read inventory reset jobs');
    return this.stores.jobs.findById(id);
  }

  /**
   * Starts (or finds) the job for a file in the import directory and returns at once; the job runs in this
   * process's background. The same file with the same asOf and options returns the existing job; a job whose
   * runner died is resumed by this call once its lease has expired.
   */
  async importFromServer(ctx: RequestContext, request: ImportRequest): Promise<InventoryResetJobRecord | InvalidInputResult> {
    assertUnbound(ctx, 'import inventory files');
    const issues: InputIssue[] = asOfIssues(request.asOf, ctx.now);
    const resolved = await resolveImportPath(this.options.importDir, request.path);
    if (!resolved.ok) issues.push(resolved.issue);
    if (issues.length > 0 || !resolved.ok) return invalidInput(issues);
    const { job, run } = await this.submit(ctx, resolved.absolute, resolved.relative, optionsOf(request));
    if (run) {
      run.run().catch((error: unknown) => ctx.logger.error({ err: error, resetJob: job.id }, 'inventory reset stopped; import the same file again to resume it'));
    }
    return job;
  }

  /**
   * Runs the job for a local file in the foreground (the CLI) and resolves once it is COMPLETED or FAILED. When
   * another process runs the same job, waits for it, and takes over if that process dies.
   */
  async importLocalFile(ctx: RequestContext, request: ImportRequest, hooks: LocalImportHooks = {}): Promise<InventoryResetJobRecord> {
    assertUnbound(ctx, 'import inventory files');
    const issues = asOfIssues(request.asOf, ctx.now);
    if (issues.length > 0) throw new DomainError('BAD_USER_INPUT', issues[0]!.message, { argument: 'asOf' });
    const absolute = resolve(request.path);
    const stats = await stat(absolute).catch(() => null);
    if (!stats?.isFile()) throw new DomainError('NOT_FOUND', `There is no file "${request.path}".`, { argument: 'path' });
    for (;;) {
      const { job, run } = await this.submit(ctx, absolute, absolute, optionsOf(request), hooks.onProgress);
      if (run) return run.run();
      if (job.state === 'COMPLETED') return job;
      hooks.onWaiting?.(job);
      await sleep(FOLLOW_POLL_MS);
    }
  }

  /**
   * Resumes server-side imports whose runner died or shut down (their lease expired), in this process's
   * background; the gateway calls it at start and then once per lease period. A CLI import (absolute path: the
   * file is on the CLI's machine) is left to the CLI, which resumes it when run again. Resolves how many it took.
   */
  async resumeAbandoned(ctx: RequestContext): Promise<number> {
    let resumed = 0;
    for (const job of await this.stores.jobs.findAbandoned(new Date(), RESUME_BATCH)) {
      if (isAbsolute(job.path)) continue;
      const resolved = await resolveImportPath(this.options.importDir, job.path);
      if (!resolved.ok) {
        ctx.logger.warn({ resetJob: job.id, path: job.path }, 'abandoned inventory reset job: its file is gone; import it again');
        continue;
      }
      const now = new Date();
      const token = randomUUID();
      const claimed = await this.stores.jobs.claim(job.id, token, job.path, now, new Date(now.getTime() + this.options.leaseMs));
      if (!claimed) continue; // another replica took it first
      resumed++;
      ctx.logger.info({ resetJob: job.id, rowsProcessed: claimed.rowsProcessed }, 'resuming an abandoned inventory reset job');
      // The run checks the file's sha256 against the job's and fails it (FILE_CHANGED) if the file was replaced.
      new InventoryResetRun(this.stores, claimed, token, resolved.absolute, { chunkRows: this.options.chunkRows, leaseMs: this.options.leaseMs, logger: ctx.logger })
        .run()
        .catch((error: unknown) => ctx.logger.error({ err: error, resetJob: job.id }, 'inventory reset stopped; it is resumed again once its lease expires'));
    }
    return resumed;
  }

  /** Finds or creates the job and tries to claim it; `run` is null when it is finished or someone else runs it. */
  private async submit(ctx: RequestContext, absolute: string, storedPath: string, options: ResetOptions, onProgress?: (event: ResetProgressEvent) => void): Promise<{ job: InventoryResetJobRecord; run: InventoryResetRun | null }> {
    const { sha256, bytes } = await hashFile(absolute);
    const id = jobIdOf(sha256, options);
    const now = new Date();
    const token = randomUUID();
    const leaseUntil = new Date(now.getTime() + this.options.leaseMs);
    const created = await this.stores.jobs.insertIfAbsent({
      id,
      state: 'QUEUED',
      phase: null,
      path: storedPath,
      fileSha256: sha256,
      fileBytes: bytes,
      ...options,
      ...EMPTY_PROGRESS,
      requestedBy: { keyId: ctx.caller.keyId, name: ctx.caller.name },
      errors: [],
      stalePositions: [],
      attempts: 0,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
    }, { token, until: leaseUntil });
    const claimed = await this.stores.jobs.claim(id, token, storedPath, now, leaseUntil);
    if (!claimed) {
      const existing = (await this.stores.jobs.findById(id))!;
      ctx.logger.info({ resetJob: id, state: existing.state }, created ? 'inventory reset job created; another process runs it' : 'inventory reset job exists already');
      return { job: existing, run: null };
    }
    const run = new InventoryResetRun(this.stores, claimed, token, absolute, { chunkRows: this.options.chunkRows, leaseMs: this.options.leaseMs, logger: ctx.logger, ...(onProgress ? { onProgress } : {}) });
    return { job: claimed, run };
  }
}

/** `irj_` + 32 hex digits of sha256(file sha256, asOf, policy, absent): the same file and options, the same job. */
export function jobIdOf(fileSha256: string, options: ResetOptions): string {
  const digest = createHash('sha256').update(`${fileSha256}|${options.asOf.toISOString()}|${options.policy}|${options.absent}`).digest('hex');
  return `irj_${digest.slice(0, 32)}`;
}

function optionsOf(request: ImportRequest): ResetOptions {
  return { asOf: request.asOf, policy: request.policy ?? 'REJECT_FILE', absent: request.absent ?? 'LEAVE' };
}

function asOfIssues(asOf: Date, now: Date): InputIssue[] {
  if (Number.isNaN(asOf.getTime())) return [{ index: null, path: ['asOf'], code: 'INVALID_FORMAT', message: 'asOf must be an ISO-8601 time such as 2026-11-24T05:00:00Z.' }];
  if (asOf.getTime() > now.getTime() + MAX_AS_OF_AHEAD_MS) {
    return [{ index: null, path: ['asOf'], code: 'OUT_OF_RANGE', message: `asOf ${asOf.toISOString()} is in the future; a snapshot is taken before it is imported.` }];
  }
  return [];
}

/** The file may touch any location, and ZERO may clear whole locations: channel-bound keys may not. */
function assertUnbound(ctx: RequestContext, what: string): void {
  if (ctx.caller.channels.length > 0) {
    throw new DomainError('FORBIDDEN', `API key "${ctx.caller.name}" is bound to channels ${ctx.caller.channels.join(', ')} and may not ${what}: a reset file spans every location. Use an unbound key.`);
  }
}
