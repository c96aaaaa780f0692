import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deferred } from '../utils/deferred.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient, operation } from '../utils/graphql-client.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { startCatalogGateway, type CatalogGateway } from './fixture.js';
import { upsertProducts, viewer } from './operations.js';
import { inject } from 'vitest';

let fx: CatalogGateway;

beforeAll(async () => {
  // No auth cache, so a revocation is seen by the next operation.
  fx = await startCatalogGateway('operations', { AUTH_CACHE_TTL_MS: '0', MONGODB_COMMAND_METRICS: 'true' });
});

afterAll(() => fx?.close());

const DEEP_QUERY = `{ skus { nodes { product { skus { product { skus { product { skus { product { skus { code } } } } } } } } } } }`;
const ALIASES_QUERY = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: viewer { name }`).join(' ')} }`;
const MANY_TOKENS_QUERY = `{ viewer { ${Array.from({ length: 6000 }, () => 'name').join(' ')} } }`;

describe('operational endpoints', () => {
  it('answers /healthz and /readyz', async () => {
    const base = new URL(fx.gateway.url);
    expect((await fetch(new URL('/healthz', base))).status).toBe(200);
    const ready = await fetch(new URL('/readyz', base));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('exposes HTTP, GraphQL and MongoDB metrics', async () => {
    await fx.erp(viewer);
    const text = await fx.metrics();
    expect(text).toMatch(/^http_requests_total\{route="\/graphql",method="POST",status="200"\} \d+/m);
    expect(text).toMatch(/^graphql_operations_total\{operation="Viewer",type="query",outcome="success"\} \d+/m);
    expect(text).toMatch(/^graphql_operation_duration_seconds_bucket\{/m);
    expect(text).toMatch(/^mongodb_commands_total\{command="find"\} \d+/m);
  });

  it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
    const kept = await fx.erp(viewer, undefined, { 'x-request-id': 'erp-batch-42' });
    expect(kept.headers.get('x-request-id')).toBe('erp-batch-42');
    const replaced = await fx.erp(viewer, undefined, { 'x-request-id': 'bad id with spaces' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // The log line travels through the gateway's stdout pipe and may arrive after the response.
    await expect(fx.gateway.waitForOutput(/"requestId":"erp-batch-42"/)).resolves.toContain('erp-batch-42');
  });

  it('answers 404 for other paths', async () => {
    expect((await fetch(new URL('/nope', fx.gateway.url))).status).toBe(404);
  });
});

describe('limits over HTTP', () => {
  it.each([
    ['depth', DEEP_QUERY, /depth limit/i],
    ['aliases', ALIASES_QUERY, /aliases limit/i],
  ])('refuses a query over the %s limit with 400', async (_, query, message) => {
    const response = await fx.erp(operation(query));
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.errors?.[0]?.message).toMatch(message);
  });

  it('admits a full 500-item page with nested fields, with first as a literal', async () => {
    const response = await fx.analyst(operation(`{ skus(first: 500) { edges { cursor node { code title status barcodes attributes { key value } product { code title status } mappings { channelCode externalVariantId externalProductId } } } pageInfo { hasNextPage endCursor } totalCount } }`));
    expect(response.errors).toBeUndefined();
  });

  it('refuses many aliased 500-item pages by cost', async () => {
    const page = 'skus(first: 500) { nodes { code title product { code title } mappings { channelCode externalVariantId } } }';
    const response = await fx.analyst(operation(`{ ${Array.from({ length: 10 }, (_, i) => `p${i}: ${page}`).join(' ')} }`));
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.message).toMatch(/cost limit/i);
  });

  it('refuses a query over the token limit with 400, not 500', async () => {
    const response = await fx.erp(operation(MANY_TOKENS_QUERY));
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('answers a syntax error with 400 and no stack trace', async () => {
    const response = await fx.erp(operation('{ viewer { '));
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.errors)).not.toMatch(/stacktrace|at .*\.ts/);
  });

  it('hides field suggestions', async () => {
    const response = await fx.erp(operation('{ viewer { nam } }'));
    expect(response.errors?.[0]?.message).toBe('Cannot query field "nam" on type "Viewer".');
  });
});

describe('GraphQL over WebSocket', () => {
  const clients: Client[] = [];
  const connect = (key: string | null) => {
    const closed = deferred<number>();
    const client = createClient({
      url: fx.gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: key ? { authorization: `Bearer ${key}` } : {},
      // Keep one socket for all operations, so checks that run per operation are what is tested.
      lazy: false,
      // Refused connections are asserted through the `closed` event, not logged.
      onNonLazyError: () => undefined,
      retryAttempts: 0,
      on: { closed: (event) => closed.resolve((event as { code: number }).code) },
    });
    clients.push(client);
    return { client, closed: closed.promise };
  };
  const run = async (client: Client, query: string) => {
    const results: { data?: unknown; errors?: readonly { message: string; extensions?: { code?: string } }[] }[] = [];
    try {
      for await (const result of client.iterate({ query })) results.push(result as (typeof results)[number]);
    } catch (error) {
      return { errors: error as readonly { message: string; extensions?: { code?: string } }[] };
    }
    return results[0]!;
  };

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
  });

  it('serves queries on the same port and path to a socket with a valid key', async () => {
    const { client } = connect(fx.keys.analyst);
    expect(await run(client, '{ viewer { name } }')).toEqual({ data: { viewer: { name: 'analyst' } } });
  });

  it('closes a socket without a valid key with 4403 before any operation runs', async () => {
    const { client, closed } = connect('rsg_nope');
    const result = run(client, '{ viewer { name } }');
    expect(await closed).toBe(4403);
    await result.catch(() => undefined);
  });

  it.each([
    ['depth', DEEP_QUERY, 'GRAPHQL_VALIDATION_FAILED'],
    ['aliases', ALIASES_QUERY, 'GRAPHQL_VALIDATION_FAILED'],
    ['tokens', MANY_TOKENS_QUERY, 'GRAPHQL_PARSE_FAILED'],
  ])('applies the %s limit as HTTP does', async (_, query, code) => {
    const { client } = connect(fx.keys.analyst);
    const result = await run(client, query);
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
  });

  it('stops serving a key on an open socket once it is revoked', async () => {
    const key = await createKey(fx.app, 'soon-revoked', ['catalog:read']);
    const { client } = connect(key);
    expect(await run(client, '{ viewer { name } }')).toEqual({ data: { viewer: { name: 'soon-revoked' } } });
    await fx.app.services.apiKeys.revoke(fx.app.systemContext(), key.split('_')[1]!);
    const afterRevocation = await run(client, '{ viewer { name } }');
    expect(afterRevocation.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('enforces scopes', async () => {
    const { client } = connect(fx.keys.analyst);
    const result = await run(client, 'mutation { upsertProducts(input: [{ code: "WS-1", title: "x" }]) { __typename } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('hides field suggestions', async () => {
    const { client } = connect(fx.keys.analyst);
    const result = await run(client, '{ viewer { nam } }');
    expect(result.errors?.[0]?.message).toBe('Cannot query field "nam" on type "Viewer".');
  });
});

describe('production mode', () => {
  let gateway: GatewayProcess;
  let key: string;

  beforeAll(async () => {
    const dbName = uniqueDbName('production');
    const app = await openTestApp(dbName);
    key = await createKey(app, 'erp', ['catalog:read', 'catalog:write']);
    await app.close();
    gateway = await startGatewayProcess({ env: { NODE_ENV: 'production', MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName } });
  });

  afterAll(() => gateway?.stop());

  it('refuses introspection', async () => {
    const response = await graphqlClient(gateway.url, key)(operation('{ __schema { types { name } } }'));
    expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses introspection over the WebSocket too', async () => {
    const closed = deferred<void>();
    const client = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, on: { closed: () => closed.resolve() } });
    const errors = await (async () => {
      try {
        for await (const _ of client.iterate({ query: '{ __schema { types { name } } }' })) return null;
      } catch (error) {
        return error as readonly { extensions?: { code?: string } }[];
      }
      return null;
    })();
    await client.dispose();
    expect(errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('serves no landing page', async () => {
    const response = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toMatch(/<html/i);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const write = graphqlClient(gateway.url, key)(upsertProducts, { input: [{ code: 'LAST', title: 'x' }] });
    await write;
    const code = await gateway.stop();
    expect(code).toBe(0);
    expect(gateway.output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });
});
