import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { failpoint } from '../../../faults/failpoints.js';
import type { ChangeLogRepository } from '../../../store/repositories/change-log.repository.js';
import type { InventoryMovementRepository } from '../../../store/repositories/inventory-movement.repository.js';
import type { InventoryPositionRepository } from '../../../store/repositories/inventory-position.repository.js';
import type { InventoryResetJobRepository, ResetJobUpdate } from '../../../store/repositories/inventory-reset-job.repository.js';
import type { LocationRepository } from '../../../store/repositories/location.repository.js';
import type { SkuRepository } from '../../../store/repositories/sku.repository.js';
import { positionKey } from '../inventory.types.js';
import { confirmDuplicates, DuplicateFinder, LineSet, MAX_SUSPECT_PAIRS } from './duplicate-finder.js';
import { MAX_REPORTED_ISSUES, type InventoryResetJobRecord, type ResetJobState, type ResetPhase, type ResetProgress, type ResetRowErrorValue, type StalePositionValue } from './inventory-reset.types.js';
import { ReferenceChecker } from './reference-checker.js';
import { readResetFile, ResetFileError, type ParsedRow, type ResetRow } from './reset-file.js';
import { ResetWriter, type ResetChunkResult, type ResetTarget } from './reset-writer.js';

export interface ResetStores {
  readonly jobs: InventoryResetJobRepository;
  readonly positions: InventoryPositionRepository;
  readonly movements: InventoryMovementRepository;
  /** Where a resumed run finds the changes of rows whose ledger entries its predecessor did not write. */
  readonly changeLog: ChangeLogRepository;
  readonly skus: SkuRepository;
  readonly locations: LocationRepository;
}

/** What a job reports as it goes, for a progress bar: bytes while validating, rows while applying. */
export interface ResetProgressEvent {
  readonly phase: ResetPhase;
  readonly progress: ResetProgress;
  readonly bytesRead: number;
  readonly fileBytes: number;
}

export interface ResetRunOptions {
  readonly chunkRows: number;
  readonly leaseMs: number;
  readonly logger: Logger;
  readonly onProgress?: (event: ResetProgressEvent) => void;
}

/** Another process took the job over (this one stalled past its lease): stop, it carries on. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** During validation, progress (and the lease) is written at most this often. */
const VALIDATION_CHECKPOINT_MS = 1_000; // 1 second

/** Failpoint after a chunk's positions and ledger are written and before its checkpoint (tests of resume). */
export const AFTER_CHUNK_FAILPOINT = 'inventory.reset.after-chunk';

/**
 * Chunks of the apply pass whose positions are written at once. One chunk at a time left the two cores 40% idle
 * (the CLI and the store waiting on each other's round trips, BENCHMARKS.md); more than this only queues in the
 * store.
 */
const CHUNKS_IN_FLIGHT = 3;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Validation {
  /** A problem with the file as a whole: nothing can be applied. */
  readonly fatal: ResetRowErrorValue | null;
  /** Lines of rows that must not be applied (invalid, unknown references, duplicates). */
  readonly badLines: LineSet;
}

/**
 * One run of a claimed reset job, as a list of steps:
 *
 * 1. **validate** — read the whole file: row checks, unknown SKUs and locations (one `$in` per chunk), duplicate
 *    positions; REJECT_FILE stops here with FAILED if anything is wrong, and nothing was written.
 * 2. **apply** — read it again and write each chunk's positions ({@link ResetWriter}), then checkpoint the number
 *    of rows committed; a resumed run starts after the checkpoint (redoing at most the chunk in flight, which
 *    the writer recognizes as already applied).
 * 3. **zero absent positions** (ZERO only) — positions at the file's locations the job did not mark get
 *    snapshot 0 under the same rule.
 * 4. **finish** — COMPLETED (or FAILED) and the lease is released.
 *
 * Every job write is conditional on the lease token. The run never undoes: each step is safe to repeat.
 */
export class InventoryResetRun {
  private readonly progress: Mutable<ResetProgress>;
  private errors: ResetRowErrorValue[] = [];
  private readonly stale: StalePositionValue[];
  private readonly writer: ResetWriter;
  private readonly logger: Logger;
  private phase: ResetPhase = 'VALIDATING';
  private bytesRead = 0;
  private lastCheckpointAt = 0;

