import { randomUUID } from 'node:crypto';
import { originOf, outboxEntry, systemOrigin } from '../changes/change-event.js';
import { failpoint } from '../../faults/failpoints.js';
import type { ChannelRepository } from '../../store/repositories/channel.repository.js';
import type { InventoryPositionRepository } from '../../store/repositories/inventory-position.repository.js';
import type { ReservationRepository } from '../../store/repositories/reservation.repository.js';
import type { SkuRepository } from '../../store/repositories/sku.repository.js';
import { assertChannelAccess, canSeeChannel } from '../access/channel-access.js';
import type { ChannelRecord } from '../channel/channel.types.js';
import { unknownReferences } from '../common/batch-mutation.js';
import { DomainError, invalidInput, type ErrorResultValue, type InputIssue } from '../common/errors.js';
import type { IdempotencyService } from '../common/idempotency.service.js';
import type { RequestContext } from '../common/request-context.js';
import { ejsonCodec } from '../common/result-codec.js';
import { duplicatesInBatch, validateBatch } from '../common/validation.js';
import { availableOf, positionKey, type InventoryPositionRecord } from './inventory.types.js';
import type { PositionWriter } from './position-writer.js';
import type { InsufficientStockErrorValue, ReservationAllocation, ReservationNotActiveErrorValue, ReservationRecord } from './reservation.types.js';
import { orderRefSchema, reservationItemsSchema, ttlSecondsSchema, type ReservationItem } from './reservation.validation.js';

export interface ReservationOptions {
  /** A reservation left PENDING or mid-transition this long was abandoned by a dead gateway: the sweeper finishes it. */
  readonly staleAfterMs: number;
}

/** Placing a line re-reads availability this often when concurrent reservations took the stock it planned on. */
const MAX_PLACEMENT_ROUNDS = 5;
/** Reservations the sweeper handles per pass; the next pass takes the rest. */
const SWEEP_BATCH = 100;

export type ReserveOutcome = ReservationRecord | InsufficientStockErrorValue | ErrorResultValue;
export type TransitionOutcome = ReservationRecord | ReservationNotActiveErrorValue;

/**
 * Reservations without transactions: the reservation document is written first (PENDING), stock is held per
 * position with conditional updates whose holds record the reservation id, and every transition (commit,
 * release, expiry) is claimed on the reservation document before positions are touched. Each step is safe to
 * repeat, so a retry or the sweeper finishes whatever a dead gateway left half done.
 */
export class ReservationService {
  constructor(
    private readonly reservations: ReservationRepository,
    private readonly positions: InventoryPositionRepository,
    private readonly skus: SkuRepository,
    private readonly channels: ChannelRepository,
    private readonly writer: PositionWriter,
    private readonly idempotency: IdempotencyService,
    private readonly options: ReservationOptions,
  ) {}

  async get(ctx: RequestContext, id: string): Promise<ReservationRecord | null> {
    const reservation = await this.reservations.findById(id);
    return reservation && canSeeChannel(ctx.caller, reservation.channelCode) ? reservation : null;
  }

  reserve(ctx: RequestContext, channelCode: string, items: unknown, ttlSeconds: number, orderRef: string | null | undefined, idempotencyKey: string | null | undefined): Promise<ReserveOutcome> {
    assertChannelAccess(ctx.caller, channelCode);
    if (!idempotencyKey) {
      return Promise.resolve(invalidInput([{ index: null, path: ['idempotencyKey'], code: 'REQUIRED', message: 'reserveInventory needs an idempotency key.' }]));
    }
    return this.idempotency.run<ReserveOutcome>(
      ctx,
      { operation: 'reserveInventory', key: idempotencyKey, input: { channel: channelCode, items, ttlSeconds, orderRef }, codec: ejsonCodec(), onReplay: (stored) => stored },
      async () => {
        const parsed = validateBatch(reservationItemsSchema, items, 'items');
        if (!parsed.ok) return parsed.error;
        const issues: InputIssue[] = [...duplicatesInBatch(parsed.value, (item) => item.sku, ['sku'], 'SKU')];
        const ttl = ttlSecondsSchema.safeParse(ttlSeconds);
        if (!ttl.success) issues.push({ index: null, path: ['ttlSeconds'], code: 'OUT_OF_RANGE', message: ttl.error.issues[0]!.message });
        if (!orderRefSchema.safeParse(orderRef).success) issues.push({ index: null, path: ['orderRef'], code: 'TOO_LONG', message: 'At most 255 characters.' });
        const [channel, skus] = await Promise.all([this.channels.findByKey(channelCode), this.skus.findByKeys(parsed.value.map((item) => item.sku))]);
        if (!channel) issues.push({ index: null, path: ['channel'], code: 'UNKNOWN_REFERENCE', message: `Channel "${channelCode}" does not exist.` });
        const known = new Set(skus.map((sku) => sku.code));
        issues.push(...unknownReferences(parsed.value, (item) => item.sku, (code) => known.has(code), ['sku'], 'SKU'));
        if (issues.length > 0) return invalidInput(issues);
        return this.place(ctx, channel!, parsed.value, ttlSeconds, orderRef ?? null);
      },
    );
  }

