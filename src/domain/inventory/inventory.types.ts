/** RESET: the daily inventory reset took a snapshot (src/domain/inventory/reset). */
export type InventoryReason = 'SALE' | 'RETURN' | 'RECEIPT' | 'TRANSFER_IN' | 'TRANSFER_OUT' | 'DAMAGE' | 'SHRINKAGE' | 'CORRECTION' | 'CYCLE_COUNT' | 'SET' | 'RESET';
export const INVENTORY_REASONS = ['SALE', 'RETURN', 'RECEIPT', 'TRANSFER_IN', 'TRANSFER_OUT', 'DAMAGE', 'SHRINKAGE', 'CORRECTION', 'CYCLE_COUNT', 'SET', 'RESET'] as const satisfies readonly InventoryReason[];

export type InventoryFlag = 'BELOW_RESERVED' | 'CLAMPED';
export const INVENTORY_FLAGS = ['BELOW_RESERVED', 'CLAMPED'] as const satisfies readonly InventoryFlag[];

/**
 * An operation already applied to a position, kept (bounded) in the position document itself: it is written in
 * the same single-document update as the new quantities, so "was this item applied?" has an atomic answer, and
 * a retry after a crash can rebuild the ledger entry from it.
 */
export interface AppliedOp {
  readonly id: string;
  readonly delta: number;
  readonly onHandBefore: number;
  readonly onHandAfter: number;
  readonly flags: readonly InventoryFlag[];
  readonly at: Date;
  /** Absent for a delta. The daily reset re-applies the deltas stamped after its asOf and must tell them apart. */
  readonly kind?: AppliedOpKind;
}

/** SET: an absolute value through setInventory. RESET: a snapshot applied by the daily reset. */
export type AppliedOpKind = 'SET' | 'RESET';
export const APPLIED_OP_KINDS = ['SET', 'RESET'] as const satisfies readonly AppliedOpKind[];

/**
 * The operations a position remembers, oldest first. Every write looks one up by id ("applied already?"); only
 * the daily reset walks them all. A busy position holds a hundred, so the store's implementation decodes only
 * what is asked for (applied-op-codec.ts): decoding every one on every read was a third of the gateway's CPU per
 * batch item on such positions (BENCHMARKS.md).
 */
export interface RecentOps extends Iterable<AppliedOp> {
  readonly length: number;
  /** The operation with this id, if the position still remembers it. */
  find(id: string): AppliedOp | undefined;
  oldest(): AppliedOp | undefined;
  /** These operations and then `op`: the list after a write, in memory (the store keeps the bound). */
  concat(op: AppliedOp): RecentOps;
}

class AppliedOpList implements RecentOps {
  constructor(private readonly ops: readonly AppliedOp[]) {}

  get length(): number {
    return this.ops.length;
  }

  find(id: string): AppliedOp | undefined {
    return this.ops.find((op) => op.id === id);
  }

  oldest(): AppliedOp | undefined {
    return this.ops[0];
  }

  concat(op: AppliedOp): RecentOps {
    return new AppliedOpList([...this.ops, op]);
  }

  [Symbol.iterator](): Iterator<AppliedOp> {
    return this.ops[Symbol.iterator]();
  }
}

/** Operations already decoded, oldest first. */
export function recentOpsOf(ops: readonly AppliedOp[]): RecentOps {
  return new AppliedOpList(ops);
}

