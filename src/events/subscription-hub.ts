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
  /** Which logged events this subscription receives; cheap and synchronous (it runs for every event it is offered). */
  readonly matches: (event: ChangeEventValue) => boolean;
  /**
   * {@link streamKey}s of the events to offer it (`matches` still decides); null: every event. With them an event
   * costs the streams that may want it, not every open stream (10,000 storefronts on different SKUs).
   */
  readonly keys?: readonly string[] | null;
  /** Replay events after this seq from the log first; null: live events only. */
  readonly since: number | null;
}

/**
 * Takes an event synchronously instead of the stream's iterator, when the consumer is idle and nothing is
 * queued (so order holds); `take` returns false to have it delivered through the iterator after all.
 */
export interface DirectSink {
  take(event: ChangeEventValue): boolean;
}

/** A change stream; {@link ChangeStream.deliverDirectly} lets a consumer skip the iterator's promise per event. */
export interface ChangeStream extends AsyncIterableIterator<ChangeEventValue> {
  deliverDirectly(sink: DirectSink | null): void;
}

export function isChangeStream(value: unknown): value is ChangeStream {
  return typeof value === 'object' && value !== null && typeof (value as Partial<ChangeStream>).deliverDirectly === 'function';
}

/** An event's aggregate type and SKU, or (sku null) every event of that type. */
export function streamKey(entity: string, sku: string | null): string {
  return sku === null ? `${entity}:*` : `${entity}:${sku}`;
}

type Waiter = { resolve: (result: IteratorResult<ChangeEventValue>) => void; reject: (error: unknown) => void };

/** What a stream needs of its hub. */
interface StreamHost {
  readonly feed: ChangeFeed;
  readonly log: ChangeLogRepository;
  readonly options: SubscriptionHubOptions;
  attach(stream: HubStream): void;
  detach(stream: HubStream): void;
  closed(): void;
}

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
  /** Live streams by {@link streamKey}; `every` holds those that asked for every event. */
  private readonly byKey = new Map<string, Set<HubStream>>();
  private readonly every = new Set<HubStream>();
  private detachFeed: (() => void) | null = null;
  private attached = 0;
  private readonly host: StreamHost;

  constructor(feed: ChangeFeed, log: ChangeLogRepository, options: SubscriptionHubOptions) {
    this.host = {
      feed,
      log,
      options,
      attach: (stream) => this.attach(stream),
      detach: (stream) => this.detach(stream),
      closed: () => void this.openStreams--,
    };
  }

  /** Streams past their replay, receiving live events (tests wait on it). */
  get liveStreams(): number {
    return this.attached;
  }

  /** Streams open now, for /metrics and the memory test. */
  get size(): number {
    return this.openStreams;
  }

  open(request: ChangeStreamRequest): ChangeStream {
    this.openStreams++;
    const stream = new HubStream(this.host, request);
    void stream.replay();
    return stream;
  }

  /**
   * One feed listener for all live streams (attached while there are any), offering each event to the streams
   * under its two keys: ~1 µs per stream it would otherwise have offered it to.
   */
  private attach(stream: HubStream): void {
    const keys = stream.request.keys ?? null;
    if (keys === null) this.every.add(stream);
    else for (const key of keys) (this.byKey.get(key) ?? this.byKey.set(key, new Set()).get(key)!).add(stream);
    this.attached++;
    this.detachFeed ??= this.host.feed.listen((event) => this.dispatch(event));
  }

  private detach(stream: HubStream): void {
    const keys = stream.request.keys ?? null;
    this.attached--;
    if (keys === null) this.every.delete(stream);
    else {
      for (const key of keys) {
        const streams = this.byKey.get(key);
        streams?.delete(stream);
        if (streams?.size === 0) this.byKey.delete(key);
      }
    }
    if (this.every.size === 0 && this.byKey.size === 0) {
      this.detachFeed?.();
      this.detachFeed = null;
    }
  }

  private dispatch(event: ChangeEventValue): void {
    offer(this.every, event);
    if (event.sku !== null) offer(this.byKey.get(streamKey(event.entity, event.sku)), event);
    offer(this.byKey.get(streamKey(event.entity, null)), event);
  }
}

