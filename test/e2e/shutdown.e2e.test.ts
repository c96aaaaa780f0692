import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { App } from '../../src/app/app.js';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process.js';
import { graphqlClient } from '../utils/graphql-client.js';
import { createKey, openTestApp, uniqueDbName } from '../utils/test-store.js';
import { upsertProducts } from './operations.js';

let app: App;
let gateway: GatewayProcess;
let key: string;

beforeAll(async () => {
  const dbName = uniqueDbName('shutdown');
  app = await openTestApp(dbName);
  key = await createKey(app, 'erp', ['catalog:read', 'catalog:write']);
  gateway = await startGatewayProcess({ env: { MONGODB_URI: inject('mongoUri'), MONGODB_DB: dbName, FAILPOINTS: 'http.request-read=pause' } });
});

afterAll(async () => {
  gateway?.process.kill('SIGKILL');
  await app?.close();
});

describe('graceful shutdown', () => {
  it('finishes a request that is in flight when SIGTERM arrives, then exits 0', async () => {
    const response = graphqlClient(gateway.url, key)(upsertProducts, { input: [{ code: 'IN-FLIGHT', title: 'Finished during drain' }] });
    await gateway.waitForOutput(/"msg":"failpoint paused"/);

    gateway.process.kill('SIGTERM');
    await gateway.waitForOutput(/"msg":"draining"/);
    gateway.process.kill('SIGUSR2'); // let the paused request go on

    const result = await response;
    expect(result.status).toBe(200);
    expect(result.data?.upsertProducts).toMatchObject({ items: [{ outcome: 'CREATED' }] });
    expect(await gateway.exited()).toBe(0);

    const lines = gateway.output.map((line) => (line.startsWith('{') ? (JSON.parse(line) as { msg: string }).msg : line));
    expect(lines.indexOf('draining')).toBeLessThan(lines.lastIndexOf('request'));
    expect(lines.at(-1)).toBe('stopped');
    expect(await app.services.products.get(app.systemContext(), 'IN-FLIGHT')).toMatchObject({ title: 'Finished during drain' });
  });
});
