import { Schema, type InferSchemaType } from 'mongoose';
import { SCOPES } from '../../domain/access/access.types.js';
import { MODEL_OPTIONS } from './shared-fields.js';

export const apiKeySchema = new Schema(
  {
    /** The public key id, also the prefix of the key string; lookups are by `_id`. */
    _id: { type: String, required: true },
    name: { type: String, required: true },
    scopes: { type: [{ type: String, enum: SCOPES }], required: true },
    channels: { type: [String], default: [] },
    secretHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
  },
  { ...MODEL_OPTIONS, collection: 'api_keys' },
);
apiKeySchema.index({ name: 1 });

export type ApiKeyDocument = InferSchemaType<typeof apiKeySchema>;
