import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Limits } from '../config/config.js';
import { bearerToken, requestIdFrom, type ContextFactory } from './context.js';
import { hideSchemaDetails } from './errors.js';
import { LRUCache } from 'lru-cache';
import { limitRules } from './limits.js';
import type { Metrics } from './metrics.js';
import { GroupedSubscriptions, type SubscriberChannel } from './subscription-execution.js';

/** Distinct operation texts kept parsed and validated; clients send a handful, attackers get evicted. */
const DOCUMENT_CACHE_ENTRIES = 1_000;

export interface WebSocketDeps {
  readonly httpServer: Server;
  readonly schema: GraphQLSchema;
  readonly contextFactory: ContextFactory;
  readonly limits: Limits;
  /** As on HTTP: off in production. */
  readonly introspection: boolean;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** A socket with more unsent bytes than this is a slow consumer: closed with 4429. */
  readonly maxBufferedBytes: number;
}

/**
 * graphql-ws on the HTTP server's port and path. graphql-ws runs none of Apollo's plugins, validation rules or
 * error formatting, so the same API-key check, limits and masking are wired in here: without them a deep
 * cyclic query over the socket would be executed unchecked.
 *
 * Authentication happens in connection_init (`{ authorization: "Bearer <key>" }`); a socket without a valid
 * key is closed with 4403 Forbidden before any operation runs.
 */
export function attachWebSocketServer(deps: WebSocketDeps) {
  // No compression (ws's default, said out loud): subscription results are written as whole frames, which only
  // an uncompressed socket takes (subscription-execution.ts), and 10,000 deflates per change would cost more.
  const wss = new WebSocketServer({ server: deps.httpServer, path: '/graphql', maxPayload: deps.limits.maxBodyBytes, perMessageDeflate: false });
  const rules = [...specifiedRules, ...limitRules(deps.limits), ...(deps.introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  // The key presented in connection_init, re-checked (through the auth cache) for every operation, so a revoked
  // key stops working on open sockets too.
  const tokens = new WeakMap<object, string>();

  const format = (errors: readonly GraphQLError[]) => errors.map((error) => deps.formatError(error.toJSON(), error));
  const grouped = new GroupedSubscriptions(deps.maxBufferedBytes, deps.logger);
  // Parsed and validated documents by query text: every storefront sends the same subscription, and sharing the
  // document object also lets GroupedSubscriptions key groups without printing each subscriber's copy
  // (measured ~14 KB of AST per subscription without it). Validation depends only on the schema and the rules.
  const documents = new LRUCache<string, { document: DocumentNode } | { errors: readonly GraphQLError[] }>({ max: DOCUMENT_CACHE_ENTRIES });
  const prepare = (query: string) => {
    let prepared = documents.get(query);
    if (!prepared) {
      try {
        const document = parse(query, { maxTokens: deps.limits.maxTokens });
        const errors = validate(deps.schema, document, rules);
        prepared = errors.length > 0 ? { errors: errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) } : { document };
      } catch (error) {
        prepared = { errors: [withCode(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')] };
      }
      documents.set(query, prepared);
    }
    return prepared;
  };
  // The socket and operation id of each operation's context: the subscription executor sends frames to it and
  // closes a slow consumer's socket.
  const channels = new WeakMap<object, SubscriberChannel>();

  const cleanup = useServer(
    {
      schema: deps.schema,
      onConnect: async (ctx) => {
        // graphql-ws keeps the upgrade request (headers, parser state) in every socket's context for as long as it
        // is open; nothing here reads it after the upgrade, and it is a share of the memory each open socket costs.
        (ctx.extra as { request?: unknown }).request = undefined;
        const params = ctx.connectionParams ?? {};
        const token = bearerToken(params['authorization'] ?? params['Authorization']);
        try {
          await deps.contextFactory.authenticate(token);
          tokens.set(ctx, token!);
          return true;
        } catch {
          return false;
        }
      },
      subscribe: (args) => grouped.subscribe(args, channels.get(args.contextValue as object) ?? null),
      onSubscribe: async (ctx, id, payload) => {
        const caller = await deps.contextFactory.authenticate(tokens.get(ctx) ?? null).catch(() => null);
        if (!caller) return [new GraphQLError('A valid API key is required.', { extensions: { code: 'UNAUTHENTICATED' } })];
        const prepared = prepare(payload.query);
        if ('errors' in prepared) return [...prepared.errors];
        const { document } = prepared;
        const requestId = requestIdFrom(undefined);
        const contextValue = deps.contextFactory.build(requestId, caller);
        channels.set(contextValue, { socket: ctx.extra.socket, id });
        const operation = getOperationAST(document, payload.operationName);
        deps.metrics.graphqlOperations.inc({ operation: deps.metrics.operationLabel(operation?.name?.value ?? null), type: `ws:${operation?.operation ?? 'unknown'}`, outcome: 'started' });
        deps.logger.debug({ requestId, key: caller.name, operation: operation?.name?.value ?? null, type: operation?.operation }, 'websocket operation');
        return {
          schema: deps.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : result),
    },
    wss,
  );

  return {
    /** Closes every socket (clients reconnect to another replica) and stops accepting new ones. */
    async dispose(): Promise<void> {
      await cleanup.dispose();
    },
  };
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(hideSchemaDetails(error.message), { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}
