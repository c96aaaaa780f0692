/**
 * The daily inventory reset (HotWax / Retail Pro "Daily Reset Inventory"): a CSV snapshot of positions taken by
 * the ERP at `asOf`, applied so that every movement the gateway stamped after `asOf` is re-applied on top of it.
 * See docs/inventory-reset.md.
 */

/** REJECT_FILE: validate the whole file first and apply nothing if any row is bad. SKIP_ROWS: apply the good rows. */
export type ResetPolicy = 'REJECT_FILE' | 'SKIP_ROWS';
export const RESET_POLICIES = ['REJECT_FILE', 'SKIP_ROWS'] as const satisfies readonly ResetPolicy[];

/** What happens to positions at the file's locations that the file does not list. */
export type AbsentPositions = 'LEAVE' | 'ZERO';
export const ABSENT_POSITIONS = ['LEAVE', 'ZERO'] as const satisfies readonly AbsentPositions[];

/**
 * QUEUED: created, no process has picked it up. RUNNING: a process holds its lease (or held it and died: a
 * re-submission takes over once the lease has expired). COMPLETED and FAILED are final for the file's content,
 * except that a FAILED job, which applied nothing, runs again when the same file is submitted again.
 */
export type ResetJobState = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
export const RESET_JOB_STATES = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED'] as const satisfies readonly ResetJobState[];

/** What a RUNNING job is doing: reading the whole file, writing positions, then zeroing absent positions. */
export type ResetPhase = 'VALIDATING' | 'APPLYING' | 'ZEROING_ABSENT';
export const RESET_PHASES = ['VALIDATING', 'APPLYING', 'ZEROING_ABSENT'] as const satisfies readonly ResetPhase[];

/** Why a row, or the whole file, was not applied. File-level codes carry the line where reading stopped. */
export type ResetErrorCode =
  /** The first line is not a header naming sku, location, onHand and optionally safetyStock. */
  | 'WRONG_HEADER'
  /** The row has more or fewer fields than the header. */
  | 'WRONG_COLUMN_COUNT'
  /** The row is not valid UTF-8. */
  | 'BAD_ENCODING'
  /** Broken quoting: the parser cannot tell where rows end after this line, so the file is rejected. */
  | 'MALFORMED_CSV'
  /** A SKU or location code that cannot be a code (empty, too long, characters outside A–Z a–z 0–9 _ . -). */
  | 'INVALID_CODE'
  /** onHand or safetyStock is not a whole number written in digits. */
  | 'INVALID_QUANTITY'
  /** onHand or safetyStock is negative or above 1,000,000,000. */
  | 'OUT_OF_RANGE'
  | 'UNKNOWN_SKU'
  | 'UNKNOWN_LOCATION'
  /** Another row names the same (sku, location); every row of that position is rejected. */
  | 'DUPLICATE_ROW'
  /** The file has a header and no rows. */
  | 'EMPTY_FILE'
  /** The file's content is no longer the content the job was created for (it was rewritten in place). */
  | 'FILE_CHANGED';
export const RESET_ERROR_CODES = [
  'WRONG_HEADER',
  'WRONG_COLUMN_COUNT',
  'BAD_ENCODING',
  'MALFORMED_CSV',
  'INVALID_CODE',
  'INVALID_QUANTITY',
  'OUT_OF_RANGE',
  'UNKNOWN_SKU',
  'UNKNOWN_LOCATION',
  'DUPLICATE_ROW',
  'EMPTY_FILE',
  'FILE_CHANGED',
] as const satisfies readonly ResetErrorCode[];

/** One problem found in the file. `line` is 1-based (the header is line 1); null for the file as a whole. */
export interface ResetRowErrorValue {
  readonly line: number | null;
  readonly column: string | null;
  readonly code: ResetErrorCode;
  readonly message: string;
  readonly skuCode: string | null;
  readonly locationCode: string | null;
}

/**
 * Why a position was left alone: something more recent than the snapshot already set its absolute value, so
 * applying the snapshot would turn the clock back.
 */
export type StaleReason = 'NEWER_RESET' | 'SET_AFTER_AS_OF';
export const STALE_REASONS = ['NEWER_RESET', 'SET_AFTER_AS_OF'] as const satisfies readonly StaleReason[];

export interface StalePositionValue {
  /** The row's line; null for an absent position the job would have zeroed. */
  readonly line: number | null;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly reason: StaleReason;
  /** When the newer absolute value was set (the newer reset's asOf, or the setInventory time). */
  readonly changedAt: Date;
  readonly message: string;
}

/** The options that, with the file's content and asOf, make a job's identity. */
export interface ResetOptions {
  readonly asOf: Date;
  readonly policy: ResetPolicy;
  readonly absent: AbsentPositions;
}

/** Counters a client polls. Rows are data rows (the header is not one). */
export interface ResetProgress {
  /** Data rows in the file; known once validation has read the whole file. */
  readonly rowsTotal: number | null;
  /** Rows read by the validation pass so far. */
  readonly rowsValidated: number;
  /** Rows whose outcome is committed (applied, unchanged, skipped or stale), a prefix of the file. */
  readonly rowsProcessed: number;
  /** Rows whose snapshot changed the position (one RESET movement each). */
  readonly rowsApplied: number;
  /** Rows whose position already had the value: marked as reset, no movement. */
  readonly rowsUnchanged: number;
  /** Invalid rows not applied (SKIP_ROWS). */
  readonly rowsSkipped: number;
  /** Rows left alone because the position had a newer absolute value. */
  readonly rowsStale: number;
  /** Absent positions set to 0 + their movements after asOf (ZERO only). */
  readonly positionsZeroed: number;
  /** All problems found, of which at most {@link MAX_REPORTED_ISSUES} are listed. */
  readonly errorCount: number;
  readonly staleCount: number;
}

export const EMPTY_PROGRESS: ResetProgress = {
  rowsTotal: null,
  rowsValidated: 0,
  rowsProcessed: 0,
  rowsApplied: 0,
  rowsUnchanged: 0,
  rowsSkipped: 0,
  rowsStale: 0,
  positionsZeroed: 0,
  errorCount: 0,
  staleCount: 0,
};

/** Problems listed on the job; the counts are exact beyond it. A million bad rows must not make a 16 MB document. */
export const MAX_REPORTED_ISSUES = 1_000;

/** The caller whose key the job's ledger movements name; kept so that a resumed job attributes them the same way. */
export interface ResetRequester {
  readonly keyId: string;
  readonly name: string;
}

export interface InventoryResetJobRecord extends ResetOptions, ResetProgress {
  /** `irj_` + a digest of (file sha256, asOf, policy, absent): the same file and options are the same job. */
  readonly id: string;
  readonly state: ResetJobState;
  readonly phase: ResetPhase | null;
  /** Where the running job reads the file: relative to IMPORT_DIR for the API, absolute for the CLI. */
  readonly path: string;
  readonly fileSha256: string;
  readonly fileBytes: number;
  readonly requestedBy: ResetRequester;
  readonly errors: readonly ResetRowErrorValue[];
  readonly stalePositions: readonly StalePositionValue[];
  /** How many times a process started (or resumed) the job. */
  readonly attempts: number;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly updatedAt: Date;
}
