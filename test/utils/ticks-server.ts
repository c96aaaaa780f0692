import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { deferred, type Deferred } from './deferred.js';

/**
 * A tiny graphql-ws change feed for client tests: `Subscription.ticks(since: Int): Tick!` over an in-memory,
 * gap-free log. `since: N` replays every tick after N (minus `replayOverlap`, to provoke duplicates), then goes live.
 */

const typeDefs = /* GraphQL */ `
  type Query {
    ok: Boolean
  }
  type Subscription {
    ticks(since: Int): Tick!
  }
  type Tick {
    seq: Int!
  }
`;

/** Values recorded as they happen, with a way to wait for a condition on them (no sleeps). */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly waiters: { check: (items: readonly T[]) => boolean; done: Deferred<void> }[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.waiters]) {
      if (waiter.check(this.items)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.done.resolve();
      }
    }
  }

  /** Resolves once `check(items)` holds (at once if it already does). */
  waitFor(check: (items: readonly T[]) => boolean): Promise<void> {
    if (check(this.items)) return Promise.resolve();
    const done = deferred();
    this.waiters.push({ check, done });
    return done.promise;
  }

  /** Resolves once there are at least `count` items. */
  waitForCount(count: number): Promise<void> {
    return this.waitFor((items) => items.length >= count);
  }
}

/** The server's event log: seqs 1, 2, 3… Survives a server restart when passed to the next server. */
export class TickLog {
  readonly seqs: number[] = [];
  readonly emitter = new EventEmitter();

  append(count = 1): number {
    let seq = this.seqs.at(-1) ?? 0;
    for (let i = 0; i < count; i++) {
      seq += 1;
      this.seqs.push(seq);
      this.emitter.emit('tick', seq);
    }
    return seq;
  }
}

export interface TicksServerOptions {
  readonly apiKey: string;
  /** 0 (default): any free port. */
  readonly port?: number;
  readonly log?: TickLog;
}

export interface TicksServer {
  readonly url: string;
  readonly port: number;
  readonly log: TickLog;
  /** The `authorization` of every connection_init. */
  readonly connections: Recorder<unknown>;
  /** The close code of every socket that closed, as the server saw it. */
  readonly closes: Recorder<number>;
  /** The `since` of every subscription the resolver started (expired and failed ones included). */
  readonly subscribes: Recorder<number | null>;
  /** Every seq the server handed to graphql-ws, in order, over all streams. */
  readonly sent: Recorder<number>;
  /** Replay from `since - replayOverlap` instead of `since` (duplicates across a resume). */
  replayOverlap: number;
  /** A `since` below this is answered with CURSOR_EXPIRED. */
  expiredBefore: number;
  /** The next N subscriptions fail with INTERNAL_SERVER_ERROR. */
  failNextSubscribes: number;
  /** Kills every socket without a close frame (the client sees 1006). */
  terminateSockets(): void;
  /** Closes every socket with this code. */
  closeSockets(code: number, reason: string): void;
  /** graphql-ws's graceful shutdown (1001 to every socket), then stops listening. */
  close(): Promise<void>;
}

export async function startTicksServer(options: TicksServerOptions): Promise<TicksServer> {
  const log = options.log ?? new TickLog();
  const connections = new Recorder<unknown>();
  const subscribes = new Recorder<number | null>();
  const sent = new Recorder<number>();
  const closes = new Recorder<number>();

  const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;

  const server: TicksServer = {
    url: `ws://127.0.0.1:${port}/graphql`,
    port,
    log,
    connections,
    closes,
    subscribes,
    sent,
    replayOverlap: 0,
    expiredBefore: 0,
    failNextSubscribes: 0,
    terminateSockets() {
      for (const socket of wss.clients) socket.terminate();
    },
    closeSockets(code, reason) {
      for (const socket of wss.clients) socket.close(code, reason);
    },
    async close() {
      await cleanup.dispose();
    },
  };

  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: {
      Subscription: {
        ticks: {
          // A plain function, so CURSOR_EXPIRED is thrown when subscribing (graphql-ws then sends it as a result with errors).
          subscribe: (_root: unknown, args: { since?: number | null }) => {
            const since = args.since ?? null;
            subscribes.push(since);
            if (server.failNextSubscribes > 0) {
              server.failNextSubscribes -= 1;
              throw new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
            }
            if (since !== null && since < server.expiredBefore) {
              throw new GraphQLError(`Cursor ${since} is older than the retention (oldest: ${server.expiredBefore}).`, {
                extensions: { code: 'CURSOR_EXPIRED' },
              });
            }
            return tickStream(log, since === null ? null : since - server.replayOverlap, (seq) => sent.push(seq));
          },
        },
      },
    },
  });

  const cleanup = useServer(
    {
      schema,
      onConnect: (ctx) => {
        const authorization = ctx.connectionParams?.['authorization'];
        connections.push(authorization);
        return authorization === `Bearer ${options.apiKey}`;
      },
      onClose: (_ctx, code) => closes.push(code ?? 0),
    },
    wss,
  );
  return server;
}

/**
 * Ticks after `after` from the log, then live ones. Listens before reading the log, and both happen in one
 * synchronous step, so nothing falls between replay and live. A hand-written iterator rather than an async
 * generator: `return()` must end it even while it waits for the next tick.
 */
function tickStream(log: TickLog, after: number | null, onSent: (seq: number) => void): AsyncIterableIterator<{ ticks: { seq: number } }> {
  const queue: number[] = after === null ? [] : log.seqs.filter((seq) => seq > after);
  const waiting: ((result: IteratorResult<{ ticks: { seq: number } }>) => void)[] = [];
  let done = false;
  const item = (seq: number): IteratorResult<{ ticks: { seq: number } }> => {
    onSent(seq);
    return { done: false, value: { ticks: { seq } } };
  };
  const listener = (seq: number) => {
    const waiter = waiting.shift();
    if (waiter) waiter(item(seq));
    else queue.push(seq);
  };
  log.emitter.on('tick', listener);
  const finish = (): IteratorResult<{ ticks: { seq: number } }> => {
    done = true;
    log.emitter.off('tick', listener);
    for (const waiter of waiting.splice(0)) waiter({ done: true, value: undefined });
    return { done: true, value: undefined };
  };
  return {
    next() {
      if (done) return Promise.resolve({ done: true, value: undefined });
      const seq = queue.shift();
      if (seq !== undefined) return Promise.resolve(item(seq));
      return new Promise((resolve) => waiting.push(resolve));
    },
    return() {
      return Promise.resolve(finish());
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
