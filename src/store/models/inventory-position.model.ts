import { Schema, type InferSchemaType } from 'mongoose';
import { APPLIED_OP_KINDS, INVENTORY_FLAGS } from '../../domain/inventory/inventory.types.js';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

const appliedOpSchema = new Schema(
  {
    id: { type: String, required: true },
    delta: { type: Number, required: true },
    onHandBefore: { type: Number, required: true },
    onHandAfter: { type: Number, required: true },
    flags: { type: [{ type: String, enum: INVENTORY_FLAGS }], default: [] },
    at: { type: Date, required: true },
    /** Absent for a delta; SET or RESET for absolute values (the daily reset re-applies deltas only). */
    kind: { type: String, enum: APPLIED_OP_KINDS, required: false },
  },
  { _id: false },
);

export const inventoryPositionSchema = new Schema(
  {
    /** `${skuCode}:${locationCode}`: the natural key, so every hot read and write is by `_id`. */
    _id: { type: String, required: true },
    skuCode: { type: String, required: true },
    locationCode: { type: String, required: true },
    onHand: { type: Number, required: true },
    reserved: { type: Number, required: true },
    safetyStock: { type: Number, required: true },
    lastResetAsOf: { type: Date, default: null },
    /** The reset job that last took a snapshot here: marks the positions a job has seen (AbsentPositions ZERO). */
    lastResetJobId: { type: String, default: null },
    /** When setInventory last set an absolute value: an older snapshot must not overwrite it. */
    lastSetAt: { type: Date, default: null },
    recentOps: { type: [appliedOpSchema], default: [] },
    /**
     * Stock held per reservation; `reserved` is their sum, changed in the same update as the array, so a hold
     * is its own proof: releasing one that is not there changes nothing, whatever crashed in between.
     */
    holds: { type: [new Schema({ reservationId: { type: String, required: true }, quantity: { type: Number, required: true } }, { _id: false })], default: [] },
    ...versionedFields,
    ...outboxFields,
  },
  { ...MODEL_OPTIONS, collection: 'inventory_positions' },
);
addOutboxIndex(inventoryPositionSchema);
inventoryPositionSchema.index({ skuCode: 1, _id: 1 });
inventoryPositionSchema.index({ locationCode: 1, _id: 1 });
// The compare-and-set filter `{ _id, version }` of every position write has its index from addOutboxIndex.
inventoryPositionSchema.index({ 'holds.reservationId': 1 });

export type InventoryPositionDocument = InferSchemaType<typeof inventoryPositionSchema>;
