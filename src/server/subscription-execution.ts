import { createSourceEventStream, execute, Kind, print, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Logger } from 'pino';
import type { ChangeEventValue } from '../domain/changes/change-event.js';
import type { RequestContext } from '../domain/common/request-context.js';
import { stableStringify } from '../domain/common/stable-stringify.js';
import { isChangeStream, SlowConsumerError, type DirectSink } from '../events/subscription-hub.js';
import { allocTextFrame } from './ws-frames.js';

/** Close code for a socket whose subscriber fell too far behind: reconnect and resume with since (docs/client.md). */
export const SLOW_CONSUMER_CLOSE_CODE = 4429;

/**
 * Executions kept per group with more than one member, so members replaying the same recent events share them
 * too (live members only need the latest). A group of one keeps none: with 10,000 single-member groups, 64 kept
 * results each were hundreds of MB of old-generation garbage and a 300–500 ms major GC in the middle of fan-outs.
 */
const RESULTS_KEPT_PER_GROUP = 16;

export interface SubscriptionSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  close(code: number, reason: string): void;
  send(data: Buffer, options: { readonly binary: false }, callback: (error?: Error) => void): void;
  /** The extensions negotiated (`ws`): frames are written whole only without any (no compression). */
  readonly extensions?: string;
  /**
   * The `ws` socket's TCP socket (not public API of `ws`, hence optional): corked while an event fans out, and
   * where frames built whole ({@link allocTextFrame}) are written.
   */
  readonly _socket?: { cork(): void; uncork(): void; write(data: Buffer): boolean } | null;
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

const ignoreSendError = (): void => undefined;

/** Frames handed to `ws` are bytes, but graphql-ws speaks text frames: a binary one reaches a browser as a Blob. */
const TEXT_FRAME = { binary: false } as const;

/** WebSocket.OPEN. */
const OPEN = 1;

/**
 * One execution shared by a group: the result, and when it can be sent as is (no errors to format) the end of
 * every member's `next` message as UTF-8: the result's JSON and the message's closing brace. Encoded once per
 * group, and written to each member's socket as it is, after that member's frame header and id.
 */
interface SharedResult {
  readonly result: ExecutionResult;
  readonly messageTail: Buffer | null;
}

interface Group {
  /** The map's key: members refer to this one string instead of each keeping the copy it built (~1 KB each). */
  readonly key: string;
  members: number;
  readonly results: Map<number, Promise<SharedResult> | SharedResult>;
  /** The latest execution once it has settled (groups of several): the others take it without another promise hop. */
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

  private readonly host: MemberHost;

