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
  readonly generation: string;
}

export interface IdempotencyEntry {
  readonly operation: string;
  readonly requestHash: string;
  readonly state: 'IN_PROGRESS' | 'COMPLETED' | 'RELEASED';
  readonly token: string;
  readonly lockedUntil: Date;
  readonly result: string | null;
  readonly expiresAt: Date;
  /** Null on records from before generations existed. */
  readonly generation: string | null;
}

/** What a request that takes a key over writes into its record. */
export interface IdempotencyTakeOver {
  readonly token: string;
  readonly lockedUntil: Date;
  /** The taker's: the same as the record's, except when a released key is taken over for other input. */
  readonly requestHash: string;
  readonly operation: string;
  readonly generation: string | null;
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
      generation: document.generation ?? null,
    };
  }

  /** Reuses an expired key for a new request; false when someone else got there first. */
  async replaceExpired(claim: IdempotencyClaim): Promise<boolean> {
    const { _id, ...rest } = this.claimDocument(claim);
    const result = await this.model.replaceOne({ _id, expiresAt: { $lte: claim.now } }, rest).exec();
    return result.matchedCount === 1;
  }

  /**
   * Takes over a key whose holder died (IN_PROGRESS past its lease) or gave it back (RELEASED); conditional on
   * the token seen, so only one taker wins.
   */
  async takeOver(id: string, previous: { readonly token: string; readonly state: 'IN_PROGRESS' | 'RELEASED' }, taker: IdempotencyTakeOver): Promise<boolean> {
    const result = await this.model
      .updateOne({ _id: id, token: previous.token, state: previous.state }, { $set: { ...taker, state: 'IN_PROGRESS' } })
      .exec();
    return result.modifiedCount === 1;
  }

  async complete(id: string, token: string, result: string): Promise<void> {
    await this.model.collection.updateOne({ _id: id, token } as never, { $set: { state: 'COMPLETED', result } });
  }

  /**
   * Gives the key back after a failed or rejected request. The record stays, with its generation, until it expires:
   * a retry of the same request must find the operations a failed attempt may have applied under it.
   */
  async release(id: string, token: string): Promise<void> {
    await this.model.updateOne({ _id: id, token, state: 'IN_PROGRESS' }, { $set: { state: 'RELEASED', result: null } }).exec();
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
      generation: claim.generation,
    };
  }
}
