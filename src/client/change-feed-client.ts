import { getOperationAST, parse, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * A resuming client for the gateway's change-feed subscriptions (graphql-ws on `/graphql`).
 *
 * graphql-ws alone resends a subscription's ORIGINAL payload when it reconnects, so a stream would restart from
 * its first cursor (or from "now", losing everything in between). This helper owns reconnecting instead: every
 * graphql-ws client it creates is used for one socket only (`retryAttempts: 0`, and it is disposed as soon as its
 * socket goes), and each subscription is resubscribed on the next socket with `since` = the last seq it delivered.
 * Events are at-least-once on the wire and exactly-once, in order, per seq to the handler.
 */

/** First reconnect delay cap: the first retry waits a random 0–250 ms. */
export const DEFAULT_INITIAL_RETRY_DELAY_MS = 250;
/** The backoff cap doubles per failed attempt up to this (a random 0–30 s once the gateway has been down a while). */
export const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
/** Idle time after which the client pings the server (a graphql-ws `ping` message) to find a dead socket. */
export const KEEP_ALIVE_INTERVAL_MS = 12_000;
/** A ping not answered within this is a dead socket (network gone without a FIN): terminate and reconnect. */
export const PONG_TIMEOUT_MS = 6_000;
/** How long the server may take to answer connection_init before the socket is closed (4504) and retried. */
export const CONNECTION_ACK_TIMEOUT_MS = 10_000;
/** How long the WebSocket opening handshake may take (default `ws` implementation only) before it is retried. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long `dispose()` waits for its sockets to finish closing before it resolves anyway. */
export const DISPOSE_CLOSE_WAIT_MS = 2_000;
/** 2^30 × any sane initial delay is far past any cap; bounding the exponent keeps the arithmetic finite. */
const MAX_BACKOFF_EXPONENT = 30;

/** Close codes after which reconnecting cannot help: a bad request, a missing or a rejected API key. */
export const NON_RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([4400, 4401, 4403]);
/** GraphQL error codes that are transient on the server's side: the subscription is retried, not failed. */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);
/** The server's answer to a `since` older than its retention. */
export const CURSOR_EXPIRED_CODE = 'CURSOR_EXPIRED';

export type ConnectionState = 'connected' | 'reconnecting';

export interface RetryOptions {
  /** Cap of the first retry delay (default {@link DEFAULT_INITIAL_RETRY_DELAY_MS}). */
  readonly initialDelayMs?: number;
  /** Largest cap the exponential delay grows to (default {@link DEFAULT_MAX_RETRY_DELAY_MS}). */
  readonly maxDelayMs?: number;
}

export interface ChangeFeedClientOptions {
  /** `ws://host:port/graphql` or `wss://…`. */
  readonly url: string;
  /** Sent in connection_init as `{ authorization: 'Bearer <apiKey>' }`. */
  readonly apiKey: string;
  /** A WebSocket constructor (e.g. `globalThis.WebSocket` in a browser); default: the `ws` package's. */
  readonly webSocketImpl?: unknown;
  readonly retry?: RetryOptions;
  /** Called when a socket is acknowledged (`connected`) and when a lost one is about to be replaced (`reconnecting`). */
  readonly onConnectionChange?: (state: ConnectionState) => void;
}

export interface ChangeFeedRequest {
  /** A subscription operation declaring `$since` and passing it to its root field. */
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>>;
  readonly operationName?: string;
  /** Resume after this seq (`variables.since` if omitted); null or absent: live events only. */
  readonly since?: number | null;
  /**
   * Dot path from `data` to the event's seq, e.g. `'inventoryChanged.seq'`. Default: `seq` of the single root
   * field of `data`.
   */
  readonly seqField?: string;
}

export interface ChangeFeedHandlers<TData> {
  /** One event's `data` (e.g. `{ inventoryChanged: { seq, … } }`) and its seq, strictly increasing. */
  next(data: TData, seq: number): void;
  /**
   * The subscription has stopped for good: {@link CursorExpiredError}, {@link ConnectionRejectedError} (4400/4401/4403),
   * {@link SubscriptionRejectedError} (validation, authentication, authorization…), or a {@link ChangeFeedError}
   * for a payload without a seq or a `next` handler that threw. Never called for anything a reconnect can fix.
   */
  error(error: ChangeFeedError): void;
  /** The server ended the stream without an error; nothing is resubscribed. */
  complete?(): void;
}

export interface ChangeFeedClient {
  /** Starts a subscription; the returned function stops it (no handler is called after that). */
  subscribe<TData = Record<string, unknown>>(request: ChangeFeedRequest, handlers: ChangeFeedHandlers<TData>): () => void;
  /** Stops every subscription and closes the socket. */
  dispose(): Promise<void>;
}

