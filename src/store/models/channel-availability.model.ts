import { Schema, type InferSchemaType } from 'mongoose';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

/**
 * The available-to-sell a channel was last told for a SKU, derived by the relay from position changes. Kept so
 * availabilityChanged is sent only when the number a storefront shows changes, and written with its own event in
 * its outbox like any other aggregate (a relay that dies between deriving and logging loses nothing).
 */
export const channelAvailabilitySchema = new Schema(
  {
    /** `${channelCode}:${skuCode}`. */
    _id: { type: String, required: true },
    channelCode: { type: String, required: true },
    skuCode: { type: String, required: true },
    availableToSell: { type: Number, required: true },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'channel_availability' },
);
addOutboxIndex(channelAvailabilitySchema);

export type ChannelAvailabilityDocument = InferSchemaType<typeof channelAvailabilitySchema>;
