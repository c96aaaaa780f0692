import { z } from 'zod';
import { batchSchema, codeSchema } from '../common/validation.js';
import { INVENTORY_REASONS } from './inventory.types.js';

/** Quantities beyond a billion units are input errors, not stock. */
export const MAX_QUANTITY = 1_000_000_000;

const quantity = z
  .number({ message: 'Expected an integer quantity.' })
  .int({ message: 'Expected an integer quantity.' })
  .min(-MAX_QUANTITY, { message: `At least -${MAX_QUANTITY}.` })
  .max(MAX_QUANTITY, { message: `At most ${MAX_QUANTITY}.` });
const nonNegativeQuantity = quantity.min(0, { message: 'Must not be negative.' });
const referenceDocument = z.string().max(255, { message: 'At most 255 characters.' }).nullish();

export const adjustmentBatchSchema = batchSchema(
  z.object({
    sku: codeSchema,
    location: codeSchema,
    delta: quantity,
    reason: z.enum(INVENTORY_REASONS),
    referenceDocument,
  }),
);
export type AdjustmentItem = z.output<typeof adjustmentBatchSchema>[number];

export const setBatchSchema = batchSchema(
  z.object({
    sku: codeSchema,
    location: codeSchema,
    onHand: nonNegativeQuantity,
    // Required but nullable: null is the caller's explicit "no check"; leaving it out is a mistake.
    // Signed: a position at an ALLOW location may be negative, and a caller must be able to compare against it.
    compareOnHand: z.union([quantity, z.null()], { message: 'Required: the onHand you expect, or null to opt out of the check.' }),
    safetyStock: nonNegativeQuantity.nullish(),
    reason: z.enum(INVENTORY_REASONS).nullish(),
    referenceDocument,
  }),
);
export type SetItem = z.output<typeof setBatchSchema>[number];
