import { Schema, type InferSchemaType } from 'mongoose';
import { RESERVATION_STATES } from '../../domain/inventory/reservation.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS } from './shared-fields.js';

const allocationSchema = new Schema({ locationCode: { type: String, required: true }, quantity: { type: Number, required: true } }, { _id: false });
const lineSchema = new Schema(
  { skuCode: { type: String, required: true }, quantity: { type: Number, required: true }, allocations: { type: [allocationSchema], default: [] } },
  { _id: false },
);

export const reservationSchema = new Schema(
  {
    _id: { type: String, required: true },
    channelCode: { type: String, required: true },
    orderRef: { type: String, default: null },
    state: { type: String, enum: RESERVATION_STATES, required: true },
    pending: { type: String, enum: ['COMMIT', 'RELEASE', 'EXPIRE', 'ROLLBACK', null], default: null },
    apiKeyId: { type: String, required: true },
    apiKey: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    lines: { type: [lineSchema], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    /** Bumped with each logged state change (0 while PENDING): the events' version. */
    version: { type: Number, default: 0 },
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'reservations' },
);
addOutboxIndex(reservationSchema);
// The sweeper's two questions: which active reservations expired, which transitions were left half done.
reservationSchema.index({ state: 1, expiresAt: 1 });
reservationSchema.index({ pending: 1, updatedAt: 1 });

export type ReservationDocument = InferSchemaType<typeof reservationSchema>;