  constructor(
    private readonly stores: ResetStores,
    /** The job as claimed: its counters are the checkpoint this run continues from. */
    private readonly job: InventoryResetJobRecord,
    private readonly leaseToken: string,
    /** The absolute path of the file to read. */
    private readonly file: string,
    private readonly options: ResetRunOptions,
  ) {
    const { rowsTotal, rowsValidated, rowsProcessed, rowsApplied, rowsUnchanged, rowsSkipped, rowsStale, positionsZeroed, errorCount, staleCount } = job;
    this.progress = { rowsTotal, rowsValidated, rowsProcessed, rowsApplied, rowsUnchanged, rowsSkipped, rowsStale, positionsZeroed, errorCount, staleCount };
    this.stale = [...job.stalePositions];
    this.writer = new ResetWriter(stores.positions, stores.movements, stores.changeLog, job);
    this.logger = options.logger.child({ resetJob: job.id });
  }

  /**
   * Runs the job to COMPLETED or FAILED and resolves with it. When the store fails (or the process dies) the
   * job stays RUNNING: once its lease has expired, importing the same file again resumes it.
   */
  async run(): Promise<InventoryResetJobRecord> {
    this.logger.info({ attempt: this.job.attempts, fromRow: this.job.rowsProcessed, policy: this.job.policy, absent: this.job.absent, asOf: this.job.asOf }, 'inventory reset started');
    try {
      const validation = await this.validate();
      if (validation.fatal || (this.job.policy === 'REJECT_FILE' && this.progress.errorCount > 0)) return await this.finish('FAILED');
      const locations = await this.apply(validation);
      if (this.job.absent === 'ZERO') await this.zeroAbsent(locations);
      return await this.finish('COMPLETED');
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      this.logger.warn('inventory reset lease lost: another process runs the job now');
      return (await this.stores.jobs.findById(this.job.id))!;
    }
  }

  private async validate(): Promise<Validation> {
    this.phase = 'VALIDATING';
    await this.checkpoint({ phase: 'VALIDATING' });
    const hash = createHash('sha256');
    const duplicates = new DuplicateFinder();
    const badLines = new LineSet();
    const references = new ReferenceChecker(this.stores.skus, this.stores.locations);
    this.errors = [];
    let errorCount = 0;
    let rows = 0;
    const report = (issue: ResetRowErrorValue) => {
      errorCount++;
      if (this.errors.length < MAX_REPORTED_ISSUES) this.errors.push(issue);
    };
    let fatal: ResetRowErrorValue | null = null;
    try {
      for await (const chunk of readResetFile(this.file, { chunkRows: this.options.chunkRows, hash, onBytes: (bytes) => (this.bytesRead = bytes) })) {
        const valid: ResetRow[] = [];
        for (const parsed of chunk) {
          rows++;
          const { skuCode, locationCode, line } = parsed.ok ? parsed.row : parsed;
          if (skuCode && locationCode) duplicates.add(positionKey(skuCode, locationCode), line);
          if (parsed.ok) valid.push(parsed.row);
          else {
            badLines.add(line);
            parsed.errors.forEach(report);
          }
        }
        const unknown = await references.unknownCodes(valid);
        for (const row of valid) {
          const ids = { skuCode: row.skuCode, locationCode: row.locationCode };
          if (unknown.skus.has(row.skuCode)) report({ line: row.line, column: 'sku', code: 'UNKNOWN_SKU', message: `SKU "${row.skuCode}" does not exist.`, ...ids });
          if (unknown.locations.has(row.locationCode)) report({ line: row.line, column: 'location', code: 'UNKNOWN_LOCATION', message: `Location "${row.locationCode}" does not exist.`, ...ids });
          if (unknown.skus.has(row.skuCode) || unknown.locations.has(row.locationCode)) badLines.add(row.line);
        }
        this.progress.rowsValidated = rows;
        await this.checkpointEvery(VALIDATION_CHECKPOINT_MS, { rowsValidated: rows });
      }
      if (duplicates.overflowed) {
        fatal = { line: null, column: null, code: 'DUPLICATE_ROW', message: `The file repeats more than ${MAX_SUSPECT_PAIRS.toLocaleString('en-US')} positions: it is not a snapshot of one value per position.`, skuCode: null, locationCode: null };
      } else if (hash.digest('hex') !== this.job.fileSha256) {
        fatal = { line: null, column: null, code: 'FILE_CHANGED', message: `The file "${this.job.path}" no longer has the content this job was created for (sha256 ${this.job.fileSha256}); import the new file as a new job.`, skuCode: null, locationCode: null };
      }
    } catch (error) {
      if (!(error instanceof ResetFileError)) throw error;
      fatal = error.issue;
    }
    if (fatal) {
      // Listed even past the cap: it is why nothing was applied.
      errorCount++;
      this.errors.push(fatal);
    } else {
      const firstsReported = new Set<number>();
      for (const pair of await confirmDuplicates(duplicates.suspects, (lines) => this.keysOfLines(lines))) {
        const [skuCode, locationCode] = splitKey(pair.key);
        const ids = { skuCode, locationCode };
        if (!firstsReported.has(pair.first)) {
          firstsReported.add(pair.first);
          report({ line: pair.first, column: null, code: 'DUPLICATE_ROW', message: `SKU "${skuCode}" at location "${locationCode}" appears again at line ${pair.line}; none of its rows is applied.`, ...ids });
        }
        report({ line: pair.line, column: null, code: 'DUPLICATE_ROW', message: `SKU "${skuCode}" at location "${locationCode}" already appears at line ${pair.first}; none of its rows is applied.`, ...ids });
        badLines.add(pair.first);
        badLines.add(pair.line);
      }
    }
    this.errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    this.progress.errorCount = errorCount;
    this.progress.rowsTotal = fatal ? null : rows;
    await this.checkpoint({ rowsTotal: this.progress.rowsTotal, rowsValidated: rows, errorCount, errors: this.errors });
    this.logger.info({ rows, errorCount, fatal: fatal?.code ?? null }, 'inventory reset file validated');
    return { fatal, badLines };
  }

