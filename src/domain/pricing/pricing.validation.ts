import { z } from 'zod';
import type { InputIssueCode } from '../common/errors.js';
import { batchSchema, codeSchema, currencySchema, regionSchema, textSchema } from '../common/validation.js';
import { TAX_MODES } from './pricing.types.js';

/** Amounts are integer minor units; a trillion (10 billion euros in cents) is beyond any shelf price. */
export const MAX_AMOUNT = 1_000_000_000_000;
export const MAX_PRIORITY = 1000;

const issue = (code: InputIssueCode, message: string) => ({ code: 'custom' as const, message, params: { code } });

const amountSchema = z
  .number({ message: 'Expected an integer amount in minor units.' })
  .int({ message: 'Expected an integer amount in minor units.' })
  .min(0, { message: 'An amount is not negative.' })
  .max(MAX_AMOUNT, { message: `An amount is at most ${MAX_AMOUNT.toLocaleString('en')} minor units.` });

export const priceListBatchSchema = batchSchema(
  z
    .object({
      code: codeSchema,
      name: textSchema(256).nullish(),
      currency: currencySchema.nullish(),
      channelCode: codeSchema.nullish(),
      region: regionSchema.nullish(),
      effectiveFrom: z.date().nullish(),
      effectiveUntil: z.date().nullish(),
      priority: z
        .number()
        .int({ message: 'Expected an integer priority.' })
        .min(-MAX_PRIORITY, { message: `A priority is at least -${MAX_PRIORITY}.` })
        .max(MAX_PRIORITY, { message: `A priority is at most ${MAX_PRIORITY}.` })
        .nullish(),
      taxMode: z.enum(TAX_MODES).nullish(),
    })
    .superRefine((item, ctx) => {
      const window = effectiveWindowIssue(item.effectiveFrom ?? null, item.effectiveUntil ?? null);
      if (window) ctx.addIssue({ ...issue('OUT_OF_RANGE', window), path: ['effectiveUntil'] });
    }),
);
export type PriceListItem = z.output<typeof priceListBatchSchema>[number];

/** The message for a validity window that is empty, or null when it is fine (either end may be open). */
export function effectiveWindowIssue(from: Date | null, until: Date | null): string | null {
  if (from === null || until === null || from.getTime() < until.getTime()) return null;
  return `effectiveUntil (${until.toISOString()}) must be later than effectiveFrom (${from.toISOString()}).`;
}

export const priceBatchSchema = batchSchema(
  z
    .object({
      sku: codeSchema,
      amount: amountSchema,
      // Left out or null: the price has no compare-at amount (setPrices writes the whole price).
      compareAtAmount: amountSchema.nullish(),
      // Left out or null: write whatever is stored; 0: only if there is no price yet; n: only at version n.
      compareVersion: z
        .number()
        .int({ message: 'Expected an integer version.' })
        .min(0, { message: 'A version is 0 (no price yet) or more.' })
        .nullish(),
    })
    .superRefine((item, ctx) => {
      if (item.compareAtAmount !== null && item.compareAtAmount !== undefined && item.compareAtAmount <= item.amount) {
        ctx.addIssue({ ...issue('OUT_OF_RANGE', `compareAtAmount (${item.compareAtAmount}) must be greater than amount (${item.amount}).`), path: ['compareAtAmount'] });
      }
    }),
);
export type PriceItem = z.output<typeof priceBatchSchema>[number];
