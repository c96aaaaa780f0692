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
});
