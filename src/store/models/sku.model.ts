import { Schema, type InferSchemaType } from 'mongoose';
import { CATALOG_STATUSES } from '../../domain/catalog/catalog.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { attributeSchema, MODEL_OPTIONS, versionedFields } from './shared-fields.js';

export const skuSchema = new Schema(
  {
    _id: { type: String, required: true },
    productCode: { type: String, required: true },
    title: { type: String, required: true },
    attributes: { type: [attributeSchema], default: [] },
    taxClass: { type: String, default: null },
    barcodes: { type: [String], default: [] },
    status: { type: String, enum: CATALOG_STATUSES, required: true },
    archivedAt: { type: Date, default: null },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'skus' },
);
addOutboxIndex(skuSchema);
skuSchema.index({ productCode: 1, _id: 1 });
skuSchema.index({ archivedAt: 1, _id: 1 });
skuSchema.index({ status: 1, _id: 1 });
skuSchema.index({ updatedAt: 1, _id: 1 });
skuSchema.index({ 'attributes.key': 1, 'attributes.value': 1 });
skuSchema.index({ barcodes: 1 });

export type SkuDocument = InferSchemaType<typeof skuSchema>;
