import type { z } from 'zod';
import { invalidInput, type ErrorResultValue, type InputIssue } from './errors.js';
import type { IdempotencyService, OperationScope } from './idempotency.service.js';
import type { RequestContext } from './request-context.js';
import { ejsonCodec } from './result-codec.js';
import { duplicatesInBatch, validateBatch } from './validation.js';

/** The success member of a bulk mutation's result union: a batch that can be marked as replayed. */
export interface ReplayableBatch {
  readonly kind: 'batch';
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
}

export interface BatchMutation<S extends ReplayableBatch, P> {
  /** The mutation's name; part of what an idempotency key is bound to. */
  readonly operation: string;
  readonly idempotencyKey: string | null | undefined;
  /** The raw batch exactly as the client sent it. */
  readonly input: unknown;
  /** The batch argument's name, for issues about the batch as a whole. Default: 'input'. */
  readonly argument?: string;
  /** Extra arguments that are part of the request's identity (e.g. the channel of mapSkus). */
  readonly arguments?: Readonly<Record<string, unknown>>;
  readonly schema: z.ZodType<P[]>;
  /** An item's identity within the batch: a repeat is DUPLICATE_IN_BATCH at `path`. Null: repeats are allowed. */
  readonly identity: { readonly keyOf: (item: P) => string; readonly path: readonly string[]; readonly what: string } | null;
  /**
   * Runs after the batch is well-formed: checks what needs the store (unknown references, fields required on
   * create) and, when there is no issue, writes. Returns issues to reject the whole batch. `scope` is this use of
   * the idempotency key, for writes that record operation ids (null without a key).
   */
  readonly execute: (items: readonly P[], scope: OperationScope | null) => Promise<S | ErrorResultValue>;
}

/**
 * The one path every bulk mutation takes: idempotency claim, validation of the whole batch (all issues at
 * once, nothing written on any), duplicate detection, then the service's own checks and writes.
 */
export function runBatchMutation<S extends ReplayableBatch, P>(ctx: RequestContext, idempotency: IdempotencyService, mutation: BatchMutation<S, P>): Promise<S | ErrorResultValue> {
  return idempotency.run<S | ErrorResultValue>(
    ctx,
    {
      operation: mutation.operation,
      key: mutation.idempotencyKey,
      input: { input: mutation.input, ...mutation.arguments },
      codec: ejsonCodec(),
      onReplay: (stored) => ('kind' in stored ? { ...stored, replayed: true } : stored),
    },
    async (scope) => {
      const parsed = validateBatch(mutation.schema, mutation.input, mutation.argument);
      if (!parsed.ok) return parsed.error;
      const { identity } = mutation;
      const duplicates: InputIssue[] = identity ? duplicatesInBatch(parsed.value, identity.keyOf, identity.path, identity.what) : [];
      if (duplicates.length > 0) return invalidInput(duplicates);
      return mutation.execute(parsed.value, scope);
    },
  );
}

/** Issues for items that name a record that must exist but does not. */
export function unknownReferences<P>(items: readonly P[], referenceOf: (item: P) => string | null | undefined, exists: (code: string) => boolean, path: readonly string[], what: string): InputIssue[] {
  const issues: InputIssue[] = [];
  items.forEach((item, index) => {
    const reference = referenceOf(item);
    if (reference !== null && reference !== undefined && !exists(reference)) {
      issues.push({ index, path, code: 'UNKNOWN_REFERENCE', message: `${what} "${reference}" does not exist.` });
    }
  });
  return issues;
}

/** Issues for fields a new record needs but the item leaves out. */
export function requiredOnCreate<P>(items: readonly P[], isNew: (item: P) => boolean, fields: readonly (keyof P & string)[]): InputIssue[] {
  const issues: InputIssue[] = [];
  items.forEach((item, index) => {
    if (!isNew(item)) return;
    for (const field of fields) {
      if (item[field] === undefined || item[field] === null) {
        issues.push({ index, path: [field], code: 'REQUIRED', message: `"${field}" is required when creating.` });
      }
    }
  });
  return issues;
}
