import { z } from 'zod';
import { batchSchema, codeSchema } from '../common/validation.js';
import { MAX_QUANTITY } from './inventory.validation.js';

/** A day: carts and checkouts hold stock for minutes; longer holds belong in an order system. */
export const MAX_TTL_SECONDS = 86_400;

export const reservationItemsSchema = batchSchema(
  z.object({
    sku: codeSchema,
    quantity: z.number().int({ message: 'Expected an integer quantity.' }).min(1, { message: 'At least 1.' }).max(MAX_QUANTITY, { message: `At most ${MAX_QUANTITY}.` }),
  }),
);
export type ReservationItem = z.output<typeof reservationItemsSchema>[number];

export const ttlSecondsSchema = z.number().int().min(1, { message: 'At least 1 second.' }).max(MAX_TTL_SECONDS, { message: `At most ${MAX_TTL_SECONDS} seconds (a day).` });
export const orderRefSchema = z.string().max(255, { message: 'At most 255 characters.' }).nullish();
