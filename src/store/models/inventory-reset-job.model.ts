import { Schema, type InferSchemaType } from 'mongoose';
import { ABSENT_POSITIONS, RESET_ERROR_CODES, RESET_JOB_STATES, RESET_PHASES, RESET_POLICIES, STALE_REASONS } from '../../domain/inventory/reset/inventory-reset.types.js';
import { MODEL_OPTIONS } from './shared-fields.js';

const rowErrorSchema = new Schema(
  {
    line: { type: Number, default: null },
    column: { type: String, default: null },
    code: { type: String, enum: RESET_ERROR_CODES, required: true },
    message: { type: String, required: true },
    skuCode: { type: String, default: null },
    locationCode: { type: String, default: null },
  },
  { _id: false },
);

const stalePositionSchema = new Schema(
  {
    line: { type: Number, default: null },
    skuCode: { type: String, required: true },
    locationCode: { type: String, required: true },
    reason: { type: String, enum: STALE_REASONS, required: true },
    changedAt: { type: Date, required: true },
    message: { type: String, required: true },
  },
  { _id: false },
);

export const inventoryResetJobSchema = new Schema(
  {
    /** `irj_` + digest of (file sha256, asOf, policy, absent): a second import of the same file is this document. */
    _id: { type: String, required: true },
    state: { type: String, enum: RESET_JOB_STATES, required: true },
    phase: { type: String, enum: RESET_PHASES, default: null },
    path: { type: String, required: true },
    fileSha256: { type: String, required: true },
    fileBytes: { type: Number, required: true },
    asOf: { type: Date, required: true },
    policy: { type: String, enum: RESET_POLICIES, required: true },
    absent: { type: String, enum: ABSENT_POSITIONS, required: true },
    requestedBy: { type: new Schema({ keyId: { type: String, required: true }, name: { type: String, required: true } }, { _id: false }), required: true },
    /** Who runs the job and until when; a process that finds it expired takes over (the previous one died). */
    lease: { type: new Schema({ token: { type: String, required: true }, until: { type: Date, required: true } }, { _id: false }), default: null },
    rowsTotal: { type: Number, default: null },
    rowsValidated: { type: Number, required: true },
    /** The checkpoint: rows [0, rowsProcessed) are committed; a resumed job continues after them. */
    rowsProcessed: { type: Number, required: true },
    rowsApplied: { type: Number, required: true },
    rowsUnchanged: { type: Number, required: true },
    rowsSkipped: { type: Number, required: true },
    rowsStale: { type: Number, required: true },
    positionsZeroed: { type: Number, required: true },
    errorCount: { type: Number, required: true },
    staleCount: { type: Number, required: true },
    /** `errors` of the record (a name mongoose reserves for its own validation errors). */
    rowErrors: { type: [rowErrorSchema], default: [] },
    stalePositions: { type: [stalePositionSchema], default: [] },
    attempts: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    updatedAt: { type: Date, required: true },
  },
  { ...MODEL_OPTIONS, collection: 'inventory_reset_jobs' },
);

export type InventoryResetJobDocument = InferSchemaType<typeof inventoryResetJobSchema>;
