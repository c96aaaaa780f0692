import { Schema, type InferSchemaType } from 'mongoose';
import { CATALOG_STATUSES } from '../../domain/catalog/catalog.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { attributeSchema, MODEL_OPTIONS, versionedFields } from './shared-fields.js';

export const productSchema = new Schema(
  {
    _id: { type: String, required: true },
    title: { type: String, required: true },
    attributes: { type: [attributeSchema], default: [] },
    taxClass: { type: String, default: null },
    status: { type: String, enum: CATALOG_STATUSES, required: true },
    archivedAt: { type: Date, default: null },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'products' },
);
addOutboxIndex(productSchema);
// List queries filter then page by _id; each index ends in _id so the sort is index-backed on real MongoDB.
productSchema.index({ archivedAt: 1, _id: 1 });
productSchema.index({ status: 1, _id: 1 });
productSchema.index({ updatedAt: 1, _id: 1 });
productSchema.index({ 'attributes.key': 1, 'attributes.value': 1 });

export type ProductDocument = InferSchemaType<typeof productSchema>;
