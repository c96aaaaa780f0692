import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { systemOrigin, type ChangeDraftValue, type ChangeEventValue, type OutboxEntryValue } from '../../src/domain/changes/change-event.js';
import { InProcessEventBus } from '../../src/events/bus/in-process-bus.js';
import { ChangeRelay, DEFAULT_CHANGE_RELAY_OPTIONS, type ChangeDeriver } from '../../src/events/change-relay.js';
import { decodeOutboxEntry, encodeOutboxEntry, OutboxSignal } from '../../src/store/outbox.js';
import { SequenceTakenError, type ChangeLogRepository, type DrainedOutbox, type OutboxDocumentValue } from '../../src/store/repositories/change-log.repository.js';

const COLLECTION = 'things';
const logger = pino({ level: 'silent' });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The log and one outbox collection in memory, with the real repository's refusals: a seq or an eventId that
 * is logged already fails the append with SequenceTakenError, and a clean-up removes only the ids it names.
 */
function memoryLog() {
  const logged: ChangeEventValue[] = [];
  const documents = new Map<string, { _id: string; collection: string; version: number; outbox: OutboxEntryValue[] }>();
  const appends: string[][] = [];
  const reads: string[][] = [];
  const log = {
    takeLease: async () => 1,
    renewLease: async () => true,
    releaseLease: async () => undefined,
    advanceHead: async () => undefined,
    headSeq: async () => logged.length,
    purgeLoggedBefore: async () => 0,
    pendingOutboxIds: async (collection: string) => [...documents.values()].filter((d) => d.collection === collection && d.outbox.length > 0).map((d) => d._id),
    readOutboxes: async (collection: string, ids: readonly string[]): Promise<OutboxDocumentValue[]> => {
      reads.push([...ids]);
      return ids.flatMap((id) => {
        const document = documents.get(id);
        // As the repository: documents without pending entries are left out.
        return document && document.collection === collection && document.outbox.length > 0 ? [{ ...structuredClone(document), storedOutbox: structuredClone(document.outbox) }] : [];
      });
    },
    loggedEventIds: async (eventIds: readonly string[]) => new Set(logged.filter((e) => eventIds.includes(e.eventId)).map((e) => e.eventId)),
    append: async (events: readonly ChangeEventValue[]) => {
      for (const event of events) if (logged.some((e) => e.seq === event.seq || e.eventId === event.eventId)) throw new SequenceTakenError(event.seq);
      appends.push(events.map((e) => e.eventId));
      logged.push(...events);
    },
    removeDrained: async (_collection: string, drained: readonly DrainedOutbox[]) => {
      for (const { id, entries } of drained) {
        // This fake stores entries as objects; a writer hands them over as stored by the real repositories (strings).
        const eventIds = entries.map((entry) => decodeOutboxEntry(entry).id);
        const document = documents.get(id);
        if (document) document.outbox = document.outbox.filter((entry) => !eventIds.includes(entry.id));
      }
    },
  } as unknown as ChangeLogRepository;
  /** Ids are unique across collections here. */
  const write = (id: string, eventId: string, collection = COLLECTION): OutboxEntryValue => {
    const document = documents.get(id) ?? { _id: id, collection, version: 0, outbox: [] };
    const entry = { id: eventId, at: new Date(), origin: systemOrigin('API') };
    document.version++;
    document.outbox.push(entry);
    documents.set(id, document);
    return entry;
  };
  return { log, logged, documents, appends, reads, write };
}

const finalize = (document: OutboxDocumentValue, entries: readonly OutboxEntryValue[]): ChangeDraftValue[] =>
  entries.map((entry) => ({ eventId: entry.id, entity: 'Product', key: document._id, version: Number(document['version']), at: entry.at, origin: entry.origin, sku: null, location: null, channels: null, data: {} }));

