import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.js';
import type { Caller } from '../../src/domain/access/access.types.js';
import { IdempotencyService, type IdempotentRequest, type OperationScope } from '../../src/domain/common/idempotency.service.js';
import type { RequestContext } from '../../src/domain/common/request-context.js';
import { ejsonCodec } from '../../src/domain/common/result-codec.js';
import { invalidInput } from '../../src/domain/common/errors.js';
import { deferred } from '../utils/deferred.js';
import { openTestApp, uniqueDbName } from '../utils/test-store.js';

let app: App;

beforeAll(async () => {
  app = await openTestApp(uniqueDbName('idempotency'));
});

afterAll(() => app?.close());

type Result = { kind: 'done'; value: number; at: Date; replayed: boolean };

const contextFor = (keyId: string): RequestContext => ({ ...app.systemContext(), caller: { keyId, name: keyId, scopes: [], channels: [] } satisfies Caller });

const request = (key: string, input: unknown): IdempotentRequest<Result> => ({
  operation: 'test',
  key,
  input,
  codec: ejsonCodec<Result>(),
  onReplay: (stored) => ({ ...stored, replayed: true }),
});

describe('IdempotencyService on the real store', () => {
  it('applies each key once however requests with it are duplicated and interleaved', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), copies: fc.integer({ min: 1, max: 6 }) }), { minLength: 1, maxLength: 8 }), async (requests) => {
        run++;
        const service = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 86_400_000, leaseMs: 60_000 });
        const ctx = contextFor(`caller-${run}`);
        const executions = new Map<string, number>();
        const calls = requests.flatMap(({ key, copies }) => Array.from({ length: copies }, () => key));
        const results = await Promise.all(
          calls.map((key) =>
            service.run(ctx, request(key, { key }), async (): Promise<Result> => {
              executions.set(key, (executions.get(key) ?? 0) + 1);
              return { kind: 'done', value: executions.get(key)!, at: new Date(), replayed: false };
            }),
          ),
        );
        for (const key of new Set(calls)) expect(executions.get(key)).toBe(1);
        // Every answer is the one execution's result (replayed or first), or "still in progress".
        for (const result of results) {
          if ('errorCode' in result) expect(result.errorCode).toBe('IDEMPOTENCY_KEY_IN_PROGRESS');
          else {
            expect(result.value).toBe(1);
            expect(result.at).toBeInstanceOf(Date);
          }
        }
        // Once everything settled, a retry of any key replays.
        for (const key of new Set(calls)) expect(await service.run(ctx, request(key, { key }), async () => Promise.reject(new Error('must not run')))).toMatchObject({ replayed: true, value: 1 });
      }),
      { numRuns: 25 },
    );
  });

  it('answers IN_PROGRESS while the first request runs, then replays its result', async () => {
    const service = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 86_400_000, leaseMs: 60_000 });
    const ctx = contextFor('in-progress');
    const release = deferred<void>();
    const started = deferred<void>();
    const first = service.run(ctx, request('slow', 1), async (): Promise<Result> => {
      started.resolve();
      await release.promise;
      return { kind: 'done', value: 7, at: new Date(), replayed: false };
    });
    await started.promise;
    expect(await service.run(ctx, request('slow', 1), async () => Promise.reject(new Error('must not run')))).toMatchObject({ errorCode: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
    release.resolve();
    expect(await first).toMatchObject({ value: 7, replayed: false });
    expect(await service.run(ctx, request('slow', 1), async () => Promise.reject(new Error('must not run')))).toMatchObject({ value: 7, replayed: true });
  });

  it('lets a retry take over a key whose holder died, once its lease ran out', async () => {
    // A zero lease: the first holder "dies" (never completes) and its claim is immediately abandoned.
    const service = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 86_400_000, leaseMs: 0 });
    const ctx = contextFor('takeover');
    const never = deferred<Result>();
    const started = deferred<void>();
    void service.run(ctx, request('crashed', 1), async () => {
      started.resolve();
      return never.promise;
    });
    await started.promise;
    const retried = await service.run(ctx, request('crashed', 1), async (): Promise<Result> => ({ kind: 'done', value: 2, at: new Date(), replayed: false }));
    expect(retried).toMatchObject({ value: 2, replayed: false });
  });

  it('releases the key when the request fails, so the client can retry it', async () => {
    const service = new IdempotencyService(app.store.repositories.idempotency);
    const ctx = contextFor('failure');
    await expect(service.run(ctx, request('flaky', 1), async () => Promise.reject(new Error('store hiccup')))).rejects.toThrow('store hiccup');
    expect(await service.run(ctx, request('flaky', 1), async (): Promise<Result> => ({ kind: 'done', value: 3, at: new Date(), replayed: false }))).toMatchObject({ value: 3 });
  });

  it('gives a retry the operation scope of the attempt it retries, and a new one to another use of the key', async () => {
    const service = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 86_400_000, leaseMs: 0 });
    const ctx = contextFor('scopes');
    const scopeOf = async (key: string, input: unknown, outcome: 'done' | 'throw' | 'rejected' | 'hang'): Promise<OperationScope | null> => {
      const seen = deferred<OperationScope | null>();
      const running = service.run(ctx, request(key, input), async (scope): Promise<Result> => {
        seen.resolve(scope);
        if (outcome === 'throw') throw new Error('store hiccup');
        if (outcome === 'rejected') return invalidInput([{ index: 0, path: ['x'], code: 'REQUIRED', message: 'x is required' }]) as never;
        if (outcome === 'hang') return new Promise<Result>(() => {});
        return { kind: 'done', value: 1, at: new Date(), replayed: false };
      });
      if (outcome !== 'hang') await running.catch(() => undefined);
      return seen.promise;
    };

    // A failed attempt gives the key back; its retry (same input) resumes its operations, other input does not.
    const failed = await scopeOf('k-fail', 1, 'throw');
    expect(failed).toEqual({ id: expect.stringMatching(/^scopes:k-fail:[0-9a-f]{16}$/), resumed: false });
    expect(await scopeOf('k-fail', 1, 'done')).toEqual({ id: failed!.id, resumed: true });
    const rejected = await scopeOf('k-rejected', 1, 'rejected');
    const corrected = await scopeOf('k-rejected', 2, 'done');
    expect(corrected).toEqual({ id: expect.not.stringMatching(rejected!.id), resumed: false });
    // A holder that died (its lease ran out) is taken over by its retry, under the same scope.
    const died = await scopeOf('k-died', 1, 'hang');
    expect(await scopeOf('k-died', 1, 'done')).toEqual({ id: died!.id, resumed: true });
    // Distinct keys, distinct scopes.
    expect(new Set([failed!.id, rejected!.id, died!.id]).size).toBe(3);
  });

  it('gives the key used again after it expired a new operation scope, and records from before scopes their old one', async () => {
    const expiring = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 0, leaseMs: 60_000 });
    const ctx = contextFor('expired-scope');
    const scopes: (OperationScope | null)[] = [];
    for (let day = 0; day < 2; day++) await expiring.run(ctx, request('daily', 1), async (scope): Promise<Result> => (scopes.push(scope), { kind: 'done', value: day, at: new Date(), replayed: false }));
    expect(scopes[1]).toEqual({ id: expect.not.stringMatching(scopes[0]!.id), resumed: false });

    // A record an older version left IN_PROGRESS, without a generation: its retry keeps the operation ids it used.
    const abandoning = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 86_400_000, leaseMs: 0 });
    const started = deferred<void>();
    void abandoning.run(ctx, request('legacy', 1), async () => (started.resolve(), new Promise<Result>(() => {})));
    await started.promise;
    await app.store.connection.collection('idempotency_keys').updateOne({ _id: 'expired-scope:legacy' } as never, { $unset: { generation: '' } });
    let legacy: OperationScope | null = null;
    await abandoning.run(ctx, request('legacy', 1), async (scope): Promise<Result> => ((legacy = scope), { kind: 'done', value: 1, at: new Date(), replayed: false }));
    expect(legacy).toEqual({ id: 'expired-scope:legacy', resumed: true });
  });

  it('forgets expired keys: expiry is a query condition, the sweeper only reclaims space', async () => {
    const service = new IdempotencyService(app.store.repositories.idempotency, { retentionMs: 0, leaseMs: 60_000 });
    const ctx = contextFor('expiry');
    await service.run(ctx, request('old', 1), async (): Promise<Result> => ({ kind: 'done', value: 1, at: new Date(), replayed: false }));
    expect(await service.run(ctx, request('old', 2), async (): Promise<Result> => ({ kind: 'done', value: 2, at: new Date(), replayed: false }))).toMatchObject({ value: 2, replayed: false });
    expect(await service.sweep(new Date(Date.now() + 1000))).toBeGreaterThanOrEqual(1);
  });
});
