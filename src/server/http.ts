import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/common/request-context.js';
import type { ContextFactory } from './context.js';
import { bearerToken, requestIdFrom } from './context.js';
import type { Metrics } from './metrics.js';
import { failpoint } from '../faults/failpoints.js';

export interface HttpHandlerDeps {
  readonly apollo: ApolloServer<RequestContext>;
  readonly contextFactory: ContextFactory;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** True when the store answers; /readyz turns 503 otherwise so a load balancer stops sending traffic. */
  readonly isReady: () => Promise<boolean>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ROUTES = new Set(['/graphql', '/healthz', '/readyz', '/metrics']);

/**
 * The node:http handler: GraphQL through Apollo's HTTP API (no framework needed for four routes), plus the
 * operational endpoints. Every response carries the request id it was logged under.
 */
export function createHttpHandler(deps: HttpHandlerDeps) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const route = ROUTES.has(url.pathname) ? url.pathname : 'other';
    res.setHeader('x-request-id', requestId);
    try {
      switch (route) {
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' });
        case '/readyz':
          return (await deps.isReady()) ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'store unreachable' });
        case '/metrics':
          res.setHeader('content-type', deps.metrics.registry.contentType);
          res.end(await deps.metrics.registry.metrics());
          return;
        case '/graphql':
          return await serveGraphql(deps, req, res, url, requestId);
        default:
          return sendJson(res, 404, { errors: [{ message: `No route ${url.pathname}; GraphQL is served at /graphql.`, extensions: { code: 'NOT_FOUND' } }] });
      }
    } catch (error) {
      if (error instanceof HttpError) return sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code: error.code } }] });
      deps.logger.error({ err: error, requestId }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    } finally {
      const labels = { route, method: req.method ?? 'UNKNOWN', status: String(res.statusCode) };
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.httpRequests.inc(labels);
      deps.metrics.httpDuration.observe(labels, seconds);
      if (route === '/graphql') deps.logger.info({ requestId, method: req.method, path: url.pathname, status: res.statusCode, durationMs: Math.round(seconds * 1e4) / 10 }, 'request');
    }
  };
}

async function serveGraphql(deps: HttpHandlerDeps, req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<void> {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const body = method === 'POST' ? parseBody(await readBody(req, deps.maxBodyBytes), headers.get('content-type')) : undefined;
  await failpoint('http.request-read');
  const response = await deps.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers, search: url.search, body },
    context: async () => deps.contextFactory.build(requestId, await deps.contextFactory.authenticate(bearerToken(req.headers.authorization))),
  });
  res.statusCode = response.status ?? 200;
  for (const [name, value] of response.headers) res.setHeader(name, value);
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  // Apollo's CSRF prevention rejects non-JSON bodies; only JSON needs parsing here.
  if (!contentType?.toLowerCase().startsWith('application/json')) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'The request body is not valid JSON.');
  }
}

/** Reads the body up to `limit` bytes; a larger one is refused with 413 before it is buffered. */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
