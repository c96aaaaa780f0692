import type { Logger } from 'pino';
import { createClient, type RedisClientType } from 'redis';
import { deliverSafely, type EventBus } from './event-bus.js';

/** Bounds start-up: a gateway that cannot reach Redis should fail clearly, not hang. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Long enough for a healthy Redis under load, short enough that a caller on a request path barely notices. */
const DEFAULT_PUBLISH_TIMEOUT_MS = 1_000;
/** Caps memory (and the backlog replayed on resume) when Redis stops answering but the socket stays open. */
const DEFAULT_MAX_PENDING_PUBLISHES = 1_000;
/** How often each connection PINGs Redis: keeps an idle connection busy so the idle timeout below means "stalled". */
const PING_INTERVAL_MS = 1_000;
/**
 * A connection that received nothing for this long is dropped and reconnected. node-redis's command timeout only
 * covers commands not yet written, so a PING sent to a SIGSTOPped Redis waits forever; only this socket idle
 * timeout notices (after about PING_INTERVAL_MS + SOCKET_IDLE_TIMEOUT_MS).
 */
const SOCKET_IDLE_TIMEOUT_MS = 3 * PING_INTERVAL_MS;
const RECONNECT_BASE_DELAY_MS = 100;
/** Replicas keep retrying forever; the cap bounds how long one stays deaf after Redis is back. */
const RECONNECT_MAX_DELAY_MS = 5_000;
/** close() waits this long for in-flight commands before dropping the sockets. */
const CLOSE_GRACE_MS = 1_000;

export interface RedisEventBusOptions {
  /** `redis://` or `rediss://` URL; credentials in it never reach the logs. */
  readonly url: string;
  /**
   * Prepended to every topic to name its channel (`${channelPrefix}${topic}`). Give each deployment (and each test)
   * its own, e.g. `rsg:prod:`: replicas only hear replicas with the same prefix, whatever else shares the Redis.
   */
  readonly channelPrefix: string;
  readonly logger: Logger;
  /** Publishes waiting for Redis beyond which `publish` resolves false at once. Default 1,000. */
  readonly maxPendingPublishes?: number;
  /** How long `publish` waits for Redis before resolving false. Default 1,000 ms. */
  readonly publishTimeoutMs?: number;
  /** How long `connect` waits for both connections before rejecting. Default 5,000 ms. */
  readonly connectTimeoutMs?: number;
}

type RedisClient = RedisClientType;
type Role = 'publisher' | 'subscriber';

/**
 * The event bus across replicas, on Redis Pub/Sub (node-redis). Two connections, because a connection in
 * subscribe mode cannot publish: one publishes, one subscribes.
 *
 * What callers rely on:
 * - `publish` never throws and never waits longer than `publishTimeoutMs`. False means "not known to have reached
 *   Redis": Redis is down, too many publishes are waiting, or Redis did not answer in time (a message that timed
 *   out may still be delivered later, e.g. when a stopped Redis resumes).
 * - Both connections reconnect forever, with capped exponential backoff and jitter. After the subscriber
 *   reconnects (its subscriptions restored), every `onReconnect` listener is called once: messages published
 *   during the outage are lost and consumers catch up from the log.
 * - Handlers are called in the order Redis delivers; a handler that throws is logged and does not affect others.
 */
export class RedisEventBus implements EventBus {
  readonly kind = 'redis' as const;

  readonly #log: Logger;
  readonly #channelPrefix: string;
  readonly #maxPendingPublishes: number;
  readonly #publishTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #reconnectListeners = new Set<{ readonly listener: () => void }>();
  #pendingPublishes = 0;
  #closing: Promise<void> | null = null;

