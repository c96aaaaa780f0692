import { Schema, type InferSchemaType } from 'mongoose';
import { INVENTORY_FLAGS, INVENTORY_REASONS } from '../../domain/inventory/inventory.types.js';
import { MODEL_OPTIONS } from './shared-fields.js';

export const inventoryMovementSchema = new Schema(
  {
    /** The operation id: inserting it twice is impossible, which makes ledger repair on retry safe. */
    _id: { type: String, required: true },
    positionKey: { type: String, required: true },
    /** `${ISO time}|${operation id}`: the ledger's stable order, and its cursor. */
    orderKey: { type: String, required: true },
    skuCode: { type: String, required: true },
    locationCode: { type: String, required: true },
    delta: { type: Number, required: true },
    reason: { type: String, enum: INVENTORY_REASONS, required: true },
    referenceDocument: { type: String, default: null },
    apiKeyId: { type: String, required: true },
    apiKey: { type: String, required: true },
    idempotencyKey: { type: String, default: null },
    onHandBefore: { type: Number, required: true },
    onHandAfter: { type: Number, required: true },
    flags: { type: [{ type: String, enum: INVENTORY_FLAGS }], default: [] },
    at: { type: Date, required: true },
  },
  { ...MODEL_OPTIONS, collection: 'inventory_movements' },
);
inventoryMovementSchema.index({ positionKey: 1, orderKey: 1 });

export type InventoryMovementDocument = InferSchemaType<typeof inventoryMovementSchema>;
