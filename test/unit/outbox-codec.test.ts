import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutboxEntryValue } from '../../src/domain/changes/change-event.js';
import { decodeOutboxEntry, encodeOutboxEntry } from '../../src/store/outbox.js';

const text = fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: null });
const entry: fc.Arbitrary<OutboxEntryValue> = fc.record(
  {
    id: fc.uuid(),
    at: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
    origin: fc.record({
      source: fc.constantFrom('API' as const, 'RESET' as const, 'SWEEPER' as const),
      apiKeyId: text,
      apiKey: text,
      requestId: text,
      idempotencyKey: text,
      reason: text,
      referenceDocument: text,
    }),
    version: fc.nat(),
    // JSON values, as OutboxEntryValue.data requires (JSON has no -0: such a value comes back as 0).
    data: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown)),
    delta: fc.dictionary(fc.constantFrom('onHand', 'reserved', 'safetyStock'), fc.integer({ min: -1_000_000_000, max: 1_000_000_000 })),
  },
  { requiredKeys: ['id', 'at', 'origin'] },
);

describe('the stored form of an outbox entry', () => {
  it('decodes to what was encoded', () => {
    fc.assert(
      fc.property(entry, (value) => {
        expect(decodeOutboxEntry(encodeOutboxEntry(value))).toEqual(value);
      }),
    );
  });

  it('passes the sub-document form, written before, through as it is', () => {
    const legacy: OutboxEntryValue = { id: 'e-1', at: new Date('2026-11-24T12:00:00Z'), origin: { source: 'API', apiKeyId: null, apiKey: null, requestId: null, idempotencyKey: null, reason: null, referenceDocument: null } };
    expect(decodeOutboxEntry(legacy)).toBe(legacy);
  });
});
