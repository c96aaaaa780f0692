import type { NegativeStockPolicy } from '../channel/channel.types.js';
import type { InventoryFlag, InventoryItemErrorValue, InventoryPositionRecord } from './inventory.types.js';

/** What an item does to a position, decided from the position as read; pure, so it is re-run after a race. */
export type Decision =
  | { readonly kind: 'unchanged'; readonly flags: readonly InventoryFlag[] }
  | { readonly kind: 'rejected'; readonly error: InventoryItemErrorValue }
  | { readonly kind: 'apply'; readonly onHand: number; readonly safetyStock: number; readonly reserved?: number; readonly removeHold?: string; readonly flags: readonly InventoryFlag[] };

type Current = Pick<InventoryPositionRecord, 'onHand' | 'reserved' | 'safetyStock'> | null;

const EMPTY = { onHand: 0, reserved: 0, safetyStock: 0 };

/**
 * A delta under the location's negative-stock policy. Only a decrease that ends below 0 is policed: a receipt
 * into an already negative position always applies. A decrease below what is reserved applies (the sale
 * happened) and is flagged BELOW_RESERVED: some reservation can no longer be fulfilled from here.
 */
export function decideAdjustment(current: Current, delta: number, policy: NegativeStockPolicy, ids: { skuCode: string; locationCode: string }): Decision {
  const { onHand, reserved, safetyStock } = current ?? EMPTY;
  if (delta === 0) return { kind: 'unchanged', flags: [] };
  let target = onHand + delta;
  const flags: InventoryFlag[] = [];
  if (delta < 0 && target < 0) {
    if (policy === 'REJECT') {
      return {
        kind: 'rejected',
        error: {
          errorType: 'NegativeStockError',
          message: `SKU "${ids.skuCode}" at location "${ids.locationCode}" has ${onHand} on hand; a change of ${delta} would go below 0, which this location rejects.`,
          ...ids,
          onHand,
          delta,
        },
      };
    }
    if (policy === 'CLAMP') {
      target = Math.min(onHand, 0);
      flags.push('CLAMPED');
      if (target === onHand) return { kind: 'unchanged', flags };
    }
  }
  if (delta < 0 && reserved > 0 && target < reserved) flags.push('BELOW_RESERVED');
  return { kind: 'apply', onHand: target, safetyStock, flags };
}

/** An absolute set, checked against the value the caller read (null: the caller opted out of the check). */
export function decideSet(current: Current, onHand: number, compareOnHand: number | null, safetyStock: number | null | undefined, ids: { skuCode: string; locationCode: string }): Decision {
  const state = current ?? EMPTY;
  if (compareOnHand !== null && compareOnHand !== state.onHand) {
    return {
      kind: 'rejected',
      error: {
        errorType: 'StaleInventoryError',
        message: `SKU "${ids.skuCode}" at location "${ids.locationCode}" has ${state.onHand} on hand, not the expected ${compareOnHand}; re-read and retry.`,
        ...ids,
        expectedOnHand: compareOnHand,
        currentOnHand: state.onHand,
      },
    };
  }
  const nextSafety = safetyStock ?? state.safetyStock;
  if (onHand === state.onHand && nextSafety === state.safetyStock && current !== null) return { kind: 'unchanged', flags: [] };
  return { kind: 'apply', onHand, safetyStock: nextSafety, flags: state.reserved > 0 && onHand < state.reserved ? ['BELOW_RESERVED'] : [] };
}
