import { Schema, type InferSchemaType } from 'mongoose';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

/** A price at one version, as history entries and recent operations record it. */
export const priceStateSchema = new Schema(
  {
    amount: { type: Number, required: true },
    compareAtAmount: { type: Number, default: null },
    version: { type: Number, required: true },
  },
  { _id: false },
);

/** What a change records besides its price list and SKU; shared by price_history and prices.recentChanges. */
export const priceChangeFields = {
  before: { type: priceStateSchema, default: null },
  after: { type: priceStateSchema, required: true },
  apiKeyId: { type: String, required: true },
  apiKey: { type: String, required: true },
  idempotencyKey: { type: String, required: true },
  at: { type: Date, required: true },
} as const;

export const priceSchema = new Schema(
  {
    /** `${priceList}:${sku}`: one price per (list, SKU) by construction. */
    _id: { type: String, required: true },
    priceList: { type: String, required: true },
    sku: { type: String, required: true },
    /** Integer minor units; stored as a double, exact far beyond the 10^12 cap. */
    amount: { type: Number, required: true },
    compareAtAmount: { type: Number, default: null },
    /**
     * The last operations applied to this price, newest last, written in the same update as the amount (`$push`
     * with `$slice`): whether an operation id was applied is answered atomically by this one document.
     */
    recentChanges: { type: [new Schema({ id: { type: String, required: true }, ...priceChangeFields }, { _id: false })], default: [] },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'prices' },
);
addOutboxIndex(priceSchema);
// A list's prices page by _id; priceAt reads every list's price of one SKU.
priceSchema.index({ priceList: 1, _id: 1 });
priceSchema.index({ sku: 1 });

export type PriceDocument = InferSchemaType<typeof priceSchema>;
