import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { decideAdjustment } from '../../src/domain/inventory/inventory-decisions.js';
import { positionKey, type InventoryPositionRecord } from '../../src/domain/inventory/inventory.types.js';
import { PositionWriter, type PositionOperation } from '../../src/domain/inventory/position-writer.js';
import { createLogger } from '../../src/logging/logger.js';
import { OUTBOX_SOURCES } from '../../src/store/change-finalizers.js';
import { uniqueDbName } from '../utils/test-store.js';

let app: App;
let writer: PositionWriter;
const SKUS = ['W-1', 'W-2', 'W-3'];

const sale = (sku: string, opId: string, delta = -1): PositionOperation => {
  const ids = { skuCode: sku, locationCode: 'L-1' };
  return { index: SKUS.indexOf(sku), opId, ...ids, reason: 'SALE', referenceDocument: null, idempotencyKey: opId, decide: (current) => decideAdjustment(current, delta, 'REJECT', ids) };
};
const read = async (): Promise<InventoryPositionRecord[]> => (await app.store.repositories.inventoryPositions.findByKeys(SKUS.map((sku) => positionKey(sku, 'L-1')))).sort((a, b) => a.skuCode.localeCompare(b.skuCode));

beforeAll(async () => {
  const config = loadConfig({ NODE_ENV: 'test', MONGODB_URI: inject('mongoUri'), MONGODB_DB: uniqueDbName('position_writer'), LOG_LEVEL: 'silent' });
  app = await openApp(config, createLogger('silent'), {});
  const ctx = app.systemContext();
  await app.services.locations.upsert(ctx, [{ code: 'L-1', name: 'L-1', kind: 'STORE', region: 'EU', timezone: 'UTC' }], null);
  await app.services.products.upsert(ctx, [{ code: 'P', title: 'P' }], null);
  await app.services.skus.upsert(ctx, SKUS.map((code) => ({ code, productCode: 'P', title: code })), null);
  await app.services.inventory.adjust(ctx, SKUS.map((sku) => ({ sku, location: 'L-1', delta: 10, reason: 'RECEIPT' })), 'stock');
  writer = new PositionWriter(app.store.repositories.inventoryPositions, app.store.repositories.inventoryMovements);
});

afterAll(() => app?.close());

describe('writing a batch of positions in one round trip', () => {
  it('applies each operation once when some compare-and-sets lose a race: the written ones find themselves recorded, the others decide again', async () => {
    const ctx = app.systemContext();
    const before = await read();
    // Another writer changes W-2 after the batch read it: its compare-and-set fails, the others go through.
    await writer.apply(ctx, sale('W-2', 'elsewhere'), before[1]!);

    const items = await writer.applyMany(ctx, SKUS.map((sku, index) => ({ operation: sale(sku, `batch:${index}`), current: before[index]! })));

    expect(items.map((item) => [item.outcome, item.movement?.onHandBefore, item.movement?.onHandAfter])).toEqual([
      ['APPLIED', 10, 9],
      ['APPLIED', 9, 8], // decided again on the value the other writer left
      ['APPLIED', 10, 9],
    ]);
    const after = await read();
    expect(after.map((position) => position.onHand)).toEqual([9, 8, 9]);
    expect(after.map((position) => [...position.recentOps].filter((op) => op.id.startsWith('batch:')).length)).toEqual([1, 1, 1]);

    // The same batch again (a retry) changes nothing and reports the same applied items.
    const again = await writer.applyMany(ctx, SKUS.map((sku, index) => ({ operation: sale(sku, `batch:${index}`), current: after[index]! })));
    expect(again.map((item) => [item.outcome, item.movement?.onHandBefore, item.movement?.onHandAfter])).toEqual(items.map((item) => [item.outcome, item.movement?.onHandBefore, item.movement?.onHandAfter]));
    expect((await read()).map((position) => position.version)).toEqual(after.map((position) => position.version));
  });

  it('reports rejected and unchanged items without writing them, and writes the rest', async () => {
    const ctx = app.systemContext();
    const before = await read();
    const items = await writer.applyMany(ctx, [
      { operation: sale('W-1', 'mixed:0', -1_000), current: before[0]! },
      { operation: sale('W-2', 'mixed:1', 0), current: before[1]! },
      { operation: sale('W-3', 'mixed:2', -2), current: before[2]! },
    ]);
    expect(items.map((item) => item.outcome).sort()).toEqual(['APPLIED', 'REJECTED', 'UNCHANGED']);
    expect((await read()).map((position) => position.onHand)).toEqual([before[0]!.onHand, before[1]!.onHand, before[2]!.onHand - 2]);
  });

  it('recognises operations recorded in the older sub-document form', async () => {
    const ctx = app.systemContext();
    const [position] = await read();
    const at = new Date();
    await app.store.connection.collection('inventory_positions').updateOne({ _id: position!.key } as never, { $push: { recentOps: { id: 'legacy:0', delta: -3, onHandBefore: 12, onHandAfter: 9, flags: [], at } } } as never);

    const [retried] = await writer.applyMany(ctx, [{ operation: sale('W-1', 'legacy:0', -3), current: (await read())[0]! }]);
    expect(retried).toMatchObject({ outcome: 'APPLIED', movement: { onHandBefore: 12, onHandAfter: 9 } });
    expect((await read())[0]!.onHand).toBe(position!.onHand);
  });
});

