import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { decideAdjustment } from '../../src/domain/inventory/inventory-decisions.js';
import { positionKey, type InventoryPositionRecord } from '../../src/domain/inventory/inventory.types.js';
import { OperationRecorder } from '../../src/domain/changes/operation-recorder.js';
import { movementsOfChanges } from '../../src/domain/inventory/ledger-recorder.js';
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
  writer = new PositionWriter(app.store.repositories.inventoryPositions);
});

afterAll(() => app?.close());

/** The position's movements as a client reads them: the ledger, with those the relay has not written yet. */
const movementsOf = async (sku: string) => (await app.services.inventory.listMovements(app.systemContext(), sku, 'L-1', null, 500, null)).items;
/** Only what the ledger collection holds. */
const ledgerOf = async (sku: string) => (await app.store.repositories.inventoryMovements.list(sku, 'L-1', null, { first: 500, afterKey: null })).items;

/**
 * What the relay does, without one running here: writes the ledger from every pending position change, logs the
 * changes and clears the outboxes. `clear: false` stops after the ledger, as a relay that died there.
 */
async function relayPositionChanges({ clear = true } = {}): Promise<void> {
  const log = app.store.repositories.changeLog;
  const source = OUTBOX_SOURCES.find((candidate) => candidate.entity === 'InventoryPosition')!;
  const documents = await log.readOutboxes(source.collection, await log.pendingOutboxIds(source.collection, 10_000));
  const drafts = documents.flatMap((document) => source.finalize(document, document.outbox!));
  const movements = app.store.repositories.inventoryMovements;
  await new OperationRecorder(movementsOfChanges, (records) => movements.insertManyIfAbsent(records)).derive(drafts);
  if (!clear) return;
  const head = await log.headSeq();
  await log.append(drafts.map(({ operationId: _operationId, ...draft }, index) => ({ ...draft, seq: head + 1 + index, loggedAt: new Date() })), 1);
  await log.removeDrained(source.collection, documents.map((document) => ({ id: document._id, version: Number(document['version']), entries: document.storedOutbox ?? [] })));
}

/** Runs `request` with the store failing right after the positions are written: the request throws, its key is released. */
async function failingAfterThePositionWrite<T>(request: () => Promise<T>): Promise<void> {
  const positions = app.store.repositories.inventoryPositions;
  const applyIfVersions = positions.applyIfVersions;
  positions.applyIfVersions = async (writes) => {
    await applyIfVersions.call(positions, writes);
    throw new Error('connection reset');
  };
  try {
    await expect(request()).rejects.toThrow('connection reset');
  } finally {
    positions.applyIfVersions = applyIfVersions;
  }
}

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

describe('the ledger', () => {
  it('holds every applied change once the relay ran, with nobody retrying the request that made it', async () => {
    const ctx = app.systemContext();
    const [before] = await read();
    await failingAfterThePositionWrite(() => app.services.inventory.adjust(ctx, [{ sku: 'W-1', location: 'L-1', delta: -4, reason: 'DAMAGE', referenceDocument: 'RMA-1' }], 'abandoned'));
    expect((await read())[0]!.onHand).toBe(before!.onHand - 4);
    const expected = { delta: -4, reason: 'DAMAGE', referenceDocument: 'RMA-1', idempotencyKey: 'abandoned', apiKey: 'system', onHandBefore: before!.onHand, onHandAfter: before!.onHand - 4 };
    // Readable at once, from the position's outbox; in the ledger once the relay has it, and only once however
    // often the relay goes over it (one that dies before clearing the outbox, then the next).
    expect((await movementsOf('W-1')).filter((movement) => movement.idempotencyKey === 'abandoned')).toMatchObject([expected]);
    expect((await ledgerOf('W-1')).filter((movement) => movement.idempotencyKey === 'abandoned')).toEqual([]);
    await relayPositionChanges({ clear: false });
    expect((await movementsOf('W-1')).filter((movement) => movement.idempotencyKey === 'abandoned')).toMatchObject([expected]);
    await relayPositionChanges();
    expect((await ledgerOf('W-1')).filter((movement) => movement.idempotencyKey === 'abandoned')).toMatchObject([expected]);
    expect((await movementsOf('W-1')).filter((movement) => movement.idempotencyKey === 'abandoned')).toMatchObject([expected]);
  });

  it('pages through written and not yet written movements in one order, each once, and counts them', async () => {
    const ctx = app.systemContext();
    await relayPositionChanges();
    for (const [index, delta] of [1, 2, 3].entries()) await app.services.inventory.adjust(ctx, [{ sku: 'W-2', location: 'L-1', delta, reason: 'RECEIPT' }], `paged-${index}`);
    await relayPositionChanges({ clear: false }); // the first three written and still pending: both places
    for (const [index, delta] of [4, 5].entries()) await app.services.inventory.adjust(ctx, [{ sku: 'W-2', location: 'L-1', delta, reason: 'RECEIPT' }], `paged-${index + 3}`);
    const all = await movementsOf('W-2');
    expect(all.slice(-5).map((movement) => movement.delta)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(all.map((movement) => movement.id)).size).toBe(all.length);

    const pages: number[][] = [];
    let after: string | null = null;
    for (;;) {
      const page = await app.services.inventory.listMovements(ctx, 'W-2', 'L-1', null, 1, after);
      pages.push(page.items.map((movement) => movement.delta));
      expect(await page.totalCount()).toBe(all.length);
      if (!page.hasNextPage) break;
      after = page.cursorOf(page.items[page.items.length - 1]!);
    }
    expect(pages.flat()).toEqual(all.map((movement) => movement.delta));
    const since = all[all.length - 2]!.at;
    const recent = await app.services.inventory.listMovements(ctx, 'W-2', 'L-1', since, 10, null);
    expect(recent.items.map((movement) => movement.delta)).toEqual(all.filter((movement) => movement.at >= since).map((movement) => movement.delta));
    expect(await recent.totalCount()).toBe(recent.items.length);
  });
});

