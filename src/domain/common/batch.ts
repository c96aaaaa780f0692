import type { ReplayableBatch } from './batch-mutation.js';
import type { ErrorResultValue } from './errors.js';

export type ItemOutcome = 'CREATED' | 'UPDATED' | 'UNCHANGED';

export interface BatchItem<T> {
  readonly index: number;
  readonly outcome: ItemOutcome;
  readonly record: T;
}

/** The success member of every bulk mutation's result union. */
export interface BatchResult<T> extends ReplayableBatch {
  readonly items: readonly BatchItem<T>[];
}

export type BatchOutcome<T> = BatchResult<T> | ErrorResultValue;

export function batchResult<T>(items: readonly BatchItem<T>[]): BatchResult<T> {
  return { kind: 'batch', items, replayed: false };
}

/** Largest batch any bulk mutation accepts. */
export const MAX_BATCH_ITEMS = 500;
