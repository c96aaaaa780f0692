import { Schema, type InferSchemaType } from 'mongoose';
import { MODEL_OPTIONS } from './shared-fields.js';

export const idempotencyKeySchema = new Schema(
  {
    /** `${apiKeyId}:${idempotencyKey}`: keys are scoped per API key. */
    _id: { type: String, required: true },
    operation: { type: String, required: true },
    requestHash: { type: String, required: true },
    /** RELEASED: the request failed or its input was rejected; the next request with the key takes the record over. */
    state: { type: String, enum: ['IN_PROGRESS', 'COMPLETED', 'RELEASED'], required: true },
    /** Identifies the request holding the key, so only it may complete or release the key. */
    token: { type: String, required: true },
    lockedUntil: { type: Date, required: true },
    /**
     * Names this use of the key in the operation ids its writes record (positions, prices): new when the key is
     * first used, again after it expired and when another input takes a released key over; kept when a retry of the
     * same input takes it over, so that retry finds what the failed attempt applied. Null on records written before
     * it existed, whose operation ids had no generation.
     */
    generation: { type: String, default: null },
    /** Canonical Extended JSON of the stored result. */
    result: { type: String, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { ...MODEL_OPTIONS, collection: 'idempotency_keys' },
);
// On real MongoDB the TTL monitor reclaims space; correctness never depends on it (expiry is checked in
// queries and a sweeper deletes what the embedded store keeps).
idempotencyKeySchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
// Every mutation completes its claim with `{ _id, token }`. MongoDB serves that from the _id index; the embedded
// store uses only an index whose keys equal the filter's, and scanned every stored key per completion without
// this one (STORE.md): ~2 ms of store CPU per mutation at 10,000 keys, growing all day.
idempotencyKeySchema.index({ _id: 1, token: 1 }, { unique: true });

export type IdempotencyKeyDocument = InferSchemaType<typeof idempotencyKeySchema>;