  async commit(ctx: RequestContext, id: string): Promise<TransitionOutcome> {
    const reservation = await this.visible(ctx, id);
    if (reservation.state === 'COMMITTED') return reservation;
    if (reservation.state === 'ACTIVE' && reservation.pending === null && reservation.expiresAt <= new Date()) {
      // Expiry is a query condition: an expired reservation cannot be sold even before the sweeper ran.
      const expired = await this.finishRelease(ctx, reservation, 'EXPIRE');
      return notActive(expired);
    }
    if (reservation.state !== 'ACTIVE' || (reservation.pending !== null && reservation.pending !== 'COMMIT')) return notActive(reservation);
    if (reservation.pending === null && !(await this.reservations.transition(id, { state: 'ACTIVE', pending: null }, { state: 'ACTIVE', pending: 'COMMIT' }, new Date()))) {
      return this.commit(ctx, id); // someone else moved it first: answer from its new state
    }
    return this.finishCommit(ctx, { ...reservation, pending: 'COMMIT' });
  }

  async release(ctx: RequestContext, id: string): Promise<TransitionOutcome> {
    const reservation = await this.visible(ctx, id);
    if (reservation.state === 'RELEASED' || reservation.state === 'EXPIRED') return reservation;
    if (reservation.state !== 'ACTIVE' || reservation.pending === 'COMMIT') return notActive(reservation);
    return this.finishRelease(ctx, reservation, reservation.pending === 'EXPIRE' ? 'EXPIRE' : 'RELEASE');
  }

  /** Expires overdue reservations and finishes what dead gateways left half done. Returns how many it handled. */
  async sweep(ctx: RequestContext, now = new Date()): Promise<number> {
    const expired = await this.reservations.findExpired(now, SWEEP_BATCH);
    for (const reservation of expired) await this.finishRelease(ctx, reservation, 'EXPIRE');
    const stale = await this.reservations.findStale(new Date(now.getTime() - this.options.staleAfterMs), SWEEP_BATCH);
    for (const reservation of stale) {
      if (reservation.state === 'PENDING') await this.rollBack(reservation);
      else if (reservation.pending === 'COMMIT') await this.finishCommit(ctx, reservation);
      else if (reservation.pending === 'RELEASE' || reservation.pending === 'EXPIRE') await this.finishRelease(ctx, reservation, reservation.pending);
    }
    return expired.length + stale.length;
  }

