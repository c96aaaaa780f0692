import type { ChangeLogRepository } from '../../../store/repositories/change-log.repository.js';
import type { InventoryMovementRepository } from '../../../store/repositories/inventory-movement.repository.js';
import { operationEventId, outboxEntry, systemOrigin } from '../../changes/change-event.js';
import { RECENT_OPS_KEPT, type InventoryPositionRepository, type ResetWrite } from '../../../store/repositories/inventory-position.repository.js';
import { DomainError } from '../../common/errors.js';
import { positionKey, type AppliedOp, type InventoryMovementRecord, type InventoryPositionRecord } from '../inventory.types.js';
import { findMovements, movementsOfChanges } from '../ledger-recorder.js';
import type { ResetRequester, StalePositionValue } from './inventory-reset.types.js';
import { decideReset, isAbsoluteReason, needsLedger, type ReplayableOp, type ResetDecision } from './reset-decisions.js';

/** One position the job sets from a snapshot value. */
export interface ResetTarget {
  /** `reset:<job id>:<line>` for a row, `reset:<job id>:absent:<position key>` for an absent position. */
  readonly opId: string;
  readonly line: number | null;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly snapshot: number;
  readonly safetyStock: number | null;
}

export interface ResetChunkResult {
  /** Positions changed by this job (now or, for a resumed chunk, before the crash). */
  readonly applied: number;
  /** Positions that already had the snapshot's values: marked, no movement. */
  readonly unchanged: number;
  readonly stale: readonly StalePositionValue[];
  /** The ledger entries of the applied positions, for {@link ResetWriter.writeLedger}. */
  readonly ledgerEntries: readonly InventoryMovementRecord[];
}

export interface ResetJobIdentity {
  readonly id: string;
  readonly asOf: Date;
  readonly requestedBy: ResetRequester;
}

/** A chunk's positions racing with live sales re-read and decide again; past this many rounds the job stops (resumable). */
const MAX_RACE_ROUNDS = 20;

/**
 * Applies a chunk of snapshot values under the rules of {@link PositionWriter}, batched for a file of a million
 * rows: one read of the chunk's positions, one bulk write in which every position is its own single-document
 * compare-and-set on its version that records the operation id (and the job) in the same update, then one
 * insert of the ledger movements. A write that lost its race (a sale in between) is re-read and decided again;
 * the job marker on the position tells which writes won, so a resumed or concurrently run chunk never applies a
 * row twice, and a ledger entry missing after a crash is rebuilt from the operation the position recorded.
 */
export class ResetWriter {
  constructor(
    private readonly positions: InventoryPositionRepository,
    private readonly movements: InventoryMovementRepository,
    private readonly changeLog: ChangeLogRepository,
    private readonly job: ResetJobIdentity,
  ) {}

  /** Both steps, one after the other. */
  async write(targets: readonly ResetTarget[], known?: ReadonlyMap<string, InventoryPositionRecord>): Promise<ResetChunkResult> {
    const result = await this.writePositions(targets, known);
    await this.writeLedger(result.ledgerEntries);
    return result;
  }

  /**
   * The ledger entries of applied positions. Until they are written the chunk is not done: a job checkpoints a
   * chunk only after this, so a crash in between redoes the chunk, which rebuilds them from the positions.
   */
  async writeLedger(entries: readonly InventoryMovementRecord[]): Promise<void> {
    await this.movements.insertManyIfAbsent(entries);
  }

  /**
   * Step 1: the positions. `known`: positions the caller has already read (the absent-position scan); the
   * others are read here.
   */
  async writePositions(targets: readonly ResetTarget[], known?: ReadonlyMap<string, InventoryPositionRecord>): Promise<ResetChunkResult> {
    const keyOf = (target: ResetTarget) => positionKey(target.skuCode, target.locationCode);
    const current = new Map(known ?? (await this.positions.findByKeys(targets.map(keyOf))).map((position) => [position.key, position]));
    let pending = [...targets];
    let applied = 0;
    let unchanged = 0;
    const stale: StalePositionValue[] = [];
    const ledgerEntries: InventoryMovementRecord[] = [];
    const settle = (target: ResetTarget, op: AppliedOp | null) => {
      if (op) {
        applied++;
        ledgerEntries.push(this.movementOf(target, op));
      } else unchanged++;
    };

    for (let round = 0; pending.length > 0; round++) {
      if (round > MAX_RACE_ROUNDS) {
        throw new DomainError('CONFLICT', `Reset job ${this.job.id}: ${pending.length} position(s) kept changing while they were written (first: "${keyOf(pending[0]!)}"); submit the same import again to resume.`);
      }
      const ledger = await this.ledgerAfterAsOf(pending.map((target) => current.get(keyOf(target))).filter((position) => position !== undefined));
      const at = new Date();
      const writes: { target: ResetTarget; write: ResetWrite }[] = [];
      const forgotten: ResetTarget[] = [];
      for (const target of pending) {
        const key = keyOf(target);
        const position = current.get(key) ?? null;
        const decision = decideReset(position, target, this.job, ledger.get(key) ?? []);
        if (decision.kind === 'already-applied') {
          if (decision.op) settle(target, decision.op);
          else forgotten.push(target);
        } else if (decision.kind === 'stale') stale.push(this.staleOf(target, decision));
        else writes.push({ target, write: this.writeOf(target, position, decision, at) });
      }
      const found = await this.appliedBefore(forgotten);
      for (const target of forgotten) settle(target, found.get(target.opId) ?? null);
      if (await this.positions.applyResetWrites(writes.map(({ write }) => write))) {
        for (const { target, write } of writes) settle(target, write.op);
        break;
      }
      // Some writes lost a race: the marker says which won; the others are decided again on fresh reads.
      const fresh = new Map((await this.positions.findByKeys(writes.map(({ write }) => write.key))).map((position) => [position.key, position]));
      pending = [];
      for (const { target, write } of writes) {
        const position = fresh.get(write.key);
        if (position && position.lastResetJobId === this.job.id) {
          settle(target, position.recentOps.find(target.opId) ?? null);
        } else {
          if (position) current.set(write.key, position);
          pending.push(target);
        }
      }
    }
    return { applied, unchanged, stale, ledgerEntries };
  }