describe('a request that failed after writing its positions', () => {
  it('is retried under the same key without applying twice, with one movement per item', async () => {
    const ctx = app.systemContext();
    const input = SKUS.map((sku) => ({ sku, location: 'L-1', delta: -2, reason: 'SALE' }));
    const before = await read();
    await failingAfterThePositionWrite(() => app.services.inventory.adjust(ctx, input, 'failed-once'));
    expect((await read()).map((position) => position.onHand)).toEqual(before.map((position) => position.onHand - 2));

    const retried = await app.services.inventory.adjust(ctx, input, 'failed-once');
    expect(retried).toMatchObject({ kind: 'batch', replayed: false });
    expect('items' in retried && retried.items.map((item) => [item.outcome, item.movement?.onHandBefore, item.movement?.onHandAfter])).toEqual(before.map((position) => ['APPLIED', position.onHand, position.onHand - 2]));
    expect((await read()).map((position) => position.onHand)).toEqual(before.map((position) => position.onHand - 2));
    await relayPositionChanges();
    for (const sku of SKUS) expect((await ledgerOf(sku)).filter((movement) => movement.idempotencyKey === 'failed-once').map((movement) => movement.delta)).toEqual([-2]);
  });
});

describe('a resumed request whose operation has left the position', () => {
  it('finds it in the ledger and does not apply it again', async () => {
    const ctx = app.systemContext();
    const [before] = await read();
    // The request applies, then fails (its key is released); the relay writes its movement; the client retries later.
    await failingAfterThePositionWrite(() => app.services.inventory.adjust(ctx, [{ sku: 'W-1', location: 'L-1', delta: -1, reason: 'SALE' }], 'resumed-late'));
    await relayPositionChanges();
    // Meanwhile the position changes a hundred times: the operation leaves its recent operations.
    const receipts = Array.from({ length: 100 }, () => ({ sku: 'W-1', location: 'L-1', delta: 1, reason: 'RECEIPT' }));
    await app.services.inventory.adjust(ctx, receipts, 'hundred-receipts');
    await relayPositionChanges();
    expect([...(await read())[0]!.recentOps].some((op) => op.id.startsWith('system:resumed-late:'))).toBe(false);

    const retried = await app.services.inventory.adjust(ctx, [{ sku: 'W-1', location: 'L-1', delta: -1, reason: 'SALE' }], 'resumed-late');
    expect(retried).toMatchObject({ kind: 'batch', items: [{ outcome: 'APPLIED', movement: { onHandBefore: before!.onHand, onHandAfter: before!.onHand - 1 } }] });
    expect((await read())[0]!.onHand).toBe(before!.onHand - 1 + 100);
    expect((await movementsOf('W-1')).filter((movement) => movement.idempotencyKey === 'resumed-late')).toHaveLength(1);
  });
});

describe('a resumed request whose attempt died after a position write, its operation since pushed out of the position', () => {
  it.each([
    ['still pending in the outbox', 'unledgered-pending', false],
    ['in the ledger, written by the relay', 'unledgered-logged', true],
  ])('finds the change it made (%s), and applies nothing twice', async (_where, key, relayed) => {
    const ctx = app.systemContext();
    await relayPositionChanges();
    const [, , before] = await read();
    // The relay is behind: the attempt's change (and so its movement) is only in the position's outbox.
    await failingAfterThePositionWrite(() => app.services.inventory.adjust(ctx, [{ sku: 'W-3', location: 'L-1', delta: -2, reason: 'SALE' }], key));
    expect((await ledgerOf('W-3')).filter((movement) => movement.idempotencyKey === key)).toHaveLength(0);
    // A hundred changes later the position no longer remembers the operation.
    await app.services.inventory.adjust(ctx, Array.from({ length: 100 }, () => ({ sku: 'W-3', location: 'L-1', delta: 1, reason: 'RECEIPT' })), `${key}-receipts`);
    expect([...(await read())[2]!.recentOps].some((op) => op.id.startsWith(`system:${key}:`))).toBe(false);
    if (relayed) await relayPositionChanges();

    const retried = await app.services.inventory.adjust(ctx, [{ sku: 'W-3', location: 'L-1', delta: -2, reason: 'SALE' }], key);
    expect(retried).toMatchObject({ kind: 'batch', items: [{ outcome: 'APPLIED', movement: { onHandBefore: before!.onHand, onHandAfter: before!.onHand - 2, delta: -2 } }] });
    expect((await read())[2]!.onHand).toBe(before!.onHand - 2 + 100);
    await relayPositionChanges();
    expect((await ledgerOf('W-3')).filter((movement) => movement.idempotencyKey === key)).toMatchObject([{ delta: -2, onHandBefore: before!.onHand, onHandAfter: before!.onHand - 2, reason: 'SALE' }]);
  });
});
