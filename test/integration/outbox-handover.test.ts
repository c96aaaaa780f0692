import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.js';
import { outboxEntry, systemOrigin } from '../../src/domain/changes/change-event.js';
import { positionKey, type ChannelAvailabilityRecord } from '../../src/domain/inventory/inventory.types.js';
import { OUTBOX_SOURCES } from '../../src/store/change-finalizers.js';
import { OUTBOX_COLLECTIONS, type WrittenOutbox } from '../../src/store/outbox.js';
import { outboxDocumentAsWritten, type OutboxDocumentValue } from '../../src/store/repositories/change-log.repository.js';
import { openTestApp, uniqueDbName } from '../utils/test-store.js';

/**
 * A writer that knows the document it wrote hands it to the relay of its process, which logs it without reading
 * it back (outbox.ts, WrittenOutbox). That is only right if the handed document is exactly what the read would
 * return: these tests write through the services and repositories in random orders, with the relay's clean-up
 * in between, and compare every handed document with a read of the store right after its write.
 */
let app: App;
const SKUS = ['H-1', 'H-2', 'H-3'];
const LOCATION = 'L-H';
const POSITIONS = OUTBOX_COLLECTIONS.InventoryPosition;
const AVAILABILITY = OUTBOX_COLLECTIONS.ChannelAvailability;

interface Signal {
  readonly collection: string;
  readonly id: string;
  readonly written: WrittenOutbox | null;
}
let signals: Signal[] = [];

beforeAll(async () => {
  app = await openTestApp(uniqueDbName('outbox_handover')); // no change feed: nothing drains but the test
  const ctx = app.systemContext();
  await app.services.locations.upsert(ctx, [{ code: LOCATION, name: LOCATION, kind: 'STORE', region: 'EU', timezone: 'UTC' }], null);
  await app.services.products.upsert(ctx, [{ code: 'HP', title: 'HP' }], null);
  await app.services.skus.upsert(ctx, SKUS.map((code) => ({ code, productCode: 'HP', title: code })), null);
  await app.services.channels.upsert(ctx, [{ code: 'CH', name: 'CH', kind: 'WEB_STOREFRONT', currency: 'EUR', region: 'EU', locationCodes: [LOCATION], inventoryBuffer: 0 }], null);
  app.store.outboxSignal.listen((collection, id, written) => signals.push({ collection, id, written }));
});

afterAll(() => app?.close());

const finalize = (collection: string, document: OutboxDocumentValue) => OUTBOX_SOURCES.find((source) => source.collection === collection)!.finalize(document, document.outbox!);

/**
 * Every document handed over by the last operation, and not written again by it afterwards, equals the store's
 * read: the same events (state, version, entries) and the same stored entries for the clean-up.
 */
async function expectHandedEqualRead(): Promise<{ known: number; plain: number; knownMovingReserved: number }> {
  const last = new Map<string, Signal>();
  for (const signal of signals) last.set(`${signal.collection}\u0000${signal.id}`, signal);
  signals = [];
  let known = 0;
  let knownMovingReserved = 0;
  for (const { collection, id, written } of last.values()) {
    if (!written) continue;
    known++;
    const [read] = await app.store.repositories.changeLog.readOutboxes(collection, [id]);
    expect(read, `${collection} ${id} has pending entries`).toBeDefined();
    const handed = outboxDocumentAsWritten(id, written);
    expect(handed.storedOutbox).toEqual(read!.storedOutbox);
    expect(handed['version']).toBe(read!['version']);
    const events = finalize(collection, handed);
    expect(events).toEqual(finalize(collection, read!));
    if (events.some((event) => (event.data['delta'] as { reserved?: number } | undefined)?.reserved)) knownMovingReserved++;
  }
  return { known, plain: last.size - known, knownMovingReserved };
}

/** The relay's clean-up of some documents, as it does it: read, then compare-and-set on the version read. */
async function drain(collection: string, ids: readonly string[]): Promise<void> {
  const log = app.store.repositories.changeLog;
  const documents = await log.readOutboxes(collection, ids);
  await log.removeDrained(
    collection,
    documents.map((document) => ({ id: document._id, version: Number(document['version']), entries: document.storedOutbox ?? [] })),
  );
}

type Operation =
  | { readonly kind: 'adjust'; readonly items: readonly { readonly sku: number; readonly delta: number }[] }
  | { readonly kind: 'set'; readonly sku: number; readonly onHand: number }
  | { readonly kind: 'reserve'; readonly sku: number; readonly quantity: number }
  | { readonly kind: 'commit' | 'release'; readonly cleanUpFirst: boolean }
  | { readonly kind: 'drain'; readonly skus: readonly number[] };

