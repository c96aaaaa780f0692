import type { Connection, Model } from 'mongoose';
import type { ChangeOriginValue } from '../../domain/changes/change-event.js';
import { availabilityRederivationSchema, type AvailabilityRederivationDocument } from '../models/availability-rederivation.model.js';
import { isDuplicateKeyError } from './mongo-errors.js';

type StoredRederivation = AvailabilityRederivationDocument & { _id: string };

export interface AvailabilityRederivationValue {
  readonly channelCode: string;
  readonly channelVersion: number;
  /** The last SKU code already derived ('' before the first). */
  readonly after: string;
  readonly origin: ChangeOriginValue;
}

/** Pending "derive this channel's availability again" walks (see the model). */
export class AvailabilityRederivationRepository {
  private readonly model: Model<StoredRederivation>;

  constructor(connection: Connection) {
    this.model = connection.model<StoredRederivation>('AvailabilityRederivation', availabilityRederivationSchema);
  }

  /**
   * Requests a walk for this version of the channel, from the first SKU; an older version's walk is replaced,
   * and a walk of this version already there (pending or done) is kept as it is.
   */
  async request(channelCode: string, channelVersion: number, origin: ChangeOriginValue, now: Date): Promise<void> {
    try {
      await this.model
        .updateOne({ _id: channelCode, channelVersion: { $lt: channelVersion } }, { $set: { channelVersion, after: '', origin, requestedAt: now, updatedAt: now, completedAt: null } }, { upsert: true })
        .exec();
    } catch (error) {
      // The request is there already for this version or a newer one (the upsert's insert lost to it).
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  /** The oldest pending walk, if any. */
  async next(): Promise<AvailabilityRederivationValue | null> {
    const document = await this.model.findOne({ completedAt: null }).sort({ requestedAt: 1, _id: 1 }).lean<StoredRederivation>().exec();
    return document ? { channelCode: document._id, channelVersion: document.channelVersion, after: document.after, origin: document.origin as ChangeOriginValue } : null;
  }

  /** Records progress; false when a newer request replaced this walk (the caller starts over with it). */
  async advance(walk: AvailabilityRederivationValue, after: string, now: Date): Promise<boolean> {
    const result = await this.model.updateOne({ _id: walk.channelCode, channelVersion: walk.channelVersion }, { $set: { after, updatedAt: now } }).exec();
    return result.matchedCount === 1;
  }

  /** Marks a walk done, unless a newer request replaced it meanwhile. */
  async complete(walk: AvailabilityRederivationValue, now: Date): Promise<void> {
    await this.model.updateOne({ _id: walk.channelCode, channelVersion: walk.channelVersion }, { $set: { completedAt: now, updatedAt: now } }).exec();
  }
}
