import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { operationEventId } from '../../src/domain/changes/change-event.js';

describe('the event id of the change an operation made', () => {
  it('is the same for the same operation id, different for another, shaped like a UUID, does not show the operation id, and differs between entities', () => {
    const id = operationEventId('InventoryPosition', 'key-1:daily-restock:0123456789abcdef:0');
    expect(operationEventId('InventoryPosition', 'key-1:daily-restock:0123456789abcdef:0')).toBe(id);
    expect(operationEventId('InventoryPosition', 'key-1:daily-restock:0123456789abcdef:1')).not.toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(operationEventId('Price', 'key-1:daily-restock:0123456789abcdef:0')).not.toBe(id);
    expect(id).not.toContain('daily-restock');
  });

  it('stays what it was when events were logged with it: a retry after an upgrade looks for the ids the version before wrote', () => {
    // Computed with the first implementation (a Hash object, version and variant set on the bytes).
    expect(operationEventId('InventoryPosition', 'key-1:daily-restock:0123456789abcdef:0')).toBe('2f2e6430-2784-8c9d-960f-5e6bfbff26ff');
    expect(operationEventId('Price', 'k:x:1')).toBe('060f080e-9515-8d89-b356-aaaddb4a4651');
    fc.assert(
      fc.property(fc.constantFrom('InventoryPosition' as const, 'Price' as const), fc.string({ unit: 'binary' }), (entity, opId) => {
        const bytes = createHash('sha256').update(`${entity}\n${opId}`).digest().subarray(0, 16);
        bytes[6] = (bytes[6]! & 0x0f) | 0x80;
        bytes[8] = (bytes[8]! & 0x3f) | 0x80;
        const hex = bytes.toString('hex');
        expect(operationEventId(entity, opId)).toBe(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
      }),
      { numRuns: 2000 },
    );
  });
});
