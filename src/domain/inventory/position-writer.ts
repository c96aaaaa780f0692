import { operationEventId, originOf, outboxEntry } from '../changes/change-event.js';
import pMap from 'p-map';
import type { InventoryPositionRepository, PositionChange } from '../../store/repositories/inventory-position.repository.js';
import { failpoint } from '../../faults/failpoints.js';
import { DomainError } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import type { Decision } from './inventory-decisions.js';
import { positionKey, recentOpsOf, type AppliedOp, type InventoryItemOutcomeRecord, type InventoryMovementRecord, type InventoryPositionRecord, type InventoryReason } from './inventory.types.js';

/** One item to apply to one position, exactly once per operation id. */
export interface PositionOperation {
  readonly index: number;
  /** `${operationScope}:${index}`: see `OperationScope` in idempotency.service.ts. */
  readonly opId: string;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly reason: InventoryReason;
  readonly referenceDocument: string | null;
  readonly idempotencyKey: string | null;
  readonly decide: (current: InventoryPositionRecord | null) => Decision;
  /** 'SET' for an absolute value (setInventory): recorded so the daily reset never overwrites it with an older snapshot. */
  readonly kind?: 'SET';
  /**
   * The movement of this operation id when an earlier attempt applied it (from the ledger, or from the change it
   * made): looked up for a resumed request only.
   */
  readonly recorded?: InventoryMovementRecord;
}

/** An item's outcome with the full position (its bookkeeping included), for the next item on the same position. */
export type WrittenItem = Omit<InventoryItemOutcomeRecord, 'position'> & { readonly position: InventoryPositionRecord | null };

/** Writers racing on one hot position re-read and decide again; past this many rounds the client retries. */
const MAX_RACE_RETRIES = 20;
/** Operations of a batch that lost a race are retried one by one, this many at a time. */
const RETRY_CONCURRENCY = 8;

/** An operation decided on a known state, whose compare-and-set is still to be sent. */
interface PreparedWrite {
  readonly kind: 'write';
  readonly key: string;
  readonly operation: PositionOperation;
  readonly current: InventoryPositionRecord | null;
  readonly decision: Extract<Decision, { kind: 'apply' }>;
  readonly change: PositionChange;
}

/**
 * Applies operations to positions with single-document compare-and-set writes that also record the operation
 * id in the position. An operation whose id the position already holds is not applied again: that is what
 * makes an item exactly-once across client retries, concurrent duplicates and a gateway killed after the
 * position write. The write's change event carries the operation id, and the relay writes the ledger movement
 * from it (OperationRecorder): the position write is the only write of an operation.
 */
export class PositionWriter {
  constructor(private readonly positions: InventoryPositionRepository) {}

  /** Applies one operation. */
  async apply(ctx: RequestContext, operation: PositionOperation, initial: InventoryPositionRecord | null): Promise<WrittenItem> {
    const key = positionKey(operation.skuCode, operation.locationCode);
    let current = initial;
    for (let attempt = 0; attempt <= MAX_RACE_RETRIES; attempt++) {
      const step = this.prepare(ctx, operation, current);
      if (step.kind === 'decided') return step.item;
      const written = current ? await this.positions.applyIfVersion(current, step.change) : await this.positions.create(operation.skuCode, operation.locationCode, key, step.change);
      if (written) {
        await failpoint('inventory.after-position-write');
        return this.writtenItem(ctx, step);
      }
      current = await this.positions.findByKey(key);
    }
    throw new DomainError('CONFLICT', `Position "${key}" kept changing while it was written; retry the request with the same idempotency key.`);
  }

  /**
   * Applies operations on distinct, existing positions with one round trip of compare-and-sets. When some lost a
   * race — the bulk answer does not say which — the positions are read again and each of those operations goes
   * through {@link apply}: one that did get written finds itself recorded there, the others decide again.
   */
  async applyMany(ctx: RequestContext, items: readonly { readonly operation: PositionOperation; readonly current: InventoryPositionRecord }[]): Promise<WrittenItem[]> {
    const done: WrittenItem[] = [];
    const writes: PreparedWrite[] = [];
    for (const { operation, current } of items) {
      const step = this.prepare(ctx, operation, current);
      if (step.kind === 'decided') done.push(step.item);
      else writes.push(step);
    }
    if (writes.length === 0) return done;
    const allWritten = await this.positions.applyIfVersions(writes.map((write) => ({ current: write.current!, change: write.change })));
    await failpoint('inventory.after-position-write');
    if (allWritten) return [...done, ...writes.map((write) => this.writtenItem(ctx, write))];
    const fresh = new Map((await this.positions.findByKeys(writes.map((write) => write.key))).map((position) => [position.key, position]));
    const retried = await pMap(writes, (write) => this.apply(ctx, write.operation, fresh.get(write.key) ?? null), { concurrency: RETRY_CONCURRENCY });
    return [...done, ...retried];
  }

