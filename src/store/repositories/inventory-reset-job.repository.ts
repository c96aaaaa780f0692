import type { Connection, Model } from 'mongoose';
import {
  EMPTY_PROGRESS,
  type AbsentPositions,
  type InventoryResetJobRecord,
  type ResetErrorCode,
  type ResetJobState,
  type ResetPhase,
  type ResetPolicy,
  type ResetProgress,
  type ResetRowErrorValue,
  type StalePositionValue,
  type StaleReason,
} from '../../domain/inventory/reset/inventory-reset.types.js';
import { inventoryResetJobSchema, type InventoryResetJobDocument } from '../models/inventory-reset-job.model.js';
import { isDuplicateKeyError } from './mongo-errors.js';

type StoredJob = InventoryResetJobDocument & { _id: string };

/** What a running job writes as it goes: progress, its phase, and the problems found so far (already capped). */
export type ResetJobUpdate = Partial<ResetProgress> & {
  readonly phase?: ResetPhase | null;
  readonly errors?: readonly ResetRowErrorValue[];
  readonly stalePositions?: readonly StalePositionValue[];
};

function toRecord(document: StoredJob): InventoryResetJobRecord {
  return {
    id: document._id,
    state: document.state as ResetJobState,
    phase: (document.phase ?? null) as ResetPhase | null,
    path: document.path,
    fileSha256: document.fileSha256,
    fileBytes: document.fileBytes,
    asOf: document.asOf,
    policy: document.policy as ResetPolicy,
    absent: document.absent as AbsentPositions,
    requestedBy: { keyId: document.requestedBy.keyId, name: document.requestedBy.name },
    rowsTotal: document.rowsTotal ?? null,
    rowsValidated: document.rowsValidated,
    rowsProcessed: document.rowsProcessed,
    rowsApplied: document.rowsApplied,
    rowsUnchanged: document.rowsUnchanged,
    rowsSkipped: document.rowsSkipped,
    rowsStale: document.rowsStale,
    positionsZeroed: document.positionsZeroed,
    errorCount: document.errorCount,
    staleCount: document.staleCount,
    errors: document.rowErrors.map((error) => ({
      line: error.line ?? null,
      column: error.column ?? null,
      code: error.code as ResetErrorCode,
      message: error.message,
      skuCode: error.skuCode ?? null,
      locationCode: error.locationCode ?? null,
    })),
    stalePositions: document.stalePositions.map((stale) => ({
      line: stale.line ?? null,
      skuCode: stale.skuCode,
      locationCode: stale.locationCode,
      reason: stale.reason as StaleReason,
      changedAt: stale.changedAt,
      message: stale.message,
    })),
    attempts: document.attempts,
    createdAt: document.createdAt,
    startedAt: document.startedAt ?? null,
    finishedAt: document.finishedAt ?? null,
    updatedAt: document.updatedAt,
  };
}

function toSet(update: ResetJobUpdate): Record<string, unknown> {
  const { errors, stalePositions, ...rest } = update;
  return {
    ...rest,
    ...(errors ? { rowErrors: errors.map((error) => ({ ...error })) } : {}),
    ...(stalePositions ? { stalePositions: stalePositions.map((stale) => ({ ...stale })) } : {}),
  };
}

/**
 * Reset jobs, keyed by their content-derived id. A job is run by whoever holds its lease; every write of a
 * running job is conditional on the lease token, so a process that lost the lease (it stalled past the lease
 * and another took over) learns it at its next checkpoint and stops.
 */
export class InventoryResetJobRepository {
  private readonly model: Model<StoredJob>;

  constructor(connection: Connection) {
    this.model = connection.model<StoredJob>('InventoryResetJob', inventoryResetJobSchema);
  }

  async findById(id: string): Promise<InventoryResetJobRecord | null> {
    const document = await this.model.findById(id).lean<StoredJob>().exec();
    return document ? toRecord(document) : null;
  }

