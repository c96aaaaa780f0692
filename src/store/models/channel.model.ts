import { Schema, type InferSchemaType } from 'mongoose';
import { CHANNEL_KINDS } from '../../domain/channel/channel.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

export const channelSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    kind: { type: String, enum: CHANNEL_KINDS, required: true },
    currency: { type: String, required: true },
    region: { type: String, required: true },
    locationCodes: { type: [String], default: [] },
    inventoryBuffer: { type: Number, default: 0 },
    archivedAt: { type: Date, default: null },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'channels' },
);
addOutboxIndex(channelSchema);

export type ChannelDocument = InferSchemaType<typeof channelSchema>;
