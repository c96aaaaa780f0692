import { Schema, type InferSchemaType } from 'mongoose';
import { MODEL_OPTIONS } from './shared-fields.js';

/**
 * A channel whose available-to-sell must be derived again for every SKU: its locations or buffer changed. Kept
 * in the store so a relay that dies half-way through a large catalog leaves the rest to the next one; `after`
 * is the last SKU code done, and a newer change of the channel starts the walk again from the beginning. A
 * finished walk stays (one document per channel) marked done, so the same version asked for again — the relay
 * can resume a walk from its lease before it logs the change that asked for it — is not walked twice.
 */
export const availabilityRederivationSchema = new Schema(
  {
    /** The channel code. */
    _id: { type: String, required: true },
    /** The channel's version the walk derives for: a newer change replaces the request. */
    channelVersion: { type: Number, required: true },
    after: { type: String, default: '' },
    /** Who changed the channel: the derived events carry it as their origin. */
    origin: { type: Schema.Types.Mixed, required: true },
    requestedAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    /** Set when the walk reached the last SKU; null while it is pending. */
    completedAt: { type: Date, default: null },
  },
  { ...MODEL_OPTIONS, collection: 'availability_rederivations' },
);

export type AvailabilityRederivationDocument = InferSchemaType<typeof availabilityRederivationSchema>;