  /** What the operation comes to on `current`, before any write: an outcome already, or the write to attempt. */
  private prepare(ctx: RequestContext, operation: PositionOperation, current: InventoryPositionRecord | null): { readonly kind: 'decided'; readonly item: WrittenItem } | PreparedWrite {
    const applied = current?.recentOps.find(operation.opId);
    // Applied before (a retry): report it.
    if (applied && current) return { kind: 'decided', item: { index: operation.index, outcome: 'APPLIED', position: current, movement: movementOf(ctx, operation, applied), flags: applied.flags, error: null } };
    // Applied by the attempt this request resumes, and pushed out of the position's recent operations since.
    const { recorded } = operation;
    if (recorded) return { kind: 'decided', item: { index: operation.index, outcome: 'APPLIED', position: current, movement: recorded, flags: recorded.flags, error: null } };

    const decision = operation.decide(current);
    if (decision.kind === 'rejected') return { kind: 'decided', item: { index: operation.index, outcome: 'REJECTED', position: current, movement: null, flags: [], error: decision.error } };
    if (decision.kind === 'unchanged') return { kind: 'decided', item: { index: operation.index, outcome: 'UNCHANGED', position: current, movement: null, flags: decision.flags, error: null } };

    const at = new Date();
    const op: AppliedOp = { id: operation.opId, delta: decision.onHand - (current?.onHand ?? 0), onHandBefore: current?.onHand ?? 0, onHandAfter: decision.onHand, flags: decision.flags, at, ...(operation.kind ? { kind: operation.kind } : {}) };
    const entry = outboxEntry(
      originOf(ctx, { idempotencyKey: operation.idempotencyKey, reason: operation.reason, referenceDocument: operation.referenceDocument }),
      at,
      {
        delta: { onHand: decision.onHand - (current?.onHand ?? 0), reserved: (decision.reserved ?? current?.reserved ?? 0) - (current?.reserved ?? 0), safetyStock: decision.safetyStock - (current?.safetyStock ?? 0) },
        data: { flags: op.flags },
        operationId: operation.opId,
      },
      operationEventId('InventoryPosition', operation.opId),
    );
    const change: PositionChange = { entry, onHand: decision.onHand, safetyStock: decision.safetyStock, ...(decision.reserved === undefined ? {} : { reserved: decision.reserved }), ...(decision.removeHold === undefined ? {} : { removeHold: decision.removeHold }), ...(operation.kind === 'SET' ? { lastSetAt: at } : {}), op, at };
    return { kind: 'write', key: positionKey(operation.skuCode, operation.locationCode), operation, current, decision, change };
  }

  /** The outcome of a write that went through: the position as it now is, and the movement to record. */
  private writtenItem(ctx: RequestContext, { key, operation, current, decision, change }: PreparedWrite): WrittenItem {
    const { op, at } = change;
    const position: InventoryPositionRecord = current
      ? { ...current, onHand: decision.onHand, safetyStock: decision.safetyStock, reserved: decision.reserved ?? current.reserved, holds: current.holds.filter((hold) => hold.reservationId !== decision.removeHold), version: current.version + 1, updatedAt: at, recentOps: current.recentOps.concat(op) }
      : { key, skuCode: operation.skuCode, locationCode: operation.locationCode, onHand: decision.onHand, reserved: 0, safetyStock: decision.safetyStock, lastResetAsOf: null, recentOps: recentOpsOf([op]), holds: [], version: 1, createdAt: at, updatedAt: at };
    return { index: operation.index, outcome: 'APPLIED', position, movement: movementOf(ctx, operation, op), flags: op.flags, error: null };
  }
}

/** The ledger's movement for an operation applied as `op` says (what the relay writes from its change: ledger-recorder.ts). */
export function movementOf(ctx: RequestContext, operation: PositionOperation, op: AppliedOp): InventoryMovementRecord {
  return {
    id: op.id,
    skuCode: operation.skuCode,
    locationCode: operation.locationCode,
    delta: op.delta,
    reason: operation.reason,
    referenceDocument: operation.referenceDocument,
    apiKeyId: ctx.caller.keyId,
    apiKey: ctx.caller.name,
    idempotencyKey: operation.idempotencyKey,
    onHandBefore: op.onHandBefore,
    onHandAfter: op.onHandAfter,
    flags: op.flags,
    at: op.at,
  };
}
