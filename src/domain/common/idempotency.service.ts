import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IdempotencyRepository } from '../../store/repositories/idempotency.repository.js';
import { DomainError, invalidInput, isErrorResult, type IdempotencyKeyInProgressResult, type IdempotencyKeyReusedResult, type InvalidInputResult } from './errors.js';
import type { RequestContext } from './request-context.js';
import { stableStringify } from './stable-stringify.js';

export interface IdempotencyOptions {
  /** How long a key is remembered. At least 24 hours: ERPs retry overnight batches the next morning. */
  readonly retentionMs: number;
  /**
   * How long a request holds its key before another may take over. A gateway that dies mid-request leaves the
   * key IN_PROGRESS; after the lease a retry re-executes it (every write path under a key is safe to repeat).
   */
  readonly leaseMs: number;
}

export const DEFAULT_IDEMPOTENCY_OPTIONS: IdempotencyOptions = {
  retentionMs: 24 * 60 * 60 * 1000, // 24 hours
  leaseMs: 60_000, // 1 minute
};

export interface IdempotentRequest<R> {
  /** The mutation's name: the same key sent to another mutation is a reuse. */
  readonly operation: string;
  /** Null or undefined: the caller chose not to use a key; the request simply runs. */
  readonly key: string | null | undefined;
  /** The input that must match on a replay (everything but the key). */
  readonly input: unknown;
  /** Marks a stored result as replayed (e.g. sets `replayed: true`). */
  readonly onReplay: (stored: R) => R;
  /**
   * Stores and restores results. Typed error results and thrown errors are never kept: the client may fix or
   * retry them under the same key.
   */
  readonly codec: ResultCodec<R>;
}

/** Turns a result into stored text and back; results hold Dates, so plain JSON is not enough. */
export interface ResultCodec<R> {
  encode(result: R): string;
  decode(text: string): R;
}

export type IdempotencyRejection = IdempotencyKeyReusedResult | IdempotencyKeyInProgressResult;

/**
 * One use of an idempotency key, for the operation ids a request's writes record (positions, prices). A retry of
 * the request continues the use it retries, and so finds what a failed attempt applied; the key used again once it
 * expired, or for other input after a failed attempt, is a new use, whose operations are never mistaken for the
 * old ones.
 */
export interface OperationScope {
  /** `<api key id>:<key>:<generation>` (without the generation on records older than generations). */
  readonly id: string;
  /**
   * True when an earlier attempt under this scope may have applied operations: a takeover of a holder that died,
   * or a retry of a released key with the same input. Only then can an operation be applied already.
   */
  readonly resumed: boolean;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Exactly-once effects for mutations: the first request with a key runs and its result is stored; the same key
 * with the same input replays that result without writing; with other input it is IDEMPOTENCY_KEY_REUSED.
 * Keys are scoped per API key. Expiry is a query condition plus a sweeper, so correctness never depends on a
 * TTL index (see STORE.md).
 */
export class IdempotencyService {
  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly options: IdempotencyOptions = DEFAULT_IDEMPOTENCY_OPTIONS,
  ) {}

  async run<R>(ctx: RequestContext, request: IdempotentRequest<R>, execute: (scope: OperationScope | null) => Promise<R>): Promise<R | IdempotencyRejection | InvalidInputResult> {
    const { key } = request;
    if (key === null || key === undefined) return execute(null);
    if (!KEY_PATTERN.test(key)) {
      return invalidInput([
        { index: null, path: ['idempotencyKey'], code: 'INVALID_FORMAT', message: 'An idempotency key is 1–255 printable ASCII characters without spaces.' },
      ]);
    }
    const id = `${ctx.caller.keyId}:${key}`;
    const requestHash = createHash('sha256').update(stableStringify({ operation: request.operation, input: request.input })).digest('hex');

    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const now = new Date();
      const token = randomUUID();
      const claim = { id, token, requestHash, operation: request.operation, now, lockedUntil: new Date(now.getTime() + this.options.leaseMs), expiresAt: new Date(now.getTime() + this.options.retentionMs), generation: newGeneration() };
      const runAs = (generation: string | null, resumed: boolean) => this.executeAndStore(ctx, id, token, { id: generation === null ? id : `${id}:${generation}`, resumed }, request, execute);
      if (await this.repository.insertClaim(claim)) return runAs(claim.generation, false);

      const existing = await this.repository.find(id);
      if (!existing) continue; // swept between our insert and read
      if (existing.expiresAt <= now) {
        if (await this.repository.replaceExpired(claim)) return runAs(claim.generation, false);
        continue;
      }
      const taker = { token, lockedUntil: claim.lockedUntil, requestHash, operation: request.operation };
      if (existing.state === 'RELEASED') {
        // Given back by a failed or rejected attempt. The same input retries it: its operations keep their ids, so
        // whatever the failed attempt applied is found, not applied again. Other input is a new request.
        const resumed = existing.requestHash === requestHash;
        const generation = resumed ? existing.generation : claim.generation;
        if (await this.repository.takeOver(id, { token: existing.token, state: 'RELEASED' }, { ...taker, generation })) return runAs(generation, resumed);
        continue;
      }
      if (existing.requestHash !== requestHash) {
        return {
          errorCode: 'IDEMPOTENCY_KEY_REUSED',
          message: `Idempotency key "${key}" was already used for a different ${existing.operation} request; use a new key for a new request.`,
          idempotencyKey: key,
        };
      }
      if (existing.state === 'COMPLETED' && existing.result !== null) {
        ctx.logger.debug({ idempotencyKey: key }, 'replaying stored result');
        return request.onReplay(request.codec.decode(existing.result));
      }
      if (existing.lockedUntil > now) {
        return {
          errorCode: 'IDEMPOTENCY_KEY_IN_PROGRESS',
          message: `A request with idempotency key "${key}" is still being processed; retry later to get its result.`,
          idempotencyKey: key,
        };
      }
      // The holder died mid-request; take over from the exact claim we saw so only one retry wins, and continue its
      // operations.
      if (await this.repository.takeOver(id, { token: existing.token, state: 'IN_PROGRESS' }, { ...taker, generation: existing.generation })) return runAs(existing.generation, true);
    }
    throw new DomainError('CONFLICT', `Could not claim idempotency key "${key}" under contention; retry the request.`);
  }

  /** Removes expired keys; expired keys are already ignored by {@link run}, this only reclaims space. */
  async sweep(now = new Date()): Promise<number> {
    return this.repository.deleteExpired(now);
  }

  private async executeAndStore<R>(ctx: RequestContext, id: string, token: string, scope: OperationScope, request: IdempotentRequest<R>, execute: (scope: OperationScope | null) => Promise<R>): Promise<R> {
    let result: R;
    try {
      result = await execute(scope);
    } catch (error) {
      await this.repository.release(id, token).catch((releaseError: unknown) => {
        // The lease expires on its own; a retry then re-executes.
        ctx.logger.warn({ err: releaseError }, 'could not release idempotency key after a failed request');
      });
      throw error;
    }
    if (isErrorResult(result)) {
      // Rejected input is not remembered (as with Stripe): the client may fix the request and resend it under
      // the same key, which takes the released record over.
      await this.repository.release(id, token);
      return result;
    }
    await this.repository.complete(id, token, request.codec.encode(result));
    return result;
  }
}

/** 64 random bits: distinct per use of a key, short enough to repeat in every operation id. */
function newGeneration(): string {
  return randomBytes(8).toString('hex');
}