describe('a request that failed after writing its positions', () => {
  it('is retried under the same key without applying twice, and its ledger is written then', async () => {
    const ctx = app.systemContext();
    const input = SKUS.map((sku) => ({ sku, location: 'L-1', delta: -2, reason: 'SALE' }));
    const before = await read();
    // The ledger write fails (a store error): the positions are written, the request throws and its key is released.
    const movements = app.store.repositories.inventoryMovements;
    const insertMany = movements.insertManyIfAbsent;
    movements.insertManyIfAbsent = () => Promise.reject(new Error('store hiccup'));
    try {
      await expect(app.services.inventory.adjust(ctx, input, 'failed-once')).rejects.toThrow('store hiccup');
    } finally {
      movements.insertManyIfAbsent = insertMany;
    }
    expect((await read()).map((position) => position.onHand)).toEqual(before.map((position) => position.onHand - 2));

    const retried = await app.services.inventory.adjust(ctx, input, 'failed-once');
    expect(retried).toMatchObject({ kind: 'batch', replayed: false });
    expect('items' in retried && retried.items.map((item) => [item.outcome, item.movement?.onHandBefore, item.movement?.onHandAfter])).toEqual(before.map((position) => ['APPLIED', position.onHand, position.onHand - 2]));
    expect((await read()).map((position) => position.onHand)).toEqual(before.map((position) => position.onHand - 2));
    for (const sku of SKUS) {
      const ledger = await movements.list(sku, 'L-1', null, { first: 100, afterKey: null });
      expect(ledger.items.filter((movement) => movement.idempotencyKey === 'failed-once').map((movement) => movement.delta)).toEqual([-2]);
    }
  });
});

describe('a resumed request whose operation has left the position', () => {
  it('finds it in the ledger and does not apply it again', async () => {
    const ctx = app.systemContext();
    const [before] = await read();
    // The request applies and writes its movement, then fails (its key is released): the client retries it later.
    const movements = app.store.repositories.inventoryMovements;
    const insertMany = movements.insertManyIfAbsent;
    movements.insertManyIfAbsent = async (written) => {
      await insertMany.call(movements, written);
      throw new Error('connection reset');
    };
    try {
      await expect(app.services.inventory.adjust(ctx, [{ sku: 'W-1', location: 'L-1', delta: -1, reason: 'SALE' }], 'resumed-late')).rejects.toThrow('connection reset');
    } finally {
      movements.insertManyIfAbsent = insertMany;
    }
    // Meanwhile the position changes a hundred times: the operation leaves its recent operations.
    const receipts = Array.from({ length: 100 }, () => ({ sku: 'W-1', location: 'L-1', delta: 1, reason: 'RECEIPT' }));
    await app.services.inventory.adjust(ctx, receipts, 'hundred-receipts');
    expect([...(await read())[0]!.recentOps].some((op) => op.id.startsWith('system:resumed-late:'))).toBe(false);

    const retried = await app.services.inventory.adjust(ctx, [{ sku: 'W-1', location: 'L-1', delta: -1, reason: 'SALE' }], 'resumed-late');
    expect(retried).toMatchObject({ kind: 'batch', items: [{ outcome: 'APPLIED', movement: { onHandBefore: before!.onHand, onHandAfter: before!.onHand - 1 } }] });
    expect((await read())[0]!.onHand).toBe(before!.onHand - 1 + 100);
    const ledger = await movements.list('W-1', 'L-1', null, { first: 500, afterKey: null });
    expect(ledger.items.filter((movement) => movement.idempotencyKey === 'resumed-late')).toHaveLength(1);
  });
});