/** Base class of every error the change-feed client hands to `error`. */
export class ChangeFeedError extends Error {
  override name = 'ChangeFeedError';
}

/** The cursor is older than the server's retention: re-query the state, then subscribe from the seq it returns. */
export class CursorExpiredError extends ChangeFeedError {
  override name = 'CursorExpiredError';
  constructor(
    message: string,
    /** The `since` the server refused. */
    readonly since: number | null,
    readonly errors: readonly GraphQLFormattedError[],
  ) {
    super(message);
  }
}

/** The server refused the subscription with GraphQL errors a retry cannot fix (validation, authentication, scopes…). */
export class SubscriptionRejectedError extends ChangeFeedError {
  override name = 'SubscriptionRejectedError';
  /** `extensions.code` of the first error, if any. */
  readonly code: string | undefined;
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super(errors.map((error) => error.message).join('; ') || 'The subscription was rejected.');
    const code = errors[0]?.extensions?.['code'];
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** The server closed the socket with 4400, 4401 or 4403 (e.g. a wrong API key): not retried. */
export class ConnectionRejectedError extends ChangeFeedError {
  override name = 'ConnectionRejectedError';
  constructor(
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(`The server closed the connection with ${closeCode}${reason ? ` (${reason})` : ''}.`);
  }
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first): exponential backoff with full jitter, a random
 * delay between 0 and min(maxDelayMs, initialDelayMs × 2^attempt).
 */
export function backoffDelay(attempt: number, retry: Required<RetryOptions>, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_BACKOFF_EXPONENT);
  const cap = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** exponent);
  return Math.floor(random() * cap);
}

/** One socket: a graphql-ws client that never reconnects by itself. Once `lost`, nothing it reports matters. */
interface Generation {
  client: Client;
  lost: boolean;
  pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves once the socket has closed (or failed), for `dispose()`. */
  readonly closed: Promise<void>;
  markClosed(): void;
}

/** One graphql-ws subscription of a change-feed subscription, on one socket. */
interface Run {
  readonly gen: Generation;
  unsubscribe: () => void;
}

interface FeedSubscription {
  readonly query: string;
  readonly operationName: string | undefined;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly seqPath: readonly string[] | null;
  readonly handlers: ChangeFeedHandlers<unknown>;
  /** The last seq delivered (or the starting `since`): the resume cursor and the duplicate filter. */
  cursor: number | null;
  active: boolean;
  run: Run | null;
  /** Retries of a subscription the server failed with a transient GraphQL error (the socket itself was fine). */
  retryAttempt: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

export function createChangeFeedClient(options: ChangeFeedClientOptions): ChangeFeedClient {
  const url = validateUrl(options.url);
  if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new TypeError('apiKey must be a non-empty string.');
  const retry = {
    initialDelayMs: nonNegative('retry.initialDelayMs', options.retry?.initialDelayMs ?? DEFAULT_INITIAL_RETRY_DELAY_MS),
    maxDelayMs: nonNegative('retry.maxDelayMs', options.retry?.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS),
  };
  const webSocketImpl = options.webSocketImpl ?? defaultWebSocket();
  const connectionParams = { authorization: `Bearer ${options.apiKey}` };

  const subscriptions = new Set<FeedSubscription>();
  /** The current socket, if any; at most one at a time. */
  let connection: Generation | null = null;
  /** Sockets being closed, for dispose() to wait on. */
  const closing = new Set<Promise<void>>();
  let connectAttempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let state: ConnectionState | 'idle' = 'idle';
  let disposed: Promise<void> | null = null;

  function setState(next: ConnectionState | 'idle'): void {
    if (state === next) return;
    state = next;
    if (next !== 'idle' && options.onConnectionChange) {
      const listener = options.onConnectionChange;
      callSafely(() => listener(next));
    }
  }

  function openGeneration(): Generation {
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const gen: Generation = { client: undefined as unknown as Client, lost: false, pongTimer: undefined, closed, markClosed };
    closing.add(closed);
    void closed.then(() => closing.delete(closed));
    gen.client = createClient({
      url,
      webSocketImpl,
      connectionParams,
      // Connect now and keep the socket until this helper retires it; never retry inside graphql-ws (it would
      // resend the original `since`).
      lazy: false,
      retryAttempts: 0,
      shouldRetry: () => false,
      onNonLazyError: () => {},
      keepAlive: KEEP_ALIVE_INTERVAL_MS,
      connectionAckWaitTimeout: CONNECTION_ACK_TIMEOUT_MS,
      on: {
        connected: () => {
          if (gen.lost) return;
          connectAttempt = 0;
          setState('connected');
        },
        ping: (received) => {
          if (received || gen.lost) return;
          clearTimeout(gen.pongTimer);
          gen.pongTimer = setTimeout(() => {
            if (!gen.lost) gen.client.terminate();
          }, PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(gen.pongTimer);
        },
        // These listeners run before graphql-ws's own, so a socket is marked lost before any sink hears of it.
        error: (error) => connectionLost(gen, error),
        closed: (event) => {
          gen.markClosed();
          connectionLost(gen, event);
        },
      },
    });
    return gen;
  }

  /** Stops listening to a socket and closes it. */
  function retire(gen: Generation): void {
    gen.lost = true;
    clearTimeout(gen.pongTimer);
    // Rejects if the socket was still connecting and failed: it is closed either way.
    Promise.resolve()
      .then(() => gen.client.dispose())
      .catch(() => gen.markClosed());
  }

  function ensureConnection(): void {
    if (disposed || connection || reconnectTimer || subscriptions.size === 0) return;
    const gen = openGeneration();
    connection = gen;
    for (const subscription of subscriptions) if (!subscription.retryTimer) start(gen, subscription);
  }

  function connectionLost(gen: Generation, errorOrCloseEvent: unknown): void {
    if (gen.lost) return;
    retire(gen);
    if (connection !== gen) return;
    connection = null;
    for (const subscription of subscriptions) subscription.run = null;
    const close = closeEventOf(errorOrCloseEvent);
    if (close && NON_RETRYABLE_CLOSE_CODES.has(close.code)) {
      for (const subscription of [...subscriptions]) fail(subscription, new ConnectionRejectedError(close.code, close.reason));
      return;
    }
    if (subscriptions.size === 0) {
      setState('idle');
      return;
    }
    setState('reconnecting');
    const delay = backoffDelay(connectAttempt++, retry);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      ensureConnection();
    }, delay);
  }