describe('the change relay pipeline', () => {
  it('logs the next batch while the previous one is still being finished, without logging anything twice', async () => {
    const { log, logged, documents, appends, write } = memoryLog();
    const signal = new OutboxSignal();
    const firstDerivation = deferred();
    const derived: string[][] = [];
    const deriver: ChangeDeriver = {
      derive: async (drafts) => {
        derived.push(drafts.map((d) => d.eventId));
        if (derived.length === 1) await firstDerivation.promise;
      },
    };
    const relay = new ChangeRelay(log, [{ entity: 'Product', collection: COLLECTION, finalize }], signal, new InProcessEventBus({ logger }), [deriver], { ...DEFAULT_CHANGE_RELAY_OPTIONS, scanIntervalMs: 3_600_000 }, logger);
    await relay.start();
    try {
      write('P1', 'e1');
      signal.notify(COLLECTION, 'P1');
      while (derived.length < 1) await new Promise((resolve) => setImmediate(resolve));
      // e1 is logged and its finishing is held: its entry is still in P1's outbox when e2 is drained.
      write('P1', 'e2');
      signal.notify(COLLECTION, 'P1');
      while (appends.length < 2) await new Promise((resolve) => setImmediate(resolve));
      expect(appends).toEqual([['e1'], ['e2']]);
      expect(derived).toEqual([['e1']]); // the second batch's finishing waits behind the first's
      expect(documents.get('P1')!.outbox.map((entry) => entry.id)).toEqual(['e1', 'e2']);

      firstDerivation.resolve();
      await relay.flush();
      expect(derived).toEqual([['e1'], ['e1', 'e2']]); // derivation sees every entry still in the outbox
      expect(documents.get('P1')!.outbox).toEqual([]);
      expect(logged.map((e) => [e.seq, e.eventId])).toEqual([
        [1, 'e1'],
        [2, 'e2'],
      ]);
      expect(relay.collisions).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  it('logs a document its writer handed over whole without reading it, and reads one written again before the drain', async () => {
    const { log, logged, documents, reads, write } = memoryLog();
    const signal = new OutboxSignal();
    const relay = new ChangeRelay(log, [{ entity: 'Product', collection: COLLECTION, finalize }], signal, new InProcessEventBus({ logger }), [], { ...DEFAULT_CHANGE_RELAY_OPTIONS, scanIntervalMs: 3_600_000 }, logger);
    const settled = async (count: number) => {
      while (logged.length < count || [...documents.values()].some((document) => document.outbox.length > 0)) await new Promise((resolve) => setImmediate(resolve));
    };
    await relay.start();
    try {
      signal.notify(COLLECTION, 'P1', { version: 1, fields: {}, stored: [encodeOutboxEntry(write('P1', 'e1'))] });
      await settled(1);
      expect(reads).toEqual([]);
      expect(logged.map((e) => [e.eventId, e.version])).toEqual([['e1', 1]]);

      // Handed over whole, then written again by a writer that did not know it whole: the relay reads it.
      signal.notify(COLLECTION, 'P1', { version: 2, fields: {}, stored: [encodeOutboxEntry(write('P1', 'e2'))] });
      write('P1', 'e3');
      signal.notify(COLLECTION, 'P1');
      await settled(3);
      expect(reads).toEqual([['P1']]);
      expect(logged.map((e) => e.eventId)).toEqual(['e1', 'e2', 'e3']);
      expect(relay.collisions).toBe(0);
    } finally {
      await relay.stop();
    }
  });

  it("logs the writes of several collections in one append, and clears each collection's outboxes", async () => {
    const { log, logged, documents, appends, write } = memoryLog();
    const signal = new OutboxSignal();
    const cleared: string[] = [];
    const removeDrained = async (collection: string, drained: readonly DrainedOutbox[]): Promise<void> => {
      cleared.push(collection);
      await log.removeDrained(collection, drained);
    };
    const clearing = { ...log, removeDrained } as unknown as ChangeLogRepository;
    const sources = [COLLECTION, 'derived'].map((collection) => ({ entity: 'Product' as const, collection, finalize }));
    const relay = new ChangeRelay(clearing, sources, signal, new InProcessEventBus({ logger }), [], { ...DEFAULT_CHANGE_RELAY_OPTIONS, scanIntervalMs: 3_600_000 }, logger);
    await relay.start();
    try {
      write('P1', 'e1');
      signal.notify(COLLECTION, 'P1');
      write('D1', 'e2', 'derived');
      signal.notify('derived', 'D1');
      await relay.flush();
      expect(appends).toEqual([['e1', 'e2']]);
      expect(logged.map((e) => [e.seq, e.eventId])).toEqual([
        [1, 'e1'],
        [2, 'e2'],
      ]);
      expect(cleared.sort()).toEqual(['derived', COLLECTION].sort());
      expect([...documents.values()].every((document) => document.outbox.length === 0)).toBe(true);
    } finally {
      await relay.stop();
    }
  });
});
