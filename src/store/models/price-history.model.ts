import { Schema, type InferSchemaType } from 'mongoose';
import { MODEL_OPTIONS } from './shared-fields.js';
import { priceChangeFields } from './price.model.js';

export const priceHistorySchema = new Schema(
  {
    /** The operation id: inserting it twice is a no-op, so a retried item never duplicates its entry. */
    _id: { type: String, required: true },
    priceList: { type: String, required: true },
    sku: { type: String, required: true },
    ...priceChangeFields,
  },
  { ...MODEL_OPTIONS, collection: 'price_history' },
);
// Pages newest first by version; unique because each version of a price is produced by exactly one change.
priceHistorySchema.index({ priceList: 1, sku: 1, 'after.version': -1 }, { unique: true });

export type PriceHistoryDocument = InferSchemaType<typeof priceHistorySchema>;
