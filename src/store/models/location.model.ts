import { Schema, type InferSchemaType } from 'mongoose';
import { LOCATION_KINDS, NEGATIVE_STOCK_POLICIES } from '../../domain/channel/channel.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

export const locationSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    kind: { type: String, enum: LOCATION_KINDS, required: true },
    region: { type: String, required: true },
    timezone: { type: String, required: true },
    negativeStockPolicy: { type: String, enum: NEGATIVE_STOCK_POLICIES, default: 'REJECT' },
    archivedAt: { type: Date, default: null },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'locations' },
);
addOutboxIndex(locationSchema);

export type LocationDocument = InferSchemaType<typeof locationSchema>;
