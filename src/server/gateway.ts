import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { RequestContext } from '../domain/common/request-context.js';
import type { Services } from '../domain/services.js';
import type { Store } from '../store/connection.js';
import { createContextFactory } from './context.js';
import { createErrorFormatter } from './errors.js';
import { createHttpHandler } from './http.js';
import { limitRules } from './limits.js';
import { Metrics } from './metrics.js';
import { buildSchema } from './schema.js';
import { attachWebSocketServer } from './ws.js';

export interface GatewayDeps {
  readonly config: Config;
  readonly store: Store;
  readonly services: Services;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

type Phase = { readonly phase: 'starting' } | { readonly phase: 'listening'; readonly url: string } | { readonly phase: 'draining' } | { readonly phase: 'stopped' };

export interface Gateway {
  /** http://host:port/graphql — also the WebSocket endpoint (ws://…). */
  readonly url: string;
  readonly port: number;
  /**
   * Drains: stops accepting, lets in-flight requests finish (up to the grace period), closes WebSockets.
   * The store is the caller's to close afterwards. Safe to call twice.
   */
  stop(): Promise<void>;
}

/** Starts Apollo Server (HTTP) and graphql-ws on one port and path. */
export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  const { config, logger } = deps;
  const schema = buildSchema();
  const httpServer: Server = createServer();
  // An idle keep-alive connection that the server closes just as a client sends on it fails that request
  // (ECONNRESET). Clients and load balancers reuse idle connections for up to ~60 s (AWS ALB's default), so the
  // server must keep them longer than that, not Node's default of 5 s; headers may take as long on such a socket.
  httpServer.keepAliveTimeout = config.keepAliveTimeoutMs;
  httpServer.headersTimeout = config.keepAliveTimeoutMs + 1_000;
  const contextFactory = createContextFactory({ services: deps.services, repositories: deps.store.repositories, logger });
  const formatError = createErrorFormatter(logger);
  const webSockets = attachWebSocketServer({ httpServer, schema, contextFactory, limits: config.limits, introspection: config.introspection, formatError, logger, metrics: deps.metrics, maxBufferedBytes: config.changes.maxBufferedBytes });

  const apollo = new ApolloServer<RequestContext>({
    schema,
    formatError,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: true,
    allowBatchedHttpRequests: false,
    // main.ts owns shutdown (drain, then close the store); Apollo's own handler would re-raise the signal.
    stopOnTerminationSignals: false,
    parseOptions: { maxTokens: config.limits.maxTokens },
    validationRules: limitRules(config.limits),
    logger,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownGraceMs }),
      { serverWillStart: async () => ({ drainServer: () => webSockets.dispose() }) },
      // Costs a third of throughput and we set no cache hints (ARCHITECTURE.md).
      ApolloServerPluginCacheControlDisabled(),
      config.env === 'development' ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      deps.metrics.apolloPlugin(),
    ],
  });
  await apollo.start();
  let state: Phase = { phase: 'starting' };

  httpServer.on('request', createHttpHandler({ apollo, contextFactory, metrics: deps.metrics, logger, maxBodyBytes: config.limits.maxBodyBytes, isReady: async () => state.phase === 'listening' && (await deps.store.ping()) }));
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/graphql`;
  state = { phase: 'listening', url };
  let stopping: Promise<void> | null = null;

  return {
    url,
    port,
    stop() {
      stopping ??= (async () => {
        state = { phase: 'draining' };
        await apollo.stop();
        state = { phase: 'stopped' };
        logger.debug({ phase: state.phase }, 'gateway stopped');
      })();
      return stopping;
    },
  };
}
