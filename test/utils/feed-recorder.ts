import { createChangeFeedClient, type ChangeFeedClient, type ChangeFeedError } from '../../src/client/index.js';
import { deferred, type Deferred } from './deferred.js';

/** What a test subscriber saw: the events of one subscription (after the helper's dedupe), and its error. */
export interface FeedRecorder<T> {
  readonly events: readonly T[];
  readonly error: ChangeFeedError | null;
  /** Resolves once `predicate` holds for the events seen so far (checked on every event). */
  until(predicate: (events: readonly T[]) => boolean): Promise<readonly T[]>;
  /** Resolves with the subscription's terminal error. */
  failed(): Promise<ChangeFeedError>;
  stop(): void;
}

/** One storefront: a resuming change-feed client over the gateway's WebSocket. */
export function feedClient(httpUrl: string, apiKey: string): ChangeFeedClient {
  return createChangeFeedClient({ url: httpUrl.replace(/^http/, 'ws'), apiKey, retry: { initialDelayMs: 20, maxDelayMs: 200 } });
}

/** Subscribes with `query` and records every payload of its single root field. */
export function record<T extends { seq: number }>(client: ChangeFeedClient, query: string, variables: Record<string, unknown>, since: number | null = null): FeedRecorder<T> {
  const events: T[] = [];
  let error: ChangeFeedError | null = null;
  const waiters = new Set<{ predicate: (events: readonly T[]) => boolean; done: Deferred<readonly T[]> }>();
  const failure = deferred<ChangeFeedError>();
  const check = () => {
    for (const waiter of waiters) {
      if (waiter.predicate(events)) {
        waiters.delete(waiter);
        waiter.done.resolve(events);
      }
    }
  };
  const stop = client.subscribe<Record<string, T>>(
    { query, variables, since },
    {
      next: (data) => {
        events.push(Object.values(data)[0]!);
        check();
      },
      error: (e) => {
        error = e;
        failure.resolve(e);
        for (const waiter of waiters) waiter.done.reject(e);
        waiters.clear();
      },
    },
  );
  return {
    events,
    get error() {
      return error;
    },
    until(predicate) {
      if (predicate(events)) return Promise.resolve(events);
      if (error) return Promise.reject(error);
      const done = deferred<readonly T[]>();
      waiters.add({ predicate, done });
      return done.promise;
    },
    failed: () => failure.promise,
    stop,
  };
}
