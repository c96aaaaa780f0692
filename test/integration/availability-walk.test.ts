import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { systemOrigin } from '../../src/domain/changes/change-event.js';
import { createLogger } from '../../src/logging/logger.js';
import { uniqueDbName } from '../utils/test-store.js';

let app: App;
const SKUS = ['S-1', 'S-2', 'S-3'];

const channel = (inventoryBuffer: number) => app.services.channels.upsert(app.systemContext(), [{ code: 'C', name: 'C', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: ['L-1'], inventoryBuffer }], null);
const stored = async () => (await app.store.repositories.channelAvailability.findByKeys(SKUS.map((sku) => `C:${sku}`))).sort((a, b) => a.skuCode.localeCompare(b.skuCode)).map((record) => record.availableToSell);

beforeAll(async () => {
  const config = loadConfig({ NODE_ENV: 'test', MONGODB_URI: inject('mongoUri'), MONGODB_DB: uniqueDbName('availability_walk'), LOG_LEVEL: 'silent' });
  app = await openApp(config, createLogger('silent'), { changeFeed: true });
  const ctx = app.systemContext();
  await app.services.locations.upsert(ctx, [{ code: 'L-1', name: 'L-1', kind: 'STORE', region: 'EU', timezone: 'UTC' }], null);
  await channel(0);
  await app.services.products.upsert(ctx, [{ code: 'P', title: 'P' }], null);
  await app.services.skus.upsert(ctx, SKUS.map((code) => ({ code, productCode: 'P', title: code })), null);
  await app.services.inventory.adjust(ctx, SKUS.map((sku) => ({ sku, location: 'L-1', delta: 10, reason: 'RECEIPT' })), 'stock');
  await app.changeFeed!.settle();
});

afterAll(() => app?.close());

describe("a channel's available-to-sell after the channel changes", () => {
  it('is derived again for every SKU when the buffer changes', async () => {
    expect(await stored()).toEqual([10, 10, 10]);
    await channel(3);
    await app.changeFeed!.settle();
    await expect.poll(stored).toEqual([7, 7, 7]);
    expect(await app.store.repositories.availabilityRederivations.next()).toBeNull();
  });

  it('continues a walk a relay left half-way from where it stopped, on the next relay', async () => {
    const { relay } = app.changeFeed!;
    await relay.stop();
    // The channel changes while no relay runs; the relay that died had requested the walk and done S-1 only.
    await channel(5);
    const { version } = (await app.store.repositories.channels.findByKey('C'))!;
    const walks = app.store.repositories.availabilityRederivations;
    await walks.request('C', version, systemOrigin('API'), new Date());
    await walks.advance((await walks.next())!, 'S-1', new Date());

    await relay.start();
    await app.changeFeed!.settle();
    // The logged channel change asks for the same walk again, which keeps its place (or, if the relay finished
    // the walk on taking its lease before it logged the change, is already done): S-1 is not redone.
    await expect.poll(stored).toEqual([7, 5, 5]);
    await expect.poll(() => walks.next()).toBeNull();
    await walks.request('C', version, systemOrigin('API'), new Date());
    expect(await walks.next()).toBeNull();
  });
});