/** Streams do not throw from offer (each one ends itself on a failure). */
function offer(streams: ReadonlySet<HubStream> | undefined, event: ChangeEventValue): void {
  if (streams) for (const stream of streams) stream.offer(event);
}

/**
 * One subscription's stream. A class rather than closures: 10,000 subscriptions each carried a dozen closures
 * (and, run through tsx, a `name` property defined on each), ~2 KB per subscription.
 */
class HubStream implements ChangeStream {
  private readonly queue: ChangeEventValue[] = [];
  /** Set only while the queue is empty: the consumer is waiting for the next event. */
  private waiter: Waiter | null = null;
  private sink: DirectSink | null = null;
  private failure: unknown = null;
  private done = false;
  private live = false;
  private cursor: number;
  private lastDelivered: number;
  /** Events after this seq are live ones (set when the replay attaches). */
  private from = 0;
  /** Resolved when the consumer takes from a full replay queue. */
  private onDrain: (() => void) | null = null;

  constructor(
    private readonly host: StreamHost,
    readonly request: ChangeStreamRequest,
  ) {
    this.cursor = request.since ?? host.feed.lastSeq;
    this.lastDelivered = this.cursor;
  }

  deliverDirectly(sink: DirectSink | null): void {
    this.sink = sink;
  }

  async replay(): Promise<void> {
    const { feed, log, options } = this.host;
    try {
      while (!this.done && this.cursor < feed.lastSeq) {
        const events = await log.readAfter(this.cursor, Math.min(options.replayBatch, feed.lastSeq - this.cursor));
        if (events.length === 0) break; // the feed is ahead of what this read saw; attach and let it deliver
        for (const event of events) if (this.request.matches(event)) this.push(event);
        this.cursor = events[events.length - 1]!.seq;
        // Replay at the consumer's pace: a large backlog is read as it is sent, not queued whole.
        while (!this.done && this.queue.length >= options.replayBatch) await new Promise<void>((resolve) => (this.onDrain = resolve));
      }
      if (this.done) return;
      // Same synchronous step as the last check: nothing the feed delivers can fall between.
      this.from = this.cursor;
      this.live = true;
      this.host.attach(this);
    } catch (error) {
      this.fail(error);
    }
  }

  /** A live event from the hub's index. */
  offer(event: ChangeEventValue): void {
    try {
      if (event.seq > this.from && this.request.matches(event)) this.push(event);
    } catch (error) {
      this.fail(error); // ends this stream only: the event still reaches the others
    }
  }

  next(): Promise<IteratorResult<ChangeEventValue>> {
    if (this.queue.length > 0) {
      const event = this.queue.shift()!;
      this.lastDelivered = event.seq;
      if (this.onDrain && this.queue.length < this.host.options.replayBatch) {
        const resume = this.onDrain;
        this.onDrain = null;
        resume();
      }
      return Promise.resolve({ value: event, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<ChangeEventValue>> {
    const waiter = this.waiter;
    this.waiter = null;
    this.finish();
    waiter?.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<ChangeEventValue>> {
    this.fail(error);
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private push(event: ChangeEventValue): void {
    if (this.done) return;
    const waiter = this.waiter;
    if (waiter) {
      if (this.sink !== null) {
        let taken: boolean;
        try {
          taken = this.sink.take(event);
        } catch (error) {
          this.fail(error);
          return;
        }
        if (taken) {
          this.lastDelivered = event.seq;
          return;
        }
      }
      this.waiter = null;
      this.lastDelivered = event.seq;
      waiter.resolve({ value: event, done: false });
      return;
    }
    if (this.queue.length >= this.host.options.maxQueuedEvents) {
      this.fail(new SlowConsumerError(this.lastDelivered));
      return;
    }
    this.queue.push(event);
  }

  private fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    const waiter = this.waiter;
    this.waiter = null;
    this.finish();
    waiter?.reject(error);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.sink = null;
    this.host.closed();
    if (this.live) this.host.detach(this);
    this.live = false;
    this.queue.length = 0;
    this.onDrain?.();
  }
}
