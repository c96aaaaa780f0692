import type { Resolvers } from '../../src/generated/graphql.js';
import type { ReservationRecord } from '../../src/domain/inventory/reservation.types.js';
import type { ErrorCode } from '../../src/generated/graphql.js';
import { errorTypename } from '../common/results.resolver.js';

/** A reservation, or the typed error (its errorCode names the member). */
function reservationOr<C extends ErrorCode>() {
  return { __resolveType: (result: ReservationRecord | { readonly errorCode: C }) => ('errorCode' in result ? errorTypename(result) : ('Reservation' as const)) };
}

export const reservationResolvers: Resolvers = {
  Query: {
    reservation: (_, { id }, ctx) => ctx.services.reservations.get(ctx, id),
  },
  Mutation: {
    reserveInventory: (_, { channel, items, ttlSeconds, orderRef, idempotencyKey }, ctx) => ctx.services.reservations.reserve(ctx, channel, items, ttlSeconds, orderRef, idempotencyKey),
    commitReservation: (_, { id }, ctx) => ctx.services.reservations.commit(ctx, id),
    releaseReservation: (_, { id }, ctx) => ctx.services.reservations.release(ctx, id),
  },
  ReserveInventoryResult: reservationOr<'INSUFFICIENT_STOCK' | 'INVALID_INPUT' | 'IDEMPOTENCY_KEY_REUSED' | 'IDEMPOTENCY_KEY_IN_PROGRESS'>(),
  ReservationTransitionResult: reservationOr<'RESERVATION_NOT_ACTIVE'>(),
};
