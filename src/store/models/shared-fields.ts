import { Schema } from 'mongoose';

/**
 * Options every model shares: natural string `_id`s (STORE.md: hot paths look up by `_id`), no mongoose
 * `__v` (we keep our own `version`), and no automatic index builds (indexes are created explicitly at
 * start-up, see `ensureIndexes`).
 */
export const MODEL_OPTIONS = { versionKey: false, id: false, autoIndex: false, autoCreate: false, strict: 'throw' } as const;

export const attributeSchema = new Schema({ key: { type: String, required: true }, value: { type: String, required: true } }, { _id: false });

export const versionedFields = {
  version: { type: Number, required: true },
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
} as const;
