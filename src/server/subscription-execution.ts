import { createSourceEventStream, execute, Kind, print, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Logger } from 'pino';
import type { ChangeEventValue } from '../domain/changes/change-event.js';
import type { RequestContext } from '../domain/common/request-context.js';
import { stableStringify } from '../domain/common/stable-stringify.js';
import { SlowConsumerError } from '../events/subscription-hub.js';

/** Close code for a socket whose subscriber fell too far behind: reconnect and resume with since (docs/client.md). */
export const SLOW_CONSUMER_CLOSE_CODE = 4429;

/** Executions kept per group, so subscribers replaying the same recent events share them too. */
const RESULTS_KEPT_PER_GROUP = 64;

export interface SubscriptionSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  close(code: number, reason: string): void;
  send(data: string, callback: (error?: Error) => void): void;
  /** The `ws` socket's TCP socket (not public API of `ws`, hence optional): corked while an event fans out. */
  readonly _socket?: { cork(): void; uncork(): void } | null;
}

/**
 * Holds a socket's frames back until the current event has been handed to all of its subscriptions, then
 * writes them in one system call: `ws` writes every frame on its own, and with many subscriptions per socket
 * (a POS following inventory, prices and availability) the writes were half of the fan-out's CPU.
 */
const corked = new WeakSet<object>();
function corkUntilNextTurn(socket: SubscriptionSocket): void {
  const tcp = socket._socket;
  if (!tcp || corked.has(tcp)) return;
  corked.add(tcp);
  tcp.cork();
  setImmediate(() => {
    corked.delete(tcp);
    tcp.uncork();
  });
}

/** The socket and graphql-ws operation id of one subscriber, so results can be sent without graphql-ws. */
export interface SubscriberChannel {
  readonly socket: SubscriptionSocket;
  readonly id: string;
}

/** WebSocket.OPEN. */
const OPEN = 1;

/** One execution shared by a group: the result, and its JSON when it can be sent as is (no errors to format). */
interface SharedResult {
  readonly result: ExecutionResult;
  readonly json: string | null;
}

interface Group {
  members: number;
  readonly results: Map<number, Promise<SharedResult>>;
  /** The latest execution once it has settled: the other members take it without another promise hop. */
  settled: { readonly seq: number; readonly shared: SharedResult } | null;
}

/**
 * Executes subscription events once per group of subscribers with the same (document, variables, scope) and
 * sends the result to all of them: 10,000 storefronts on the same subscription cost one execution per event,
 * not 10,000 (graphql-js's own `subscribe` executes per subscriber). The `since` variable is not part of the
 * key: it only decides where a subscriber's stream starts. The scope is the caller's scopes and channel binding,
 * the only parts of the context that change what a resolver returns.
 *
 * Also enforces the slow-consumer caps: a stream that overflowed its queue, or a socket whose unsent bytes pass
 * `maxBufferedBytes`, is closed with {@link SLOW_CONSUMER_CLOSE_CODE}.
 */