  constructor(maxBufferedBytes: number, logger: Logger) {
    this.host = {
      maxBufferedBytes,
      logger,
      leave: (group) => {
        group.members--;
        if (group.members === 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
      },
    };
  }

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
    const source = await createSourceEventStream(args);
    if (!isAsyncIterator(source)) return source as ExecutionResult;
    const wanted = this.groupKey(args);
    let group = this.groups.get(wanted);
    if (!group) this.groups.set(wanted, (group = { key: wanted, members: 0, results: new Map(), settled: null }));
    group.members++;
    const member = new GroupMember(this.host, group, args, source, channel);
    // While this subscriber is idle, the hub hands it each event synchronously: one shared execution, then the
    // frame, in the feed's own loop over its streams. Going through the iterator instead costs two promise
    // hops per subscriber and event, which with 10,000 subscribers was most of a change's fan-out time.
    if (channel && isChangeStream(source)) source.deliverDirectly(member);
    return member;
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

/** What a member needs of its GroupedSubscriptions. */
interface MemberHost {
  readonly maxBufferedBytes: number;
  readonly logger: Logger;
  leave(group: Group): void;
}

/**
 * One subscriber: the async iterator graphql-ws consumes, and the hub's direct sink while it is idle. A class
 * rather than closures: 10,000 subscriptions each carried ten closures (and, run through tsx, a `name` property
 * defined on each).
 */
class GroupMember implements AsyncIterableIterator<ExecutionResult>, DirectSink {
  private left = false;
  private ended = false;
  private readonly framePrefix: string;
  private readonly framePrefixBytes: number;

  constructor(
    private readonly host: MemberHost,
    private readonly group: Group,
    private readonly args: ExecutionArgs,
    private readonly source: AsyncIterableIterator<ChangeEventValue>,
    private readonly channel: SubscriberChannel | null,
  ) {
    this.framePrefix = channel ? `{"id":${JSON.stringify(channel.id)},"type":"next","payload":` : '';
    this.framePrefixBytes = Buffer.byteLength(this.framePrefix);
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    try {
      for (;;) {
        const step = await this.source.next();
        if (step.done || this.ended) {
          this.leave();
          return { value: undefined, done: true };
        }
        if (this.overBuffered()) {
          this.closeOverBuffered();
          return { value: undefined, done: true };
        }
        const pending = this.run(step.value);
        const shared = pending instanceof Promise ? await pending : pending;
        if (!this.channel || shared.messageTail === null) return { value: shared.result, done: false };
        this.send(shared.messageTail);
      }
    } catch (error) {
      this.leave();
      if (error instanceof SlowConsumerError) {
        this.closeSlow('queued events');
        return { value: undefined, done: true };
      }
      throw error;
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.ended = true;
    this.leave();
    await this.source.return?.();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The hub's direct delivery (see DirectSink): false sends the event through the iterator instead. */
  take(event: ChangeEventValue): boolean {
    if (this.ended) return true;
    if (this.overBuffered()) {
      this.closeOverBuffered();
      return true;
    }
    const shared = this.run(event);
    if (shared instanceof Promise || shared.messageTail === null) return false;
    this.send(shared.messageTail);
    return true;
  }

  /**
   * The group's execution of `event`, shared by its members. Synchronous when graphql-js executes synchronously
   * (the change payloads' resolvers only read the event), which is what lets `take` skip the promises.
   */
  private run(event: ChangeEventValue): Promise<SharedResult> | SharedResult {
    const group = this.group;
    if (group.settled?.seq === event.seq) return group.settled.shared;
    const known = group.results.get(event.seq);
    if (known) return known;
    const settle = (result: ExecutionResult): SharedResult => {
      const value = { result, messageTail: result.errors ? null : Buffer.from(`${JSON.stringify(result)}}`) };
      // Kept for the other members only: a group of one would hold each result until its next event, long
      // enough to be promoted, and 10,000 such groups turned that into major collections mid-fan-out.
      if (group.members > 1 && (group.settled?.seq ?? -1) < event.seq) group.settled = { seq: event.seq, shared: value };
      return value;
    };
    const outcome = execute({ ...this.args, rootValue: event });
    const shared = isPromiseLike(outcome) ? Promise.resolve(outcome).then(settle) : settle(outcome);
    if (group.members > 1 || shared instanceof Promise) group.results.set(event.seq, shared);
    if (group.results.size > RESULTS_KEPT_PER_GROUP) group.results.delete(group.results.keys().next().value!);
    return shared;
  }

  /**
   * Sends an error-free result as this subscriber's `next` frame: its header and id, then the group's shared tail.
   * Written as two buffers into the corked socket (one system call either way), the tail is not copied per
   * subscriber: copied, a change to 10,000 subscribers allocated ~4 MB of frames outside V8's heap, and that much
   * external memory per change started major collections in the middle of fan-outs (BENCHMARKS.md, "25 November").
   */
  private send(messageTail: Buffer): void {
    const socket = this.channel?.socket;
    if (this.ended || !socket || socket.readyState !== OPEN) return;
    corkUntilNextTurn(socket);
    const bodyLength = this.framePrefixBytes + messageTail.length;
    const tcp = socket._socket;
    // Without extensions `ws` writes every message to the socket at once, so a frame written here lands in the
    // same order as graphql-ws's own messages; with one (compression) `ws` may queue, and must frame it itself.
    // A failed write means the socket is closing: graphql-ws ends the operation on close.
    if (tcp && socket.extensions === '') {
      const { frame: head, bodyOffset } = allocTextFrame(bodyLength, this.framePrefixBytes);
      head.write(this.framePrefix, bodyOffset);
      tcp.write(head);
      tcp.write(messageTail);
    } else {
      const body = Buffer.allocUnsafe(bodyLength);
      body.write(this.framePrefix, 0);
      messageTail.copy(body, this.framePrefixBytes);
      socket.send(body, TEXT_FRAME, ignoreSendError);
    }
  }

  private overBuffered(): boolean {
    const socket = this.channel?.socket;
    return socket !== undefined && socket.bufferedAmount > this.host.maxBufferedBytes;
  }

  private closeOverBuffered(): void {
    void this.return();
    this.closeSlow('buffered bytes');
  }

  private closeSlow(reason: string): void {
    this.host.logger.info({ reason }, 'closing a slow subscriber');
    this.channel?.socket.close(SLOW_CONSUMER_CLOSE_CODE, 'Slow consumer: reconnect and resume with since');
  }

  private leave(): void {
    if (this.left) return;
    this.left = true;
    this.host.leave(this.group);
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

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

function isAsyncIterator(value: unknown): value is AsyncIterableIterator<ChangeEventValue> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
