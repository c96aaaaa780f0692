/**
 * Two tiers of errors.
 *
 * - Expected business outcomes are values ({@link ErrorResultValue}) returned by services and exposed as typed
 *   members of the mutation's result union, so clients switch on `errorCode`.
 * - Unexpected or protocol-level failures throw {@link DomainError} with a stable `code`; the server turns them
 *   into GraphQL errors with `extensions.code`. Anything else reaches clients as INTERNAL_SERVER_ERROR.
 */

/** Stable codes of thrown errors; clients may rely on them. */
export type DomainErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'SERVICE_UNAVAILABLE'
  /** A change-feed cursor older than the log's retention: re-read the state, then resume from a fresh seq. */
  | 'CURSOR_EXPIRED';

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Safe to show to the caller: ids and values the caller sent or may see. */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export type InputIssueCode =
  | 'REQUIRED'
  | 'INVALID_FORMAT'
  | 'TOO_LONG'
  | 'OUT_OF_RANGE'
  | 'TOO_MANY_ITEMS'
  | 'EMPTY_BATCH'
  | 'DUPLICATE_IN_BATCH'
  | 'INVALID_CHECK_DIGIT'
  | 'RESERVED_KEY'
  | 'UNKNOWN_REFERENCE'
  | 'CONFLICT';

export interface InputIssue {
  /** Position of the item in the batch; null for an issue with the batch or a top-level argument. */
  readonly index: number | null;
  /** Field path inside the item (or the argument name when index is null). */
  readonly path: readonly string[];
  readonly code: InputIssueCode;
  readonly message: string;
}

export interface InvalidInputResult {
  readonly errorCode: 'INVALID_INPUT';
  readonly message: string;
  readonly issues: readonly InputIssue[];
}

export interface IdempotencyKeyReusedResult {
  readonly errorCode: 'IDEMPOTENCY_KEY_REUSED';
  readonly message: string;
  readonly idempotencyKey: string;
}

export interface IdempotencyKeyInProgressResult {
  readonly errorCode: 'IDEMPOTENCY_KEY_IN_PROGRESS';
  readonly message: string;
  readonly idempotencyKey: string;
}

export type ErrorResultValue = InvalidInputResult | IdempotencyKeyReusedResult | IdempotencyKeyInProgressResult;

export function invalidInput(issues: readonly InputIssue[]): InvalidInputResult {
  const first = issues[0];
  const where = first ? ` (first: ${describeIssue(first)})` : '';
  return {
    errorCode: 'INVALID_INPUT',
    message: `The input was rejected with ${issues.length} issue(s); nothing was written${where}.`,
    issues,
  };
}

export function isErrorResult(value: unknown): value is ErrorResultValue {
  return typeof value === 'object' && value !== null && 'errorCode' in value;
}

function describeIssue(issue: InputIssue): string {
  const at = issue.index === null ? issue.path.join('.') : `[${issue.index}]${issue.path.map((p) => `.${p}`).join('')}`;
  return `${at}: ${issue.message}`;
}
