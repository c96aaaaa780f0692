import { Schema } from 'mongoose';
import { MODEL_OPTIONS } from './shared-fields.js';

/**
 * The change log: one document per event, `_id` = its global sequence number. Sequence numbers are contiguous
 * (one relay writes them, in order), so readers fetch a range by listing its `_id`s: a point lookup on every
 * store, where a sorted range scan is slow on the embedded one (STORE.md).
 */
export const changeLogSchema = new Schema(
  {
    _id: { type: Number, required: true },
    eventId: { type: String, required: true },
    entity: { type: String, required: true },
    key: { type: String, required: true },
    version: { type: Number, required: true },
    at: { type: Date, required: true },
    origin: { type: Schema.Types.Mixed, required: true },
    sku: { type: String, default: null },
    location: { type: String, default: null },
    channels: { type: [String], default: undefined },
    data: { type: Schema.Types.Mixed, default: {} },
    loggedAt: { type: Date, required: true },
    /** The relay lease epoch that logged it: which relay wrote what, after a takeover. */
    epoch: { type: Number, required: true },
  },
  { ...MODEL_OPTIONS, collection: 'change_log' },
);
/** An event is logged once: a relay that lost its lease and one that took over cannot both log it. */
changeLogSchema.index({ eventId: 1 }, { unique: true });
/** Retention deletes by age. */
changeLogSchema.index({ loggedAt: 1 });

/**
 * The relay's shared state: its lease (`_id: 'lease'`: owner, epoch, expiresAt), the log's head (`'head'`: the
 * highest sequence number known to be logged, a starting point for readers) and the retention watermark
 * (`'retention'`: every event up to `purgedThrough` may have been deleted).
 */
export const changeFeedStateSchema = new Schema(
  {
    _id: { type: String, required: true },
    owner: { type: String },
    epoch: { type: Number },
    expiresAt: { type: Date },
    seq: { type: Number },
    purgedThrough: { type: Number },
  },
  { ...MODEL_OPTIONS, collection: 'change_feed_state' },
);
