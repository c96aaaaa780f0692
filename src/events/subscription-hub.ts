import type { ChangeEventValue } from '../domain/changes/change-event.js';
import type { ChangeLogRepository } from '../store/repositories/change-log.repository.js';
import type { ChangeFeed } from './change-feed.js';

export interface SubscriptionHubOptions {
  /** Events queued for one subscription before it counts as a slow consumer and is ended. */
  readonly maxQueuedEvents: number;
  /** Log entries read per round trip while replaying. */
  readonly replayBatch: number;
}

/**
 * The queue holds references to events shared by every stream, so its cap is about lag, not memory: it must be
 * well above one relay batch (500 documents, possibly a few thousand events), which the feed hands to every stream
 * in one synchronous step, or fast consumers would be closed as slow.
 */
export const DEFAULT_SUBSCRIPTION_HUB_OPTIONS: SubscriptionHubOptions = {
  maxQueuedEvents: 10_000,
  replayBatch: 500,
};

/** A subscription fell `maxQueuedEvents` behind: its socket is closed (4429) and the client resumes with since. */
export class SlowConsumerError extends Error {
  constructor(readonly lastSeq: number) {
    super(`The subscriber fell too far behind (last delivered seq ${lastSeq}); resume with since.`);
    this.name = 'SlowConsumerError';
  }
}

export interface ChangeStreamRequest {
  /** Which logged events this subscription receives; cheap and synchronous (it runs for every event). */
  readonly matches: (event: ChangeEventValue) => boolean;
  /** Replay events after this seq from the log first; null: live events only. */
  readonly since: number | null;
}

type Waiter = { resolve: (result: IteratorResult<ChangeEventValue>) => void; reject: (error: unknown) => void };

/**
 * Change streams for subscriptions: replay from the log, then live from this replica's {@link ChangeFeed},
 * joined with no gap and no duplicate. The replay reads the log up to the feed's `lastSeq` and attaches to the
 * feed in the same synchronous step, so the first live event it gets is the one after the last it read.
 *
 * Each stream is an async iterator whose `return()` detaches it at once (no generator parked on an await, which
 * is what leaks after disconnects); its queue is bounded, and a consumer that lets it fill is ended with
 * {@link SlowConsumerError} rather than letting memory grow.
 */
export class SubscriptionHub {
  private openStreams = 0;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly log: ChangeLogRepository,
    private readonly options: SubscriptionHubOptions,
  ) {}

  /** Streams open now, for /metrics and the memory test. */
  get size(): number {
    return this.openStreams;
  }

  open(request: ChangeStreamRequest): AsyncIterableIterator<ChangeEventValue> {
    const queue: ChangeEventValue[] = [];
    let waiter: Waiter | null = null;
    let failure: unknown = null;
    let done = false;
    let detach: (() => void) | null = null;
    let cursor = request.since ?? this.feed.lastSeq;
    let lastDelivered = cursor;
    /** Resolved when the consumer takes from a full replay queue. */
    let onDrain: (() => void) | null = null;
    this.openStreams++;

    const finish = () => {
      if (done) return;
      done = true;
      this.openStreams--;
      detach?.();
      detach = null;
      queue.length = 0;
      onDrain?.();
    };
    const push = (event: ChangeEventValue) => {
      if (done) return;
      if (waiter) {
        const w = waiter;
        waiter = null;
        lastDelivered = event.seq;
        w.resolve({ value: event, done: false });
        return;
      }
      if (queue.length >= this.options.maxQueuedEvents) {
        fail(new SlowConsumerError(lastDelivered));
        return;
      }
      queue.push(event);
    };
    const fail = (error: unknown) => {
      if (done) return;
      failure = error;
      const w = waiter;
      waiter = null;
      finish();
      w?.reject(error);
    };

    const replay = async () => {
      try {
        while (!done && cursor < this.feed.lastSeq) {
          const events = await this.log.readAfter(cursor, Math.min(this.options.replayBatch, this.feed.lastSeq - cursor));
          if (events.length === 0) break; // the feed is ahead of what this read saw; attach and let it deliver
          for (const event of events) if (request.matches(event)) push(event);
          cursor = events[events.length - 1]!.seq;
          // Replay at the consumer's pace: a large backlog is read as it is sent, not queued whole.
          while (!done && queue.length >= this.options.replayBatch) await new Promise<void>((resolve) => (onDrain = resolve));
        }
        if (done) return;
        // Same synchronous step as the last check: nothing the feed delivers can fall between.
        const from = cursor;
        detach = this.feed.listen((event) => {
          if (event.seq > from && request.matches(event)) push(event);
        });
      } catch (error) {
        fail(error);
      }
    };
    void replay();

    const iterator: AsyncIterableIterator<ChangeEventValue> = {
      next: () => {
        if (queue.length > 0) {
          const event = queue.shift()!;
          lastDelivered = event.seq;
          if (onDrain && queue.length < this.options.replayBatch) {
            const resume = onDrain;
            onDrain = null;
            resume();
          }
          return Promise.resolve({ value: event, done: false });
        }
        if (failure) return Promise.reject(failure);
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (waiter = { resolve, reject }));
      },
      return: () => {
        const w = waiter;
        waiter = null;
        finish();
        w?.resolve({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error: unknown) => {
        fail(error);
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