  /**
   * Writes the good rows after the checkpoint; resolves the locations of the file's good rows (ZERO's scope).
   * Up to {@link CHUNKS_IN_FLIGHT} chunks' positions are written at once while the file is read on, and each
   * chunk's ledger entries and checkpoint follow its positions, in file order: a checkpoint still says that every
   * row before it is done. A file holds each position once (duplicates are refused), so chunks in flight never
   * touch the same position; after a crash the rows past the checkpoint are written again, which the job's mark
   * on each position turns into no-ops.
   */
  private async apply(validation: Validation): Promise<Set<string>> {
    this.phase = 'APPLYING';
    await this.checkpoint({ phase: 'APPLYING' });
    const from = this.progress.rowsProcessed;
    const locations = new Set<string>();
    const isGood = (parsed: ParsedRow): parsed is Extract<ParsedRow, { ok: true }> => parsed.ok && !validation.badLines.has(parsed.row.line);
    const indexOf = (parsed: ParsedRow) => (parsed.ok ? parsed.row.index : parsed.index);
    /** The last chunk's tail (ledger and checkpoint); each chunk's waits for the one before. */
    let previous: Promise<void> = Promise.resolve();
    /** Chunks whose positions are being written. */
    const writing: Promise<unknown>[] = [];
    let failed = false;
    try {
      for await (const chunk of readResetFile(this.file, { chunkRows: this.options.chunkRows, onBytes: (bytes) => (this.bytesRead = bytes) })) {
        for (const parsed of chunk) if (isGood(parsed)) locations.add(parsed.row.locationCode);
        const rest = chunk.filter((parsed) => indexOf(parsed) >= from);
        if (rest.length === 0) continue;
        const targets: ResetTarget[] = rest.filter(isGood).map(({ row }) => ({
          opId: `reset:${this.job.id}:${row.line}`,
          line: row.line,
          skuCode: row.skuCode,
          locationCode: row.locationCode,
          snapshot: row.onHand,
          safetyStock: row.safetyStock,
        }));
        const written = this.writer.writePositions(targets);
        const before = previous;
        const rows = { processed: indexOf(rest[rest.length - 1]!) + 1, skipped: rest.length - targets.length };
        // After the chunk before has finished, so that a failure here still leaves every chunk before checkpointed.
        previous = before.then(() => written).then((result) => this.finishChunk(result, rows));
        // Awaited below; until then a failure must not count as unhandled. It stops the pass: the rows after it
        // wait for a resumed run.
        previous.catch(() => (failed = true));
        writing.push(written.catch(() => undefined));
        if (writing.length >= CHUNKS_IN_FLIGHT) await writing.shift();
        if (failed) break;
      }
    } finally {
      await Promise.all(writing);
      await previous.catch(() => undefined);
    }
    await previous;
    return locations;
  }

