import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { outboxEntry, systemOrigin } from '../../src/domain/changes/change-event.js';
import { OUTBOX_SOURCES } from '../../src/store/change-finalizers.js';

const positions = OUTBOX_SOURCES.find((source) => source.entity === 'InventoryPosition')!;
const origin = systemOrigin('API');

describe('inventory position events rebuilt from the document and its pending deltas', () => {
  it('gives each pending entry the state and version it produced, whatever mix of sets and holds wrote them', () => {
    const change = fc.record({ onHand: fc.integer({ min: -50, max: 50 }), reserved: fc.integer({ min: -5, max: 5 }), safetyStock: fc.integer({ min: -2, max: 2 }) });
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 29 }), (deltas, drainedCount) => {
        // Replay the writes: the state after each, and the document as the relay reads it with the undrained ones.
        const states: { onHand: number; reserved: number; safetyStock: number }[] = [];
        let state = { onHand: 0, reserved: 0, safetyStock: 0 };
        for (const delta of deltas) {
          state = { onHand: state.onHand + delta.onHand, reserved: state.reserved + delta.reserved, safetyStock: state.safetyStock + delta.safetyStock };
          states.push(state);
        }
        const drained = Math.min(drainedCount, deltas.length - 1);
        const entries = deltas.slice(drained).map((delta) => outboxEntry(origin, new Date(0), { delta }));
        const document = { _id: 'S:L', skuCode: 'S', locationCode: 'L', ...state, version: deltas.length, outbox: entries };
        const events = positions.finalize(document, entries);
        expect(events.map((event) => event.version)).toEqual(deltas.slice(drained).map((_, index) => drained + index + 1));
        expect(events.map((event) => ({ onHand: event.data['onHand'], reserved: event.data['reserved'], safetyStock: event.data['safetyStock'] }))).toEqual(states.slice(drained));
        expect(events.map((event) => event.eventId)).toEqual(entries.map((entry) => entry.id));
      }),
    );
  });

  it('marks a write that changed no quantity (a reset that only stamps the position) as unchanged', () => {
    const entry = outboxEntry(origin, new Date(0), { delta: { onHand: 0, reserved: 0, safetyStock: 0 } });
    const [event] = positions.finalize({ _id: 'S:L', skuCode: 'S', locationCode: 'L', onHand: 3, reserved: 0, safetyStock: 0, version: 4 }, [entry]);
    expect(event).toMatchObject({ sku: 'S', location: 'L', version: 4, data: { onHand: 3, available: 3, changed: false } });
  });
});