/** Stock of one SKU at one location, keyed `${skuCode}:${locationCode}`. */
export interface InventoryPositionRecord {
  readonly key: string;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly safetyStock: number;
  readonly lastResetAsOf: Date | null;
  /** The daily reset job that last took a snapshot of this position (optional: older records lack it). */
  readonly lastResetJobId?: string | null;
  /** When setInventory last set an absolute value: a reset whose asOf is older must not overwrite it. */
  readonly lastSetAt?: Date | null;
  /** The most recent applied operations, newest last. */
  readonly recentOps: RecentOps;
  /** Stock held per reservation; `reserved` is their sum. */
  readonly holds: readonly { readonly reservationId: string; readonly quantity: number }[];
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * A position as clients see it: without the applied-operation list and the holds, which are bookkeeping for
 * exactly-once writes. Results stored for idempotent replay hold this view: with the lists, a 500-item batch on
 * busy positions stored ~11 MB (MongoDB refuses documents over 16 MB).
 */
export type InventoryPositionView = Omit<InventoryPositionRecord, 'recentOps' | 'holds'>;

/** What available-to-sell needs of a position: read without the operation list and outbox (most of a busy position's bytes). */
export type PositionQuantitiesRecord = Pick<InventoryPositionRecord, 'key' | 'skuCode' | 'locationCode' | 'onHand' | 'reserved' | 'safetyStock'>;

export function positionView({ recentOps: _recentOps, holds: _holds, ...view }: InventoryPositionRecord): InventoryPositionView {
  return view;
}

export function positionKey(skuCode: string, locationCode: string): string {
  return `${skuCode}:${locationCode}`;
}

export function availableOf(position: Pick<InventoryPositionRecord, 'onHand' | 'reserved' | 'safetyStock'>): number {
  return position.onHand - position.reserved - position.safetyStock;
}

/** One ledger entry: an applied change to a position. */
export interface InventoryMovementRecord {
  /** The operation id `${operationScope}:${index}` (one use of an idempotency key): a retry can never write it twice. */
  readonly id: string;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly delta: number;
  readonly reason: InventoryReason;
  readonly referenceDocument: string | null;
  readonly apiKeyId: string;
  readonly apiKey: string;
  readonly idempotencyKey: string | null;
  readonly onHandBefore: number;
  readonly onHandAfter: number;
  readonly flags: readonly InventoryFlag[];
  readonly at: Date;
}

export interface NegativeStockErrorValue {
  readonly errorType: 'NegativeStockError';
  readonly message: string;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly onHand: number;
  readonly delta: number;
}

export interface StaleInventoryErrorValue {
  readonly errorType: 'StaleInventoryError';
  readonly message: string;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly expectedOnHand: number;
  readonly currentOnHand: number;
}

export type InventoryItemErrorValue = NegativeStockErrorValue | StaleInventoryErrorValue;

export type InventoryItemOutcome = 'APPLIED' | 'UNCHANGED' | 'REJECTED';

export interface InventoryItemOutcomeRecord {
  readonly index: number;
  readonly outcome: InventoryItemOutcome;
  readonly position: InventoryPositionView | null;
  readonly movement: InventoryMovementRecord | null;
  readonly flags: readonly InventoryFlag[];
  readonly error: InventoryItemErrorValue | null;
}

export interface InventoryBatchOutcome {
  readonly kind: 'batch';
  readonly items: readonly InventoryItemOutcomeRecord[];
  readonly replayed: boolean;
}

export interface InventoryPositionFilter {
  readonly skuCodes?: readonly string[] | null;
  readonly locationCodes?: readonly string[] | null;
  readonly channel?: string | null;
  readonly availableBelow?: number | null;
}

export interface LocationAvailabilityRecord {
  readonly locationCode: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly safetyStock: number;
  readonly available: number;
}

export interface SkuAvailabilityRecord {
  readonly skuCode: string;
  readonly channelCode: string;
  readonly availableToSell: number;
  readonly explain: { readonly locations: readonly LocationAvailabilityRecord[]; readonly sumOfLocations: number; readonly channelBuffer: number } | null;
}

/** The available-to-sell a channel was last sent for a SKU (derived from position changes by the relay). */
export interface ChannelAvailabilityRecord {
  /** `${channelCode}:${skuCode}`. */
  readonly key: string;
  readonly channelCode: string;
  readonly skuCode: string;
  readonly availableToSell: number;
  readonly version: number;
  readonly updatedAt: Date;
}