describe('a resumed request whose attempt died between a position write and its ledger write', () => {
  /** The first attempt writes the position, then fails before its movement is written: the key is released. */
  async function failBeforeTheLedger(key: string): Promise<void> {
    const movements = app.store.repositories.inventoryMovements;
    const insertMany = movements.insertManyIfAbsent;
    movements.insertManyIfAbsent = () => Promise.reject(new Error('connection reset'));
    try {
      await expect(app.services.inventory.adjust(app.systemContext(), [{ sku: 'W-3', location: 'L-1', delta: -2, reason: 'SALE' }], key)).rejects.toThrow('connection reset');
    } finally {
      movements.insertManyIfAbsent = insertMany;
    }
  }

  /** What the relay does, without one running here: moves every pending position change to the change log. */
  async function relayPositionChanges(): Promise<void> {
    const log = app.store.repositories.changeLog;
    const source = OUTBOX_SOURCES.find((candidate) => candidate.entity === 'InventoryPosition')!;
    const documents = await log.readOutboxes(source.collection, await log.pendingOutboxIds(source.collection, 10_000));
    const head = await log.headSeq();
    const drafts = documents.flatMap((document) => source.finalize(document, document.outbox!));
    await log.append(drafts.map((draft, index) => ({ ...draft, seq: head + 1 + index, loggedAt: new Date() })), 1);
    await log.removeDrained(source.collection, documents.map((document) => ({ id: document._id, version: Number(document['version']), entries: document.storedOutbox ?? [] })));
  }

  it.each([
    ['still pending in the outbox', 'unledgered-pending', false],
    ['logged by the relay', 'unledgered-logged', true],
  ])('finds the change it made (%s) after the operation left the position, and applies nothing twice', async (_where, key, relayed) => {
    const ctx = app.systemContext();
    const [, , before] = await read();
    await failBeforeTheLedger(key);
    const ledger = () => app.store.repositories.inventoryMovements.list('W-3', 'L-1', null, { first: 500, afterKey: null });
    expect((await ledger()).items.filter((movement) => movement.idempotencyKey === key)).toHaveLength(0);
    // A hundred changes later the position no longer remembers the operation.
    await app.services.inventory.adjust(ctx, Array.from({ length: 100 }, () => ({ sku: 'W-3', location: 'L-1', delta: 1, reason: 'RECEIPT' })), `${key}-receipts`);
    expect([...(await read())[2]!.recentOps].some((op) => op.id.startsWith(`system:${key}:`))).toBe(false);
    if (relayed) await relayPositionChanges();

    const retried = await app.services.inventory.adjust(ctx, [{ sku: 'W-3', location: 'L-1', delta: -2, reason: 'SALE' }], key);
    expect(retried).toMatchObject({ kind: 'batch', items: [{ outcome: 'APPLIED', movement: { onHandBefore: before!.onHand, onHandAfter: before!.onHand - 2, delta: -2 } }] });
    expect((await read())[2]!.onHand).toBe(before!.onHand - 2 + 100);
    // The missing movement is written once, with the quantities of the change the first attempt made.
    const written = (await ledger()).items.filter((movement) => movement.idempotencyKey === key);
    expect(written).toMatchObject([{ delta: -2, onHandBefore: before!.onHand, onHandAfter: before!.onHand - 2, reason: 'SALE' }]);
  });
});
