import { Schema, type InferSchemaType } from 'mongoose';
import { TAX_MODES } from '../../domain/pricing/pricing.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

export const priceListSchema = new Schema(
  {
    /** The list code. */
    _id: { type: String, required: true },
    name: { type: String, required: true },
    currency: { type: String, required: true },
    channelCode: { type: String, default: null },
    region: { type: String, default: null },
    effectiveFrom: { type: Date, default: null },
    effectiveUntil: { type: Date, default: null },
    priority: { type: Number, required: true },
    taxMode: { type: String, enum: TAX_MODES, required: true },
    archivedAt: { type: Date, default: null },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'price_lists' },
);
addOutboxIndex(priceListSchema);

export type PriceListDocument = InferSchemaType<typeof priceListSchema>;