export class GroupedSubscriptions {
  private readonly groups = new Map<string, Group>();
  private readonly documentKeys = new WeakMap<DocumentNode, { readonly text: string; readonly cursorVariables: Map<string, ReadonlySet<string>> }>();

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly logger: Logger,
  ) {}

  /** Groups with at least one subscriber (for /metrics and tests). */
  get groupCount(): number {
    return this.groups.size;
  }

  /**
   * With `channel`, error-free results go straight to the socket as graphql-ws `next` frames built around the
   * group's one serialisation (graphql-ws would validate and stringify the same payload once per subscriber);
   * results with errors still go through graphql-ws, so its error formatting applies.
   */
  async subscribe(args: ExecutionArgs, channel: SubscriberChannel | null): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const socket = channel?.socket ?? null;
    const source = await createSourceEventStream(args);
    if (!isAsyncIterator(source)) return source as ExecutionResult;
    const key = this.groupKey(args);
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { members: 0, results: new Map(), settled: null }));
    group.members++;
    const joined = group;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      joined.members--;
      if (joined.members === 0 && this.groups.get(key) === joined) this.groups.delete(key);
    };

    const run = (event: ChangeEventValue): Promise<SharedResult> | SharedResult => {
      if (joined.settled?.seq === event.seq) return joined.settled.shared;
      let shared = joined.results.get(event.seq);
      if (!shared) {
        shared = Promise.resolve(execute({ ...args, rootValue: event })).then((result) => {
          const value = { result, json: result.errors ? null : JSON.stringify(result) };
          if ((joined.settled?.seq ?? -1) < event.seq) joined.settled = { seq: event.seq, shared: value };
          return value;
        });
        joined.results.set(event.seq, shared);
        if (joined.results.size > RESULTS_KEPT_PER_GROUP) joined.results.delete(joined.results.keys().next().value!);
      }
      return shared;
    };
    const framePrefix = channel ? `{"id":${JSON.stringify(channel.id)},"type":"next","payload":` : '';
    let ended = false;

    const closeSlow = (reason: string) => {
      this.logger.info({ reason }, 'closing a slow subscriber');
      socket?.close(SLOW_CONSUMER_CLOSE_CODE, 'Slow consumer: reconnect and resume with since');
    };

    const iterator: AsyncIterableIterator<ExecutionResult> = {
      next: async () => {
        try {
          for (;;) {
            const step = await source.next();
            if (step.done || ended) {
              leave();
              return { value: undefined, done: true };
            }
            if (socket && socket.bufferedAmount > this.maxBufferedBytes) {
              await iterator.return!();
              closeSlow('buffered bytes');
              return { value: undefined, done: true };
            }
            const pending = run(step.value);
            const shared = pending instanceof Promise ? await pending : pending;
            if (!channel || shared.json === null) return { value: shared.result, done: false };
            if (ended || channel.socket.readyState !== OPEN) continue;
            corkUntilNextTurn(channel.socket);
            // A failed send means the socket is closing: graphql-ws ends the operation on close.
            channel.socket.send(framePrefix + shared.json + '}', () => undefined);
          }
        } catch (error) {
          leave();
          if (error instanceof SlowConsumerError) {
            closeSlow('queued events');
            return { value: undefined, done: true };
          }
          throw error;
        }
      },
      return: async () => {
        ended = true;
        leave();
        await source.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private groupKey(args: ExecutionArgs): string {
    // Documents are cached by text in ws.ts, so subscribers with the same operation share this entry.
    let document = this.documentKeys.get(args.document);
    if (document === undefined) this.documentKeys.set(args.document, (document = { text: print(args.document), cursorVariables: new Map() }));
    const operationName = args.operationName ?? '';
    let cursorVariables = document.cursorVariables.get(operationName);
    if (cursorVariables === undefined) document.cursorVariables.set(operationName, (cursorVariables = sinceVariables(args.document, args.operationName ?? null)));
    const documentKey = document.text;
    const variables = Object.fromEntries(Object.entries(args.variableValues ?? {}).filter(([name]) => !cursorVariables.has(name)));
    const caller = (args.contextValue as RequestContext).caller;
    const scope = { scopes: [...caller.scopes].sort(), channels: [...caller.channels].sort() };
    return `${args.operationName ?? ''}\n${documentKey}\n${stableStringify(variables)}\n${stableStringify(scope)}`;
  }
}

/** Names of the variables passed as a root field's `since` argument. */
function sinceVariables(document: DocumentNode, operationName: string | null): Set<string> {
  const names = new Set<string>();
  const operation = document.definitions.find((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION && (operationName === null || definition.name?.value === operationName));
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind !== Kind.FIELD) continue;
    for (const argument of selection.arguments ?? []) {
      if (argument.name.value === 'since' && argument.value.kind === Kind.VARIABLE) names.add(argument.value.name.value);
    }
  }
  return names;
}

function isAsyncIterator(value: unknown): value is AsyncIterableIterator<ChangeEventValue> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