  private async place(ctx: RequestContext, channel: ChannelRecord, items: readonly ReservationItem[], ttlSeconds: number, orderRef: string | null): Promise<ReservationRecord | InsufficientStockErrorValue> {
    const now = new Date();
    const pending: ReservationRecord = {
      id: randomUUID(),
      channelCode: channel.code,
      orderRef,
      state: 'PENDING',
      pending: null,
      apiKeyId: ctx.caller.keyId,
      apiKey: ctx.caller.name,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      lines: items.map((item) => ({ skuCode: item.sku, quantity: item.quantity, allocations: [] })),
      createdAt: now,
      updatedAt: now,
    };
    await this.reservations.insert(pending);
    const lines: ReservationRecord['lines'][number][] = [];
    for (const item of items) {
      let placed = await this.placeLine(ctx, pending, channel, item);
      if (!Array.isArray(placed)) {
        // Stock held by expired reservations comes back first: expiry does not wait for the sweeper here.
        if ((await this.sweepExpired(ctx)) > 0) placed = await this.placeLine(ctx, pending, channel, item, placed.allocations);
      }
      if (!Array.isArray(placed)) {
        await this.rollBack(pending);
        return { errorCode: 'INSUFFICIENT_STOCK', message: `SKU "${item.sku}" has ${placed.available} available in channel "${channel.code}", not ${item.quantity}; nothing was reserved.`, skuCode: item.sku, requested: item.quantity, available: placed.available };
      }
      lines.push({ skuCode: item.sku, quantity: item.quantity, allocations: placed });
    }
    const active: ReservationRecord = { ...pending, state: 'ACTIVE', lines, updatedAt: new Date() };
    const reserved = originOf(ctx, { reason: 'RESERVE', referenceDocument: referenceOf(pending) });
    if (!(await this.reservations.transition(pending.id, { state: 'PENDING', pending: null }, { state: 'ACTIVE', pending: null }, active.updatedAt, { lines }, reserved))) {
      // The sweeper judged us dead and rolled back: nothing is held any more.
      throw new DomainError('CONFLICT', `Reservation "${pending.id}" took too long to place and was rolled back; retry with a new idempotency key.`);
    }
    return active;
  }

  /**
   * Holds one line's quantity across the channel's locations in order. Resolves the allocations, or the
   * available quantity when the channel does not have enough (allocations made so far are then included so
   * the caller can try once more after a sweep).
   */
  private async placeLine(ctx: RequestContext, reservation: ReservationRecord, channel: ChannelRecord, item: ReservationItem, heldBefore: readonly ReservationAllocation[] = []): Promise<ReservationAllocation[] | { available: number; allocations: ReservationAllocation[] }> {
    const reservationId = reservation.id;
    const origin = originOf(ctx, { reason: 'RESERVE', referenceDocument: reservation.orderRef ?? `reservation:${reservationId}` });
    const allocations = [...heldBefore];
    let remaining = item.quantity - allocations.reduce((sum, allocation) => sum + allocation.quantity, 0);
    let available = 0;
    for (let round = 0; round < MAX_PLACEMENT_ROUNDS && remaining > 0; round++) {
      const used = new Set(allocations.map((allocation) => allocation.locationCode));
      const positions = new Map((await this.positions.findByKeys(channel.locationCodes.map((location) => positionKey(item.sku, location)))).map((p) => [p.locationCode, p] as const));
      available = [...positions.values()].filter((p) => !used.has(p.locationCode)).reduce((sum, p) => sum + Math.max(0, availableOf(p)), 0);
      const buffer = channel.inventoryBuffer;
      if (available - buffer < remaining) return { available: Math.max(0, available - buffer), allocations };
      let lost = false;
      for (const location of channel.locationCodes) {
        if (remaining === 0) break;
        const position: InventoryPositionRecord | undefined = positions.get(location);
        const take = Math.min(remaining, Math.max(0, position ? availableOf(position) : 0));
        if (take === 0 || used.has(location)) continue;
        const held = await this.positions.hold(positionKey(item.sku, location), reservationId, take, outboxEntry(origin, new Date()));
        if (held === 'insufficient') {
          lost = true; // someone else took it since we read: plan again with fresh numbers
          continue;
        }
        await failpoint('reservation.after-hold');
        allocations.push({ locationCode: location, quantity: take });
        remaining -= take;
      }
      if (!lost && remaining > 0) break;
    }
    return remaining === 0 ? allocations : { available, allocations };
  }