const sku = fc.integer({ min: 0, max: SKUS.length - 1 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  // Several items, possibly on the same position (the second is written from the first's outcome, not a read).
  fc.record({ kind: fc.constant('adjust' as const), items: fc.array(fc.record({ sku, delta: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('set' as const), sku, onHand: fc.integer({ min: 0, max: 50 }) }),
  // A hold is an $inc (never handed whole); a commit is a compare-and-set that moves reserved stock too.
  fc.record({ kind: fc.constant('reserve' as const), sku, quantity: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constantFrom('commit' as const, 'release' as const), cleanUpFirst: fc.boolean() }),
  fc.record({ kind: fc.constant('drain' as const), skus: fc.uniqueArray(sku, { minLength: 1, maxLength: SKUS.length }) }),
);

describe('documents handed from their writer to the relay', () => {
  it('equal a read of the store for positions, whatever wrote them before and whatever the clean-up took', async () => {
    const ctx = app.systemContext();
    const totals = { known: 0, plain: 0, knownMovingReserved: 0 };
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 12 }), async (operations) => {
        run++;
        const reservations: string[] = [];
        for (const [index, op] of operations.entries()) {
          const key = `r${run}-${index}`;
          if (op.kind === 'adjust') {
            const outcome = await app.services.inventory.adjust(ctx, op.items.map((item) => ({ sku: SKUS[item.sku], location: LOCATION, delta: item.delta, reason: 'RECEIPT' })), key);
            expect(outcome).not.toHaveProperty('code');
          } else if (op.kind === 'set') {
            expect(await app.services.inventory.set(ctx, [{ sku: SKUS[op.sku], location: LOCATION, onHand: op.onHand, compareOnHand: null }], key)).not.toHaveProperty('code');
          } else if (op.kind === 'reserve') {
            const outcome = await app.services.reservations.reserve(ctx, 'CH', [{ sku: SKUS[op.sku], quantity: op.quantity }], 600, null, key);
            if ('id' in outcome) reservations.push(String(outcome.id)); // or not enough stock: nothing held
          } else if (op.kind === 'commit' || op.kind === 'release') {
            const id = reservations.pop();
            // After the clean-up the hold's entry is gone and the commit's compare-and-set is handed whole.
            if (op.cleanUpFirst) await drain(POSITIONS, SKUS.map((code) => positionKey(code, LOCATION)));
            if (id) expect(await app.services.reservations[op.kind](ctx, id)).toHaveProperty('state', op.kind === 'commit' ? 'COMMITTED' : 'RELEASED');
          } else if (op.kind === 'drain') {
            await drain(POSITIONS, op.skus.map((index) => positionKey(SKUS[index]!, LOCATION)));
          }
          const counted = await expectHandedEqualRead();
          totals.known += counted.known;
          totals.plain += counted.plain;
          totals.knownMovingReserved += counted.knownMovingReserved;
        }
      }),
      // The random runs may or may not commit a reservation after a clean-up: this one does, every time.
      { numRuns: 40, examples: [[[{ kind: 'adjust', items: [{ sku: 0, delta: 5 }] }, { kind: 'reserve', sku: 0, quantity: 2 }, { kind: 'commit', cleanUpFirst: true }]]] },
    );
    // Both paths were taken: documents handed whole (commits among them), and documents the relay must read.
    expect(totals.known).toBeGreaterThan(0);
    expect(totals.knownMovingReserved).toBeGreaterThan(0);
    expect(totals.plain).toBeGreaterThan(0);
  });

  it('equal a read of the store for available-to-sell values, and are not handed when the outbox held entries or a write lost', async () => {
    const availability = app.store.repositories.channelAvailability;
    const keys = ['A:1', 'A:2'];
    const now = () => new Date();
    const record = (key: string, availableToSell: number): Omit<ChannelAvailabilityRecord, 'version'> => ({ key, channelCode: 'A', skuCode: key.slice(2), availableToSell, updatedAt: now() });
    const entry = (version: number, value: number) => outboxEntry(systemOrigin('API'), now(), { version, data: { channel: 'A', value } });
    const read = async () => new Map((await availability.findByKeys(keys)).map((stored) => [stored.key, stored]));

    for (const [index, key] of keys.entries()) expect(await availability.insert(record(key, index), entry(1, index))).toBe(true);
    expect(await expectHandedEqualRead()).toMatchObject({ known: 2, plain: 0 });

    // Entries pending (not cleaned up yet): the next write is not handed whole.
    let stored = await read();
    expect(await availability.updateMany(keys.map((key) => ({ record: record(key, 5), previous: stored.get(key)!, entry: entry(2, 5) })))).toBe(true);
    expect(await expectHandedEqualRead()).toMatchObject({ known: 0, plain: 2 });

    // Cleaned up: handed whole.
    await drain(AVAILABILITY, keys);
    stored = await read();
    expect(await availability.updateMany(keys.map((key) => ({ record: record(key, 6), previous: stored.get(key)!, entry: entry(3, 6) })))).toBe(true);
    expect(await expectHandedEqualRead()).toMatchObject({ known: 2, plain: 0 });

    // One compare-and-set loses (a stale read): the bulk answer does not say which, so neither is handed whole.
    await drain(AVAILABILITY, keys);
    const fresh = await read();
    const stale = { ...fresh.get('A:1')!, version: fresh.get('A:1')!.version - 1 };
    expect(await availability.updateMany([{ record: record('A:1', 7), previous: stale, entry: entry(4, 7) }, { record: record('A:2', 7), previous: fresh.get('A:2')!, entry: entry(4, 7) }])).toBe(false);
    expect(await expectHandedEqualRead()).toMatchObject({ known: 0, plain: 2 });
  });
});
