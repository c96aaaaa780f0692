import type { Connection, Model } from 'mongoose';
import { idempotencyKeySchema, type IdempotencyKeyDocument } from '../models/idempotency-key.model.js';
import { isDuplicateKeyError } from './mongo-errors.js';

export interface IdempotencyClaim {
  readonly id: string;
  readonly token: string;
  readonly requestHash: string;
  readonly operation: string;
  readonly now: Date;
  readonly lockedUntil: Date;
  readonly expiresAt: Date;
}

export interface IdempotencyEntry {
  readonly operation: string;
  readonly requestHash: string;
  readonly state: 'IN_PROGRESS' | 'COMPLETED';
  readonly token: string;
  readonly lockedUntil: Date;
  readonly result: string | null;
  readonly expiresAt: Date;
}

type StoredKey = IdempotencyKeyDocument & { _id: string };

/** Every method is one single-document conditional write: the claim protocol needs no transaction. */
export class IdempotencyRepository {
  private readonly model: Model<StoredKey>;

  constructor(connection: Connection) {
    this.model = connection.model<StoredKey>('IdempotencyKey', idempotencyKeySchema);
  }

  /** Resolves false when the key is already held (or remembered). */
  async insertClaim(claim: IdempotencyClaim): Promise<boolean> {
    try {
      // The driver's collection: the document is built from typed values, and hydrating and validating a mongoose
      // document for it is a visible share of a single-item mutation's CPU (claim and completion run on each one).
      await this.model.collection.insertOne(this.claimDocument(claim) as never);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  async find(id: string): Promise<IdempotencyEntry | null> {
    const document = await this.model.findById(id).lean<StoredKey>().exec();
    if (!document) return null;
    return {
      operation: document.operation,
      requestHash: document.requestHash,
      state: document.state,
      token: document.token,
      lockedUntil: document.lockedUntil,
      result: document.result ?? null,
      expiresAt: document.expiresAt,
    };
  }

  /** Reuses an expired key for a new request; false when someone else got there first. */
  async replaceExpired(claim: IdempotencyClaim): Promise<boolean> {
    const { _id, ...rest } = this.claimDocument(claim);
    const result = await this.model.replaceOne({ _id, expiresAt: { $lte: claim.now } }, rest).exec();
    return result.matchedCount === 1;
  }

  /** Takes over a key whose holder died; conditional on the holder's token so only one taker wins. */
  async takeOver(id: string, previousToken: string, token: string, lockedUntil: Date): Promise<boolean> {
    const result = await this.model
      .updateOne({ _id: id, token: previousToken, state: 'IN_PROGRESS' }, { $set: { token, lockedUntil } })
      .exec();
    return result.modifiedCount === 1;
  }

  async complete(id: string, token: string, result: string): Promise<void> {
    await this.model.collection.updateOne({ _id: id, token } as never, { $set: { state: 'COMPLETED', result } });
  }

  async release(id: string, token: string): Promise<void> {
    await this.model.deleteOne({ _id: id, token, state: 'IN_PROGRESS' }).exec();
  }

  async deleteExpired(now: Date): Promise<number> {
    const result = await this.model.deleteMany({ expiresAt: { $lte: now } }).exec();
    return result.deletedCount;
  }

  private claimDocument(claim: IdempotencyClaim): StoredKey {
    return {
      _id: claim.id,
      operation: claim.operation,
      requestHash: claim.requestHash,
      state: 'IN_PROGRESS',
      token: claim.token,
      lockedUntil: claim.lockedUntil,
      result: null,
      createdAt: claim.now,
      expiresAt: claim.expiresAt,
    };
  }
}
