import { Schema, type InferSchemaType } from 'mongoose';
import { addOutboxIndex, outboxFields } from '../outbox.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

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
    /**
     * The last operations applied here (RECENT_OPS_KEPT), each one string `[id, delta, onHandBefore, onHandAfter,
     * flags, at (epoch ms), kind?]` in JSON (applied-op-codec.ts); documents written before that hold objects
     * with those fields, which are still read. One string per operation instead of a sub-document: every update
     * rewrites the whole position, and a busy one holds a hundred of them.
     */
    recentOps: { type: [Schema.Types.Mixed], default: [] },
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