  /**
   * Rows of a resumed run that this job marked but whose operation their position no longer holds: unchanged by
   * the job (no operation), or changed and then changed a hundred times more. The ledger says which, else the
   * change the write made (its event id derives from the operation id), pending in the outbox or logged: a run
   * that died between a chunk's positions and its ledger gets the movement rebuilt, not lost.
   */
  private async appliedBefore(targets: readonly ResetTarget[]): Promise<Map<string, AppliedOp>> {
    const movements = await findMovements({ movements: this.movements, changeLog: this.changeLog }, targets.map((target) => ({ opId: target.opId, positionKey: positionKey(target.skuCode, target.locationCode) })));
    return new Map([...movements].map(([id, movement]) => [id, { id, delta: movement.delta, onHandBefore: movement.onHandBefore, onHandAfter: movement.onHandAfter, flags: movement.flags, at: movement.at, kind: 'RESET' }]));
  }

  /**
   * Ledger movements after asOf, only for positions whose recentOps may not hold all of them (see needsLedger),
   * with those the relay has not written yet (still in the positions' outboxes, read first: see listMovements).
   */
  private async ledgerAfterAsOf(positions: readonly InventoryPositionRecord[]): Promise<Map<string, ReplayableOp[]>> {
    const keys = positions.filter((position) => needsLedger(position, this.job.asOf, RECENT_OPS_KEPT)).map((position) => position.key);
    const byKey = new Map<string, ReplayableOp[]>();
    if (keys.length === 0) return byKey;
    const unwritten = movementsOfChanges(await this.changeLog.pendingChanges('InventoryPosition', keys)).filter((movement) => movement.at > this.job.asOf);
    const written = await this.movements.findAfter(keys, this.job.asOf);
    const ids = new Set(written.map((movement) => movement.id));
    for (const movement of [...written, ...unwritten.filter((movement) => !ids.has(movement.id))]) {
      const key = positionKey(movement.skuCode, movement.locationCode);
      byKey.set(key, [...(byKey.get(key) ?? []), { id: movement.id, delta: movement.delta, at: movement.at, absolute: isAbsoluteReason(movement.reason) }]);
    }
    return byKey;
  }

  private writeOf(target: ResetTarget, position: InventoryPositionRecord | null, decision: Extract<ResetDecision, { kind: 'write' }>, at: Date): ResetWrite {
    const before = position?.onHand ?? 0;
    const op: AppliedOp | null = decision.changed
      ? { id: target.opId, delta: decision.onHand - before, onHandBefore: before, onHandAfter: decision.onHand, flags: decision.flags, at, kind: 'RESET' }
      : null;
    return {
      key: positionKey(target.skuCode, target.locationCode),
      skuCode: target.skuCode,
      locationCode: target.locationCode,
      expectedVersion: position?.version ?? null,
      onHand: decision.onHand,
      safetyStock: decision.safetyStock,
      op,
      resetAsOf: this.job.asOf,
      resetJobId: this.job.id,
      at,
      entry: outboxEntry(
        systemOrigin('RESET', { apiKeyId: this.job.requestedBy.keyId, apiKey: this.job.requestedBy.name, reason: 'RESET', referenceDocument: this.job.id }),
        at,
        { delta: { onHand: decision.onHand - before, reserved: 0, safetyStock: decision.safetyStock - (position?.safetyStock ?? 0) } },
        // Only a write that applied an operation made its change: a row left unchanged (only marked) must not
        // be taken by a resumed run for one whose operation was pushed out of recentOps.
        op ? operationEventId('InventoryPosition', target.opId) : undefined,
      ),
    };
  }

  private staleOf(target: ResetTarget, decision: Extract<ResetDecision, { kind: 'stale' }>): StalePositionValue {
    const what = decision.reason === 'NEWER_RESET' ? `a reset as of ${decision.changedAt.toISOString()}` : `setInventory at ${decision.changedAt.toISOString()}`;
    return {
      line: target.line,
      skuCode: target.skuCode,
      locationCode: target.locationCode,
      reason: decision.reason,
      changedAt: decision.changedAt,
      message: `SKU "${target.skuCode}" at location "${target.locationCode}" was left alone: ${what} is newer than this snapshot (as of ${this.job.asOf.toISOString()}).`,
    };
  }

  private movementOf(target: ResetTarget, op: AppliedOp): InventoryMovementRecord {
    return {
      id: op.id,
      skuCode: target.skuCode,
      locationCode: target.locationCode,
      delta: op.delta,
      reason: 'RESET',
      referenceDocument: `inventory-reset:${this.job.id}${target.line === null ? '' : `:line-${target.line}`}`,
      apiKeyId: this.job.requestedBy.keyId,
      apiKey: this.job.requestedBy.name,
      idempotencyKey: null,
      onHandBefore: op.onHandBefore,
      onHandAfter: op.onHandAfter,
      flags: op.flags,
      at: op.at,
    };
  }
}
