import { Schema, type InferSchemaType } from 'mongoose';
import { INVENTORY_FLAGS } from '../../domain/inventory/inventory.types.js';
import { MODEL_OPTIONS, versionedFields } from './shared-fields.js';

const appliedOpSchema = new Schema(
  {
    id: { type: String, required: true },
    delta: { type: Number, required: true },
    onHandBefore: { type: Number, required: true },
    onHandAfter: { type: Number, required: true },
    flags: { type: [{ type: String, enum: INVENTORY_FLAGS }], default: [] },
    at: { type: Date, required: true },
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
    recentOps: { type: [appliedOpSchema], default: [] },
    /**
     * Stock held per reservation; `reserved` is their sum, changed in the same update as the array, so a hold
     * is its own proof: releasing one that is not there changes nothing, whatever crashed in between.
     */
    holds: { type: [new Schema({ reservationId: { type: String, required: true }, quantity: { type: Number, required: true } }, { _id: false })], default: [] },
    ...versionedFields,
  },
  { ...MODEL_OPTIONS, collection: 'inventory_positions' },
);
inventoryPositionSchema.index({ skuCode: 1, _id: 1 });
inventoryPositionSchema.index({ locationCode: 1, _id: 1 });
inventoryPositionSchema.index({ 'holds.reservationId': 1 });

export type InventoryPositionDocument = InferSchemaType<typeof inventoryPositionSchema>;
