import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.js';
import { outboxEntry, systemOrigin, type ChangeEventValue, type OutboxEntryValue } from '../../src/domain/changes/change-event.js';
import { outboxOnInsert, withOutbox } from '../../src/store/outbox.js';
import { SequenceTakenError } from '../../src/store/repositories/change-log.repository.js';
import { openTestApp, uniqueDbName } from '../utils/test-store.js';

let app: App;
const event = (seq: number, eventId = `e-${seq}`): ChangeEventValue => ({
  seq,
  eventId,
  entity: 'Product',
  key: 'P',
  version: seq,
  at: new Date(),
  origin: systemOrigin('API'),
  sku: null,
  location: null,
  channels: null,
  data: {},
  loggedAt: new Date(),
});

beforeAll(async () => {
  app = await openTestApp(uniqueDbName('change_log'));
});

afterAll(() => app?.close());

describe('the change log and its relay lease', () => {
  it('hands the lease to one relay at a time, with a new epoch on each takeover', async () => {
    const log = app.store.repositories.changeLog;
    const now = Date.now();
    const first = await log.takeLease('a', new Date(now), new Date(now + 1_000));
    expect(first).toBe(1);
    expect(await log.takeLease('b', new Date(now), new Date(now + 1_000))).toBeNull();
    expect(await log.renewLease('a', 1, new Date(now + 2_000))).toBe(true);
    // Expired: b takes over with epoch 2, and a's renewal at epoch 1 is refused (it must stop relaying).
    expect(await log.takeLease('b', new Date(now + 3_000), new Date(now + 4_000))).toBe(2);
    expect(await log.renewLease('a', 1, new Date(now + 5_000))).toBe(false);
  });

  it('refuses a stale relay a sequence number or an event that is already logged (fencing)', async () => {
    const log = app.store.repositories.changeLog;
    await log.append([event(1), event(2)], 2);
    await expect(log.append([event(2, 'other')], 1)).rejects.toBeInstanceOf(SequenceTakenError);
    await expect(log.append([event(3, 'e-1')], 1)).rejects.toBeInstanceOf(SequenceTakenError);
    expect((await log.readAfter(0, 10)).map((e) => [e.seq, e.eventId])).toEqual([
      [1, 'e-1'],
      [2, 'e-2'],
    ]);
  });

  it('finds the head past the recorded one, reads contiguous ranges, and moves the retention watermark before deleting', async () => {
    const log = app.store.repositories.changeLog;
    await log.advanceHead(1);
    await log.append([event(3), event(4)], 2);
    expect(await log.headSeq()).toBe(4);
    expect((await log.readAfter(2, 5)).map((e) => e.seq)).toEqual([3, 4]);
    expect(await log.purgeLoggedBefore(new Date(Date.now() + 60_000))).toBe(4);
    expect(await log.retentionWatermark()).toBe(4);
    expect(await log.headSeq()).toBe(4);
  });
});

describe('outboxes as the relay reads and clears them', () => {
  const entry = (reason: string): OutboxEntryValue => outboxEntry(systemOrigin('API', { reason, referenceDocument: 'doc "quoted" é' }), new Date('2026-11-24T12:00:00.123Z'), { version: 2, data: { flags: ['X'], n: 1 } });
  const collection = () => app.store.connection.collection('outbox_test');

  it('gives back each entry as written, and takes off exactly the drained ones when the document moved on', async () => {
    const log = app.store.repositories.changeLog;
    const [first, second, third] = [entry('A'), entry('B'), entry('C')];
    // A document written before entries were strings holds one as a sub-document: still read and cleared.
    const legacy = entry('LEGACY');
    await collection().insertOne({ _id: 'doc', version: 1, ...outboxOnInsert([first!]) } as never);
    await collection().updateOne({ _id: 'doc' } as never, { $push: { outbox: legacy } } as never);
    await collection().updateOne({ _id: 'doc' } as never, withOutbox({ $inc: { version: 1 } }, [second!]) as never);

    const [read] = await log.readOutboxes('outbox_test', ['doc', 'missing']);
    expect(read!.outbox).toEqual([first, legacy, second]);

    // Written after the read: the version no longer matches, so the drained entries are pulled one by one.
    await collection().updateOne({ _id: 'doc' } as never, withOutbox({ $inc: { version: 1 } }, [third!]) as never);
    await log.removeDrained('outbox_test', [{ id: 'doc', version: Number(read!['version']), entries: read!.storedOutbox! }]);
    expect((await log.readOutboxes('outbox_test', ['doc']))[0]!.outbox).toEqual([third]);

    // Nothing written since: the whole outbox and its mark go.
    const [again] = await log.readOutboxes('outbox_test', ['doc']);
    await log.removeDrained('outbox_test', [{ id: 'doc', version: Number(again!['version']), entries: again!.storedOutbox! }]);
    expect(await log.readOutboxes('outbox_test', ['doc'])).toEqual([]);
    expect(await collection().findOne({ _id: 'doc' } as never)).not.toHaveProperty('outboxAt');
  });
});
