import type { AppliedOp, InventoryFlag, InventoryPositionRecord, InventoryReason } from '../inventory.types.js';
import type { StaleReason } from './inventory-reset.types.js';

/**
 * What a snapshot does to one position, decided from the position as read; pure, so it is re-run after a lost
 * compare-and-set. The rule (docs/inventory-reset.md):
 *
 *   onHand := snapshot + Σ deltas of the position's operations stamped after asOf
 *
 * so a sale the gateway applied after the ERP took its snapshot is kept. Earlier resets' own operations are not
 * deltas and are left out of the sum: the snapshot replaces them. A position whose absolute value is newer than
 * the snapshot (setInventory after asOf, or a reset with a later asOf) is left alone and reported.
 */
export type ResetDecision =
  /** This job already wrote the position (a resumed chunk, or a concurrent runner of the same job). */
  | { readonly kind: 'already-applied'; readonly op: AppliedOp | null }
  | { readonly kind: 'stale'; readonly reason: StaleReason; readonly changedAt: Date }
  | {
      readonly kind: 'write';
      readonly onHand: number;
      readonly safetyStock: number;
      /** False when the snapshot equals the current values: the position is only marked, no movement. */
      readonly changed: boolean;
      /** Σ of the deltas after asOf that were re-applied. */
      readonly replayed: number;
      readonly flags: readonly InventoryFlag[];
    };

export interface ResetTargetValues {
  readonly opId: string;
  readonly snapshot: number;
  /** Null keeps the position's safety stock. */
  readonly safetyStock: number | null;
}

/** An operation as far as the reset is concerned: from the position's recentOps or from the ledger. */
export interface ReplayableOp {
  readonly id: string;
  readonly delta: number;
  readonly at: Date;
  /** True for absolute values (SET, RESET): not re-applied. */
  readonly absolute: boolean;
}

export function decideReset(position: InventoryPositionRecord | null, target: ResetTargetValues, job: { readonly id: string; readonly asOf: Date }, ledgerAfter: readonly ReplayableOp[]): ResetDecision {
  if (position === null) {
    const safetyStock = target.safetyStock ?? 0;
    // A row of zeros for a position that never existed creates it (it is now known and reset) without a movement.
    return { kind: 'write', onHand: target.snapshot, safetyStock, changed: target.snapshot !== 0 || safetyStock !== 0, replayed: 0, flags: [] };
  }
  const own = position.recentOps.find(target.opId);
  if (own || position.lastResetJobId === job.id) return { kind: 'already-applied', op: own ?? null };

  const asOf = job.asOf.getTime();
  if (position.lastResetAsOf && position.lastResetAsOf.getTime() > asOf) return { kind: 'stale', reason: 'NEWER_RESET', changedAt: position.lastResetAsOf };
  const lastSet = latest([position.lastSetAt ?? null, ...[...position.recentOps].filter((op) => op.kind === 'SET').map((op) => op.at)]);
  if (lastSet && lastSet.getTime() > asOf) return { kind: 'stale', reason: 'SET_AFTER_AS_OF', changedAt: lastSet };

  const replayed = sumOfDeltasAfter(position, ledgerAfter, job.asOf);
  const onHand = target.snapshot + replayed;
  const safetyStock = target.safetyStock ?? position.safetyStock;
  const changed = onHand !== position.onHand || safetyStock !== position.safetyStock;
  const flags: InventoryFlag[] = position.reserved > 0 && onHand < position.reserved ? ['BELOW_RESERVED'] : [];
  return { kind: 'write', onHand, safetyStock, changed, replayed, flags };
}

/**
 * Σ deltas of the position's operations after asOf. The position's own recentOps are authoritative (written
 * with the quantities, so they include an operation whose ledger entry is not written yet); the ledger covers
 * what recentOps no longer holds. Both are merged by operation id.
 */
export function sumOfDeltasAfter(position: InventoryPositionRecord, ledgerAfter: readonly ReplayableOp[], asOf: Date): number {
  const seen = new Set<string>();
  let sum = 0;
  const add = (op: ReplayableOp) => {
    if (seen.has(op.id)) return;
    seen.add(op.id);
    if (!op.absolute && op.at.getTime() > asOf.getTime()) sum += op.delta;
  };
  for (const op of position.recentOps) add({ id: op.id, delta: op.delta, at: op.at, absolute: op.kind !== undefined });
  for (const op of ledgerAfter) add(op);
  return sum;
}

/**
 * Whether recentOps may have lost operations stamped after asOf: it is full, and its oldest entry is not
 * clearly older than asOf. Gateways' clocks differ a little, so "clearly" allows {@link CLOCK_SKEW_ALLOWANCE_MS}.
 */
export function needsLedger(position: InventoryPositionRecord, asOf: Date, recentOpsKept: number): boolean {
  const oldest = position.recentOps.oldest();
  return position.recentOps.length >= recentOpsKept && oldest !== undefined && oldest.at.getTime() > asOf.getTime() - CLOCK_SKEW_ALLOWANCE_MS;
}

/** How far apart two gateways' clocks may be when stamping operations. */
export const CLOCK_SKEW_ALLOWANCE_MS = 60_000; // 1 minute

/** Ledger reasons that record absolute values rather than deltas. setInventory's are caught by lastSetAt instead. */
export function isAbsoluteReason(reason: InventoryReason): boolean {
  return reason === 'RESET';
}

function latest(dates: readonly (Date | null)[]): Date | null {
  return dates.reduce<Date | null>((max, date) => (date && (!max || date > max) ? date : max), null);
}