  /**
   * Connects both connections, resolving once both are ready. Rejects with an Error naming the (redacted) URL if
   * the first attempt fails or takes longer than `connectTimeoutMs`: retrying forever is for outages, not for a
   * misconfigured start.
   */
  static async connect(options: RedisEventBusOptions): Promise<RedisEventBus> {
    const bus = new RedisEventBus(options);
    try {
      await withDeadline(Promise.all([bus.#publisher.connect(), bus.#subscriber.connect()]), bus.#connectTimeoutMs);
    } catch (error) {
      bus.#publisher.destroy();
      bus.#subscriber.destroy();
      throw new Error(`RedisEventBus could not connect to ${redactUrl(options.url)}: ${errorMessage(error)}`, { cause: error });
    }
    bus.#log.info({ url: redactUrl(options.url) }, 'event bus connected to redis');
    return bus;
  }

  private constructor(options: RedisEventBusOptions) {
    this.#channelPrefix = options.channelPrefix;
    this.#maxPendingPublishes = positive('maxPendingPublishes', options.maxPendingPublishes ?? DEFAULT_MAX_PENDING_PUBLISHES);
    this.#publishTimeoutMs = positive('publishTimeoutMs', options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
    this.#connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    this.#log = options.logger.child({ component: 'event-bus', kind: this.kind, channelPrefix: options.channelPrefix });
    this.#publisher = this.#createClient('publisher', options.url);
    this.#subscriber = this.#createClient('subscriber', options.url);
  }

  publish(topic: string, message: string): Promise<boolean> {
    if (this.#closing !== null || !this.#publisher.isReady || this.#pendingPublishes >= this.#maxPendingPublishes) {
      return Promise.resolve(false);
    }
    // Counted until Redis answers or the connection drops, not until our timeout: what is still in flight is what
    // costs memory and what a resumed Redis will still process.
    this.#pendingPublishes++;
    const sent = this.#send(this.#channel(topic), message).finally(() => this.#pendingPublishes--);
    return settleWithin(sent, this.#publishTimeoutMs, false);
  }

  async subscribe(topic: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    if (this.#closing !== null) throw new Error('RedisEventBus is closed');
    const channel = this.#channel(topic);
    let active = true;
    // One listener per subscription, so the same handler subscribed twice is two subscriptions, and so that
    // unsubscribing takes effect at once even while UNSUBSCRIBE waits for Redis.
    const listener = (message: string): void => {
      if (active) this.#deliver(handler, topic, message);
    };
    try {
      await this.#subscriber.subscribe(channel, listener);
    } catch (error) {
      throw new Error(`RedisEventBus could not subscribe to ${channel}: ${errorMessage(error)}`, { cause: error });
    }
    return async () => {
      if (!active) return;
      active = false;
      await this.#unsubscribe(channel, listener);
    };
  }

  onReconnect(listener: () => void): () => void {
    const entry = { listener };
    this.#reconnectListeners.add(entry);
    return () => {
      this.#reconnectListeners.delete(entry);
    };
  }

  isConnected(): boolean {
    return this.#closing === null && this.#publisher.isReady && this.#subscriber.isReady;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  #createClient(role: Role, url: string): RedisClient {
    let everReady = false;
    let up = false;
    const client = createClient({
      url,
      // Commands while disconnected fail at once instead of piling up for a Redis that may never return.
      disableOfflineQueue: true,
      pingInterval: PING_INTERVAL_MS,
      socket: {
        connectTimeout: this.#connectTimeoutMs,
        socketTimeout: SOCKET_IDLE_TIMEOUT_MS,
        // node-redis retries the initial connect too; `false` makes that first failure reject connect().
        reconnectStrategy: (retries) => (everReady ? reconnectDelay(retries) : false),
      },
    });
    // Without an 'error' listener, node-redis's error events would crash the process.
    client.on('error', (error: unknown) => {
      if (up && !client.isReady) {
        up = false;
        this.#log.warn({ err: error, client: role }, 'redis connection lost; reconnecting');
      } else if (up) {
        this.#log.warn({ err: error, client: role }, 'redis client error');
      } else {
        this.#log.debug({ err: error, client: role }, 'redis still unreachable');
      }
    });
    client.on('ready', () => {
      up = true;
      if (!everReady) {
        everReady = true;
        return;
      }
      this.#log.info({ client: role }, 'redis connection restored');
      // node-redis has already resubscribed every channel before 'ready': a publish from now on is heard.
      if (role === 'subscriber') this.#notifyReconnect();
    });
    return client;
  }

  #channel(topic: string): string {
    return `${this.#channelPrefix}${topic}`;
  }

  async #send(channel: string, message: string): Promise<boolean> {
    try {
      await this.#publisher.publish(channel, message);
      return true;
    } catch (error) {
      this.#log.debug({ err: error, channel }, 'publish failed');
      return false;
    }
  }

  async #unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    if (this.#closing !== null) return;
    try {
      await this.#subscriber.unsubscribe(channel, listener);
    } catch (error) {
      // The handler is already silenced; the channel merely stays subscribed on Redis until close.
      this.#log.warn({ err: error, channel }, 'could not unsubscribe from redis channel');
    }
  }

  #deliver(handler: (message: string) => void, topic: string, message: string): void {
    deliverSafely(handler, message, (error) => this.#handlerFailed(error, topic));
  }

  #handlerFailed(error: unknown, topic: string): void {
    this.#log.error({ err: error, topic }, 'event bus handler failed');
  }

  #notifyReconnect(): void {
    for (const { listener } of [...this.#reconnectListeners]) {
      try {
        listener();
      } catch (error) {
        this.#log.error({ err: error }, 'event bus reconnect listener failed');
      }
    }
  }

  async #shutDown(): Promise<void> {
    this.#reconnectListeners.clear();
    await Promise.all([closeQuietly(this.#publisher), closeQuietly(this.#subscriber)]);
    this.#log.info('event bus closed');
  }
}

/** Capped exponential backoff with "equal jitter": replicas that lost Redis together do not return in lockstep. */
function reconnectDelay(retries: number): number {
  const ceiling = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_BASE_DELAY_MS * 2 ** retries);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Lets in-flight commands finish for a moment, then drops the socket; never throws, even with Redis down. */
async function closeQuietly(client: RedisClient): Promise<void> {
  if (client.isOpen) {
    const closed = client.close().then(
      () => undefined,
      () => undefined,
    );
    await settleWithin(closed, CLOSE_GRACE_MS, undefined);
  }
  try {
    client.destroy();
  } catch {
    // Already torn down: nothing left to release.
  }
}

/** Resolves with `promise`'s value, or with `fallback` after `ms`; `promise` must not reject. */
function settleWithin<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`RedisEventBus option ${name} must be a positive number, got ${value}`);
  return value;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(errorMessage).join('; ');
  if (error instanceof Error) return error.message || error.constructor.name;
  return String(error);
}