  function start(gen: Generation, subscription: FeedSubscription): void {
    const run: Run = { gen, unsubscribe: () => {} };
    subscription.run = run;
    const live = () => subscription.active && subscription.run === run && !gen.lost;
    run.unsubscribe = gen.client.subscribe(
      {
        query: subscription.query,
        ...(subscription.operationName ? { operationName: subscription.operationName } : {}),
        variables: { ...subscription.variables, since: subscription.cursor },
      },
      {
        next: (result) => {
          if (live()) onResult(subscription, result);
        },
        error: (error) => {
          if (!live()) return;
          if (Array.isArray(error)) onGraphQLErrors(subscription, error as GraphQLFormattedError[]);
          else if (closeEventOf(error)) connectionLost(gen, error);
          // Not from the socket (those mark the generation lost first): e.g. variables that do not serialize.
          else fail(subscription, new ChangeFeedError(`The subscription failed: ${messageOf(error)}`, { cause: error }));
        },
        complete: () => {
          if (!live()) return;
          const handlers = subscription.handlers;
          stop(subscription);
          if (handlers.complete) callSafely(() => handlers.complete?.());
        },
      },
    );
  }

  function onResult(subscription: FeedSubscription, result: FormattedExecutionResult<Record<string, unknown>, unknown>): void {
    if (result.errors && result.errors.length > 0) {
      onGraphQLErrors(subscription, result.errors);
      return;
    }
    const seq = readSeq(result.data, subscription.seqPath);
    if (seq === undefined) {
      const where = subscription.seqPath ? subscription.seqPath.join('.') : 'the single root field’s seq';
      fail(subscription, new ChangeFeedError(`An event has no non-negative integer seq at ${where}.`));
      return;
    }
    if (subscription.cursor !== null && seq <= subscription.cursor) return; // replayed across a resume
    subscription.cursor = seq;
    subscription.retryAttempt = 0;
    try {
      subscription.handlers.next(result.data, seq);
    } catch (error) {
      fail(subscription, new ChangeFeedError(`The next handler threw at seq ${seq}: ${messageOf(error)}`, { cause: error }));
    }
  }

