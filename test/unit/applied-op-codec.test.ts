import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { APPLIED_OP_KINDS, INVENTORY_FLAGS, type AppliedOp } from '../../src/domain/inventory/inventory.types.js';
import { decodeAppliedOp, encodeAppliedOp, StoredRecentOps, UnreadRecentOps } from '../../src/store/applied-op-codec.js';

const appliedOp: fc.Arbitrary<AppliedOp> = fc.record(
  {
    id: fc.string({ unit: 'grapheme', maxLength: 80 }),
    delta: fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
    onHandBefore: fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
    onHandAfter: fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
    flags: fc.uniqueArray(fc.constantFrom(...INVENTORY_FLAGS)),
    at: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
    kind: fc.constantFrom(...APPLIED_OP_KINDS),
  },
  { requiredKeys: ['id', 'delta', 'onHandBefore', 'onHandAfter', 'flags', 'at'] },
);

describe('the stored form of an applied operation', () => {
  it('decodes to what was encoded, whatever the id holds', () => {
    fc.assert(
      fc.property(appliedOp, (op) => {
        expect(decodeAppliedOp(encodeAppliedOp(op))).toEqual(op);
      }),
    );
  });

  it('still reads the sub-document form positions were written with before', () => {
    const at = new Date('2026-11-24T10:00:00Z');
    expect(decodeAppliedOp({ id: 'k:1:0', delta: -2, onHandBefore: 5, onHandAfter: 3, flags: ['BELOW_RESERVED'], at, kind: null })).toEqual({ id: 'k:1:0', delta: -2, onHandBefore: 5, onHandAfter: 3, flags: ['BELOW_RESERVED'], at });
    expect(decodeAppliedOp({ id: 'k:2:0', delta: 4, onHandBefore: 0, onHandAfter: 4, at, kind: 'SET' })).toEqual({ id: 'k:2:0', delta: 4, onHandBefore: 0, onHandAfter: 4, flags: [], at, kind: 'SET' });
  });
});

describe("a position's stored operations, decoded when asked for", () => {
  // Ids that are prefixes of one another, or hold quotes and escapes, must not match each other's entries.
  const id = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('a', 'a"', 'a\\', 'a,', '["a"', 'k:1', 'k:1:0', 'k:10'));
  const ops = fc.uniqueArray(fc.tuple(appliedOp, id).map(([op, opId]) => ({ ...op, id: opId })), { selector: (op) => op.id, maxLength: 30 });
  const stored = (list: readonly AppliedOp[], legacy: readonly boolean[]) =>
    list.map((op, index) => (legacy[index % Math.max(legacy.length, 1)] ? { ...op, flags: [...op.flags], kind: op.kind ?? null } : encodeAppliedOp(op)));

  it('finds by id, iterates and appends as the decoded list would', () => {
    fc.assert(
      fc.property(ops, fc.array(fc.boolean(), { maxLength: 5 }), id, appliedOp, (list, legacy, probe, extra) => {
        const recent = new StoredRecentOps(stored(list, legacy));
        expect(recent.length).toBe(list.length);
        expect([...recent]).toEqual(list);
        expect(recent.oldest()).toEqual(list[0]);
        for (const op of list) expect(recent.find(op.id)).toEqual(op);
        expect(recent.find(probe)).toEqual(list.find((op) => op.id === probe));
        const next = list.some((op) => op.id === extra.id) ? null : recent.concat(extra);
        if (next) {
          expect([...next]).toEqual([...list, extra]);
          expect(next.find(extra.id)).toEqual(extra);
          expect(next.length).toBe(list.length + 1);
        }
      }),
    );
  });
});

describe('a position read without its operations', () => {
  const op = (id: string): AppliedOp => ({ id, delta: 1, onHandBefore: 0, onHandAfter: 1, flags: [], at: new Date(0) });

  it('knows the operations written since the read, and refuses to list what it did not read', () => {
    const unread = new UnreadRecentOps();
    expect(unread.find('k:0')).toBeUndefined();
    const written = unread.concat(op('k:0')).concat(op('k:1'));
    expect(written.find('k:1')).toEqual(op('k:1'));
    expect(written.find('k:2')).toBeUndefined();
    expect(() => [...written]).toThrow(/without its recent operations/);
    expect(() => written.length).toThrow(/without its recent operations/);
    expect(() => written.oldest()).toThrow(/without its recent operations/);
  });
});