  /** Creates the job unless it exists; false when it does (the same file and options were imported before). */
  async insertIfAbsent(job: InventoryResetJobRecord, heldBy: { readonly token: string; readonly until: Date }): Promise<boolean> {
    const { id, errors, stalePositions, ...rest } = job;
    try {
      // Created under its creator's lease, which its claim then takes: with no lease, another replica's sweep for
      // abandoned jobs could take a job its creator was about to claim.
      await this.model.create({ _id: id, ...rest, rowErrors: [...errors], stalePositions: [...stalePositions], lease: { token: heldBy.token, until: heldBy.until } });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  /** Jobs started or queued whose runner is gone (no lease, or an expired one), oldest first. */
  async findAbandoned(now: Date, limit: number): Promise<InventoryResetJobRecord[]> {
    const documents = await this.model
      .find({ state: { $in: ['QUEUED', 'RUNNING'] }, $or: [{ lease: null }, { 'lease.until': { $lt: now } }] })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .lean<StoredJob[]>()
      .exec();
    return documents.map(toRecord);
  }

  /**
   * Takes the job if nobody runs it: QUEUED or RUNNING with no live lease (its runner died), or FAILED (it
   * applied nothing; run it again). Resolves the job as the new holder sees it, or null when someone else holds
   * it or it is COMPLETED.
   */
  async claim(id: string, token: string, path: string, now: Date, leaseUntil: Date): Promise<InventoryResetJobRecord | null> {
    const before = await this.model
      .findOneAndUpdate(
        {
          _id: id,
          $or: [
            { state: { $in: ['QUEUED', 'RUNNING'] }, lease: null },
            { state: { $in: ['QUEUED', 'RUNNING'] }, 'lease.until': { $lt: now } },
            { state: 'QUEUED', 'lease.token': token }, // created by this caller (insertIfAbsent)
            { state: 'FAILED' },
          ],
        },
        { $set: { state: 'RUNNING', lease: { token, until: leaseUntil }, path, updatedAt: now }, $inc: { attempts: 1 } },
        // 'before' is the reliable one on every server (STORE.md); the new state is derived from it.
        { returnDocument: 'before' },
      )
      .lean<StoredJob>()
      .exec();
    if (!before) return null;
    // A failed job starts over; a first start records when.
    const restart: ResetJobUpdate & { startedAt?: Date; finishedAt?: null } =
      before.state === 'FAILED' ? { ...EMPTY_PROGRESS, phase: null, errors: [], stalePositions: [], startedAt: now, finishedAt: null } : before.startedAt ? {} : { startedAt: now };
    if (Object.keys(restart).length > 0) await this.model.updateOne({ _id: id, 'lease.token': token }, { $set: toSet(restart) }).exec();
    return {
      ...toRecord(before),
      ...restart,
      errors: restart.errors ?? toRecord(before).errors,
      stalePositions: restart.stalePositions ?? toRecord(before).stalePositions,
      state: 'RUNNING',
      path,
      attempts: before.attempts + 1,
      updatedAt: now,
    } as InventoryResetJobRecord;
  }

  /** Records progress and extends the lease; false when the lease was lost (stop: someone else runs the job). */
  async checkpoint(id: string, token: string, update: ResetJobUpdate, now: Date, leaseUntil: Date): Promise<boolean> {
    const result = await this.model
      .updateOne({ _id: id, state: 'RUNNING', 'lease.token': token }, { $set: { ...toSet(update), 'lease.until': leaseUntil, updatedAt: now } })
      .exec();
    return result.matchedCount === 1;
  }

  /** Ends the job as COMPLETED or FAILED and gives up the lease; false when the lease was lost. */
  async finish(id: string, token: string, state: Extract<ResetJobState, 'COMPLETED' | 'FAILED'>, update: ResetJobUpdate, now: Date): Promise<boolean> {
    const result = await this.model
      .updateOne({ _id: id, state: 'RUNNING', 'lease.token': token }, { $set: { ...toSet(update), state, phase: null, lease: null, finishedAt: now, updatedAt: now } })
      .exec();
    return result.matchedCount === 1;
  }
}