  function onGraphQLErrors(subscription: FeedSubscription, errors: readonly GraphQLFormattedError[]): void {
    const expired = errors.find((error) => error.extensions?.['code'] === CURSOR_EXPIRED_CODE);
    if (expired) {
      fail(subscription, new CursorExpiredError(expired.message, subscription.cursor, errors));
      return;
    }
    const transient = errors.every((error) => {
      const code = error.extensions?.['code'];
      return typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code);
    });
    if (!transient) {
      fail(subscription, new SubscriptionRejectedError(errors));
      return;
    }
    // The server failed this subscription but the socket is fine: resubscribe on it after a backoff.
    stopRun(subscription);
    const delay = backoffDelay(subscription.retryAttempt++, retry);
    subscription.retryTimer = setTimeout(() => {
      subscription.retryTimer = undefined;
      if (!subscription.active) return;
      if (connection) start(connection, subscription);
      else ensureConnection();
    }, delay);
  }

  function stopRun(subscription: FeedSubscription): void {
    const run = subscription.run;
    subscription.run = null; // from now on nothing of this run reaches the handlers
    // Sends `complete` if the operation still runs on an open socket; a no-op if it has ended. Deferred: called
    // while graphql-ws dispatches a `next`, it would race a `complete` from the server in the same TCP read, and
    // graphql-ws would release the operation twice (its lock count then closes the shared socket).
    if (run) afterCurrentEvents(run.unsubscribe);
  }

  function stop(subscription: FeedSubscription): void {
    if (!subscription.active) return;
    subscription.active = false;
    clearTimeout(subscription.retryTimer);
    subscription.retryTimer = undefined;
    stopRun(subscription);
    subscriptions.delete(subscription);
    if (subscriptions.size === 0) {
      // Nothing left to feed: close the socket (a later subscribe opens a new one).
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      connectAttempt = 0;
      if (connection) retire(connection);
      connection = null;
      setState('idle');
    }
  }

  function fail(subscription: FeedSubscription, error: ChangeFeedError): void {
    if (!subscription.active) return;
    const handlers = subscription.handlers;
    stop(subscription);
    callSafely(() => handlers.error(error));
  }

  return {
    subscribe<TData = Record<string, unknown>>(request: ChangeFeedRequest, handlers: ChangeFeedHandlers<TData>): () => void {
      if (disposed) throw new ChangeFeedError('The change-feed client is disposed.');
      checkOperation(request.query, request.operationName);
      const since = request.since !== undefined ? request.since : (request.variables?.['since'] ?? null);
      if (since !== null && !isSeq(since)) throw new RangeError(`since must be null or a non-negative safe integer, got ${String(since)}.`);
      const subscription: FeedSubscription = {
        query: request.query,
        operationName: request.operationName,
        variables: { ...request.variables },
        seqPath: request.seqField ? request.seqField.split('.') : null,
        handlers: handlers as ChangeFeedHandlers<unknown>,
        cursor: since,
        active: true,
        run: null,
        retryAttempt: 0,
        retryTimer: undefined,
      };
      subscriptions.add(subscription);
      if (connection) start(connection, subscription);
      else ensureConnection();
      return () => stop(subscription);
    },

    dispose(): Promise<void> {
      if (disposed) return disposed;
      for (const subscription of subscriptions) {
        subscription.active = false;
        clearTimeout(subscription.retryTimer);
        stopRun(subscription);
      }
      subscriptions.clear();
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      if (connection) retire(connection);
      connection = null;
      state = 'idle';
      disposed = waitBounded([...closing], DISPOSE_CLOSE_WAIT_MS);
      return disposed;
    },
  };
}

/** The `ws` package's WebSocket, with a bound on the opening handshake (a black-holed host would hang forever). */
let boundedWs: WebSocketConstructor | undefined;
function defaultWebSocket(): WebSocketConstructor {
  boundedWs ??= class BoundedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    }
  };
  return boundedWs;
}

function validateUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}.`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new TypeError(`url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}.`);
  return url;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}.`);
  return value;
}

/** Fails fast on a query that could never resume: not a subscription, or no `$since` to carry the cursor. */
function checkOperation(query: string, operationName: string | undefined): void {
  const operation = getOperationAST(parse(query), operationName);
  if (!operation) throw new TypeError('The query must contain exactly one operation, or name it with operationName.');
  if (operation.operation !== 'subscription') throw new TypeError(`The operation must be a subscription, not a ${operation.operation}.`);
  if (!operation.variableDefinitions?.some((definition) => definition.variable.name.value === 'since')) {
    throw new TypeError('The subscription must declare $since and pass it to its root field, or it cannot resume.');
  }
}

/** Runs `fn` after the events already read from the socket have been dispatched. */
function afterCurrentEvents(fn: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(fn);
  else setTimeout(fn, 0);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function readSeq(data: unknown, path: readonly string[] | null): number | undefined {
  let value: unknown = data;
  if (path === null) {
    if (!isRecord(data)) return undefined;
    const keys = Object.keys(data);
    if (keys.length !== 1) return undefined;
    const root = data[keys[0]!];
    value = isRecord(root) ? root['seq'] : undefined;
  } else {
    for (const key of path) value = isRecord(value) ? value[key] : undefined;
  }
  return isSeq(value) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A CloseEvent-like object (graphql-ws hands those to sinks and listeners) — not a GraphQL error array. */
function closeEventOf(value: unknown): { code: number; reason: string } | undefined {
  if (!isRecord(value) || Array.isArray(value) || typeof value['code'] !== 'number') return undefined;
  return { code: value['code'], reason: typeof value['reason'] === 'string' ? value['reason'] : '' };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs application callbacks: an exception there must not break the socket's message loop, so it is rethrown apart. */
function callSafely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

async function waitBounded(promises: readonly Promise<void>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([Promise.all(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