  /** A chunk's tail: its ledger, then (the failpoint, and) the checkpoint that says it is done. */
  private async finishChunk(result: ResetChunkResult, rows: { processed: number; skipped: number }): Promise<void> {
    await this.writer.writeLedger(result.ledgerEntries);
    await failpoint(AFTER_CHUNK_FAILPOINT);
    this.progress.rowsProcessed = rows.processed;
    this.progress.rowsApplied += result.applied;
    this.progress.rowsUnchanged += result.unchanged;
    this.progress.rowsSkipped += rows.skipped;
    this.progress.rowsStale += result.stale.length;
    await this.checkpoint(this.addStale(result.stale));
  }

  private async zeroAbsent(locations: ReadonlySet<string>): Promise<void> {
    this.phase = 'ZEROING_ABSENT';
    await this.checkpoint({ phase: 'ZEROING_ABSENT' });
    if (locations.size === 0) return;
    for await (const batch of this.stores.positions.findNotMarkedByReset(this.job.id, [...locations], this.options.chunkRows)) {
      const targets: ResetTarget[] = batch.map((position) => ({
        opId: `reset:${this.job.id}:absent:${position.key}`,
        line: null,
        skuCode: position.skuCode,
        locationCode: position.locationCode,
        snapshot: 0,
        safetyStock: null,
      }));
      const result = await this.writer.write(targets, new Map(batch.map((position) => [position.key, position])));
      await failpoint(AFTER_CHUNK_FAILPOINT);
      this.progress.positionsZeroed += result.applied + result.unchanged;
      await this.checkpoint(this.addStale(result.stale));
    }
  }

  private async finish(state: Extract<ResetJobState, 'COMPLETED' | 'FAILED'>): Promise<InventoryResetJobRecord> {
    const update: ResetJobUpdate = { ...this.progress, errors: this.errors, stalePositions: this.stale };
    if (!(await this.stores.jobs.finish(this.job.id, this.leaseToken, state, update, new Date()))) throw new LeaseLostError();
    this.logger.info({ state, ...this.progress }, 'inventory reset finished');
    return (await this.stores.jobs.findById(this.job.id))!;
  }

  private addStale(stale: readonly StalePositionValue[]): ResetJobUpdate {
    this.progress.staleCount += stale.length;
    const room = MAX_REPORTED_ISSUES - this.stale.length;
    if (stale.length > 0 && room > 0) this.stale.push(...stale.slice(0, room));
    return { ...this.progress, ...(stale.length > 0 && room > 0 ? { stalePositions: this.stale } : {}) };
  }

  private async checkpointEvery(intervalMs: number, update: ResetJobUpdate): Promise<void> {
    if (Date.now() - this.lastCheckpointAt >= Math.min(intervalMs, this.options.leaseMs / 3)) await this.checkpoint(update);
    else this.emitProgress();
  }

  /** Records progress and renews the lease; throws {@link LeaseLostError} when another process holds the job. */
  private async checkpoint(update: ResetJobUpdate): Promise<void> {
    const now = new Date();
    if (!(await this.stores.jobs.checkpoint(this.job.id, this.leaseToken, update, now, new Date(now.getTime() + this.options.leaseMs)))) throw new LeaseLostError();
    this.lastCheckpointAt = now.getTime();
    this.emitProgress();
  }

  private emitProgress(): void {
    this.options.onProgress?.({ phase: this.phase, progress: { ...this.progress }, bytesRead: this.bytesRead, fileBytes: this.job.fileBytes });
  }

  /** The position keys of the given lines, read from the file again (to confirm suspected duplicates). */
  private async keysOfLines(lines: ReadonlySet<number>): Promise<Map<number, string>> {
    const keys = new Map<number, string>();
    for await (const chunk of readResetFile(this.file, { chunkRows: this.options.chunkRows })) {
      for (const parsed of chunk) {
        const { skuCode, locationCode, line } = parsed.ok ? parsed.row : parsed;
        if (skuCode && locationCode && lines.has(line)) keys.set(line, positionKey(skuCode, locationCode));
      }
    }
    return keys;
  }
}

/** Codes never contain ':' (CODE_PATTERN), so the position key splits unambiguously. */
function splitKey(key: string): [string, string] {
  const at = key.indexOf(':');
  return [key.slice(0, at), key.slice(at + 1)];
}
