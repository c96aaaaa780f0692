import { outboxEntry, type ChangeOriginValue } from '../../domain/changes/change-event.js';
import { withOutbox, WITHOUT_OUTBOX, type OutboxSignal } from '../outbox.js';
import type { Connection, Model } from 'mongoose';
import type { ReservationAllocation, ReservationRecord, ReservationState } from '../../domain/inventory/reservation.types.js';
import { reservationSchema, type ReservationDocument } from '../models/reservation.model.js';

type StoredReservation = ReservationDocument & { _id: string };

function toRecord({ _id, ...document }: StoredReservation): ReservationRecord {
  return {
    id: _id,
    channelCode: document.channelCode,
    orderRef: document.orderRef ?? null,
    state: document.state,
    pending: (document.pending ?? null) as ReservationRecord['pending'],
    apiKeyId: document.apiKeyId,
    apiKey: document.apiKey,
    expiresAt: document.expiresAt,
    lines: document.lines.map((line) => ({ skuCode: line.skuCode, quantity: line.quantity, allocations: line.allocations.map((a) => ({ locationCode: a.locationCode, quantity: a.quantity })) })),
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

/** Every state change is a conditional single-document update: two racing transitions cannot both win. */
export class ReservationRepository {
  private readonly model: Model<StoredReservation>;

  constructor(
    connection: Connection,
    private readonly signal: OutboxSignal,
  ) {
    this.model = connection.model<StoredReservation>('Reservation', reservationSchema);
  }

  async insert(record: ReservationRecord): Promise<void> {
    const { id, ...rest } = record;
    await this.model.create({ _id: id, ...rest, lines: rest.lines.map((line) => ({ ...line, allocations: [...line.allocations] })) });
  }

  async findById(id: string): Promise<ReservationRecord | null> {
    const document = await this.model.findById(id, WITHOUT_OUTBOX).lean<StoredReservation>().exec();
    return document ? toRecord(document) : null;
  }

  /** Records an allocation before the position is touched, so a crash leaves a trace the sweeper can undo. */
  async addAllocation(id: string, line: number, allocation: ReservationAllocation, at: Date): Promise<void> {
    await this.model.updateOne({ _id: id, state: 'PENDING' }, { $push: { [`lines.${line}.allocations`]: allocation }, $set: { updatedAt: at } }).exec();
  }

  /**
   * Moves to `to` only from `from` (and only with the expected pending marker); false when someone else moved it.
   * With `origin`, the state change is a change event, written in the same update (the pending markers of a
   * transition in progress are internal and carry none).
   */
  async transition(id: string, from: { state: ReservationState; pending: ReservationRecord['pending'] }, to: { state: ReservationState; pending: ReservationRecord['pending'] }, at: Date, extra: Record<string, unknown> = {}, origin: ChangeOriginValue | null = null): Promise<boolean> {
    const set = { $set: { state: to.state, pending: to.pending, updatedAt: at, ...extra } };
    const update = origin ? withOutbox({ ...set, $inc: { version: 1 } }, [outboxEntry(origin, at, { data: { state: to.state, previousState: from.state } })]) : set;
    const result = await this.model.updateOne({ _id: id, state: from.state, pending: from.pending }, update).exec();
    if (result.modifiedCount !== 1) return false;
    if (origin) this.signal.notify(this.model.collection.collectionName, id);
    return true;
  }

  /** Active reservations past their expiry, oldest first. */
  async findExpired(now: Date, limit: number): Promise<ReservationRecord[]> {
    const documents = await this.model.find({ state: 'ACTIVE', pending: null, expiresAt: { $lte: now } }).sort({ expiresAt: 1 }).limit(limit).lean<StoredReservation[]>().exec();
    return documents.map(toRecord);
  }

  /** Reservations left PENDING or mid-transition by a gateway that died, untouched since `before`. */
  async findStale(before: Date, limit: number): Promise<ReservationRecord[]> {
    const documents = await this.model
      .find({ $or: [{ state: 'PENDING' }, { pending: { $ne: null } }], updatedAt: { $lte: before } })
      .limit(limit)
      .lean<StoredReservation[]>()
      .exec();
    return documents.map(toRecord);
  }
}
