import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideAdjustment, decideSet } from '../../src/domain/inventory/inventory-decisions.js';

const ids = { skuCode: 'S', locationCode: 'L' };
const position = (onHand: number, reserved = 0, safetyStock = 0) => ({ onHand, reserved, safetyStock });

describe('adjustment decisions', () => {
  it('flags a sale that leaves less on hand than is reserved, and still applies it', () => {
    expect(decideAdjustment(position(5, 4), -3, 'REJECT', ids)).toEqual({ kind: 'apply', onHand: 2, safetyStock: 0, flags: ['BELOW_RESERVED'] });
  });

  it('never takes onHand below 0 under REJECT or CLAMP, and always applies increases', () => {
    fc.assert(
      fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 }), fc.constantFrom('REJECT' as const, 'CLAMP' as const, 'ALLOW' as const), (onHand, delta, policy) => {
        const decision = decideAdjustment(position(onHand), delta, policy, ids);
        if (delta > 0) expect(decision).toMatchObject({ kind: 'apply', onHand: onHand + delta });
        if (decision.kind === 'apply' && policy !== 'ALLOW' && delta < 0) expect(decision.onHand).toBeGreaterThanOrEqual(Math.min(onHand, 0));
        if (policy === 'ALLOW' && delta !== 0) expect(decision).toMatchObject({ kind: 'apply', onHand: onHand + delta });
        if (delta === 0) expect(decision.kind).toBe('unchanged');
      }),
    );
  });
});

describe('set decisions', () => {
  it('refuses a stale compare with the current value, accepts a matching one or an explicit opt-out', () => {
    expect(decideSet(position(7), 9, 6, null, ids)).toMatchObject({ kind: 'rejected', error: { expectedOnHand: 6, currentOnHand: 7 } });
    expect(decideSet(position(7), 9, 7, null, ids)).toMatchObject({ kind: 'apply', onHand: 9 });
    expect(decideSet(position(7), 9, null, null, ids)).toMatchObject({ kind: 'apply', onHand: 9 });
    expect(decideSet(null, 0, 0, null, ids)).toMatchObject({ kind: 'apply', onHand: 0 });
  });
});