  private async finishCommit(ctx: RequestContext, reservation: ReservationRecord): Promise<ReservationRecord> {
    for (const line of reservation.lines) {
      for (const allocation of line.allocations) {
        const ids = { skuCode: line.skuCode, locationCode: allocation.locationCode };
        const current = await this.positions.findByKey(positionKey(line.skuCode, allocation.locationCode));
        await this.writer.apply(
          ctx,
          {
            index: 0,
            opId: `commit:${reservation.id}:${allocation.locationCode}:${line.skuCode}`,
            ...ids,
            reason: 'SALE',
            referenceDocument: referenceOf(reservation),
            idempotencyKey: null,
            decide: (current) => {
              const hold = current?.holds.find((entry) => entry.reservationId === reservation.id);
              if (!current || !hold) return { kind: 'unchanged', flags: [] };
              return { kind: 'apply', onHand: current.onHand - hold.quantity, reserved: current.reserved - hold.quantity, safetyStock: current.safetyStock, removeHold: reservation.id, flags: [] };
            },
          },
          current,
        );
      }
    }
    const now = new Date();
    await this.reservations.transition(reservation.id, { state: 'ACTIVE', pending: 'COMMIT' }, { state: 'COMMITTED', pending: null }, now, {}, originOf(ctx, { reason: 'COMMIT', referenceDocument: referenceOf(reservation) }));
    return { ...reservation, state: 'COMMITTED', pending: null, updatedAt: now };
  }

  private async finishRelease(ctx: RequestContext, reservation: ReservationRecord, kind: 'RELEASE' | 'EXPIRE'): Promise<ReservationRecord> {
    if (reservation.pending === null && !(await this.reservations.transition(reservation.id, { state: 'ACTIVE', pending: null }, { state: 'ACTIVE', pending: kind }, new Date()))) {
      return (await this.reservations.findById(reservation.id)) ?? reservation;
    }
    const now = new Date();
    const origin = kind === 'EXPIRE' ? systemOrigin('SWEEPER', { reason: 'EXPIRE', referenceDocument: referenceOf(reservation) }) : originOf(ctx, { reason: 'RELEASE', referenceDocument: referenceOf(reservation) });
    for (const position of await this.positions.findHolding(reservation.id)) await this.positions.releaseHold(position.key, reservation.id, outboxEntry(origin, now));
    const state = kind === 'EXPIRE' ? 'EXPIRED' : 'RELEASED';
    await this.reservations.transition(reservation.id, { state: 'ACTIVE', pending: kind }, { state, pending: null }, now, {}, origin);
    ctx.logger.debug({ reservationId: reservation.id, state }, 'reservation released');
    return { ...reservation, state, pending: null, updatedAt: now };
  }

  /**
   * Gives back whatever a reservation that never became ACTIVE holds, found by its holds, not by its record.
   * The rollback is claimed first: a slow placement that is still alive then fails its own PENDING → ACTIVE
   * step instead of activating a reservation whose stock was just given back.
   */
  private async rollBack(reservation: ReservationRecord): Promise<void> {
    const now = new Date();
    if (reservation.pending !== 'ROLLBACK' && !(await this.reservations.transition(reservation.id, { state: 'PENDING', pending: null }, { state: 'PENDING', pending: 'ROLLBACK' }, now))) return;
    const origin = systemOrigin('SWEEPER', { apiKeyId: reservation.apiKeyId, apiKey: reservation.apiKey, reason: 'ROLLBACK', referenceDocument: referenceOf(reservation) });
    for (const position of await this.positions.findHolding(reservation.id)) await this.positions.releaseHold(position.key, reservation.id, outboxEntry(origin, now));
    await this.reservations.transition(reservation.id, { state: 'PENDING', pending: 'ROLLBACK' }, { state: 'FAILED', pending: null }, now);
  }

  private async sweepExpired(ctx: RequestContext): Promise<number> {
    const expired = await this.reservations.findExpired(new Date(), SWEEP_BATCH);
    for (const reservation of expired) await this.finishRelease(ctx, reservation, 'EXPIRE');
    return expired.length;
  }

  private async visible(ctx: RequestContext, id: string): Promise<ReservationRecord> {
    const reservation = await this.get(ctx, id);
    if (!reservation) throw new DomainError('NOT_FOUND', `No reservation "${id}".`);
    return reservation;
  }
}

function referenceOf(reservation: ReservationRecord): string {
  return reservation.orderRef ?? `reservation:${reservation.id}`;
}

function notActive(reservation: ReservationRecord): ReservationNotActiveErrorValue {
  return {
    errorCode: 'RESERVATION_NOT_ACTIVE',
    message: `Reservation "${reservation.id}" is ${reservation.state.toLowerCase()}, not active.`,
    reservationId: reservation.id,
    state: reservation.state,
  };
}
