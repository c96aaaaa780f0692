import { Schema, type InferSchemaType } from 'mongoose';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

const externalIdFields = {
  externalVariantId: { type: String, required: true },
  externalProductId: { type: String, default: null },
  externalInventoryItemId: { type: String, default: null },
} as const;

export const skuMappingSchema = new Schema(
  {
    /** `${channelCode}:${skuCode}`: one mapping per (channel, SKU) by construction. */
    _id: { type: String, required: true },
    channelCode: { type: String, required: true },
    skuCode: { type: String, required: true },
    ...externalIdFields,
    active: { type: Boolean, required: true },
    /**
     * The external id while active, a per-SKU tombstone ('~' + SKU code; external ids may not start with '~')
     * once unmapped. It carries the unique (channel, external id) index: a partial index would do the same on
     * real MongoDB, but the embedded store has none, and this works on both.
     */
    externalClaim: { type: String, required: true },
    history: {
      type: [new Schema({ ...externalIdFields, replacedAt: { type: Date, required: true }, replacedBy: { type: String, required: true } }, { _id: false })],
      default: [],
    },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'sku_mappings' },
);
addOutboxIndex(skuMappingSchema);
skuMappingSchema.index({ channelCode: 1, externalClaim: 1 }, { unique: true });
skuMappingSchema.index({ skuCode: 1 });
skuMappingSchema.index({ channelCode: 1, _id: 1 });

export type SkuMappingDocument = InferSchemaType<typeof skuMappingSchema>;
