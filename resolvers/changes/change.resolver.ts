import type { RequestContext } from '../../src/domain/common/request-context.js';
import type { ChangeEventValue } from '../../src/domain/changes/change-event.js';
import type { CatalogEntity, InventoryFlag, ReservationState, Resolvers } from '../../src/generated/graphql.js';
import { safeIntScalar } from './safe-int.scalar.js';

const CATALOG_ENTITY: Partial<Record<ChangeEventValue['entity'], CatalogEntity>> = {
  Product: 'PRODUCT',
  Sku: 'SKU',
  Location: 'LOCATION',
  Channel: 'CHANNEL',
  SkuMapping: 'SKU_MAPPING',
  PriceList: 'PRICE_LIST',
};

const TYPENAME = {
  InventoryPosition: 'InventoryChanged',
  ChannelAvailability: 'AvailabilityChanged',
  Price: 'PriceChanged',
  Reservation: 'ReservationChanged',
} as const;

const number = (event: ChangeEventValue, field: string): number => Number(event.data[field] ?? 0);
const delta = (event: ChangeEventValue) => event.data['delta'] as { onHand: number; reserved: number; safetyStock: number };

/** Each subscription field streams change events; the event itself is the payload (`resolve` passes it on). */
const stream = <A>(open: (ctx: RequestContext, args: A) => Promise<AsyncIterableIterator<ChangeEventValue>>) => ({
  subscribe: (_: unknown, args: A, ctx: RequestContext) => open(ctx, args),
  resolve: (event: ChangeEventValue) => event,
});

export const changeResolvers: Resolvers = {
  SafeInt: safeIntScalar,
  Query: {
    changes: (_, { since, first, filter }, ctx) => ctx.services.changes.changes(ctx, since, first, filter),
    changeFeedHead: (_, __, ctx) => ctx.services.changes.head(),
  },
  Subscription: {
    inventoryChanged: stream((ctx, args: { channel: string; skus?: string[] | null; locations?: string[] | null; since?: number | null }) => ctx.services.changes.inventoryChanged(ctx, args)),
    availabilityChanged: stream((ctx, args: { channel: string; skus?: string[] | null; since?: number | null }) => ctx.services.changes.availabilityChanged(ctx, args)),
    priceChanged: stream((ctx, args: { channel: string; since?: number | null }) => ctx.services.changes.priceChanged(ctx, args)),
    catalogChanged: stream((ctx, args: { since?: number | null }) => ctx.services.changes.catalogChanged(ctx, args)),
  } as Resolvers['Subscription'],
  ChangeEvent: {
    __resolveType: (event) => (event.entity in TYPENAME ? TYPENAME[event.entity as keyof typeof TYPENAME] : 'CatalogChanged'),
  },
  ChangeOrigin: {
    apiKey: (origin) => origin.apiKey,
  },
  InventoryChanged: {
    sku: (event) => event.sku ?? '',
    location: (event) => event.location ?? '',
    onHand: (event) => number(event, 'onHand'),
    reserved: (event) => number(event, 'reserved'),
    safetyStock: (event) => number(event, 'safetyStock'),
    available: (event) => number(event, 'available'),
    delta: (event) => delta(event),
    flags: (event) => (event.data['flags'] as InventoryFlag[] | undefined) ?? [],
  },
  AvailabilityChanged: {
    channel: (event) => String(event.data['channel']),
    sku: (event) => event.sku ?? '',
    availableToSell: (event) => number(event, 'availableToSell'),
    previous: (event) => (event.data['previous'] as number | null | undefined) ?? null,
  },
  PriceChanged: {
    priceList: (event) => String(event.data['priceList']),
    sku: (event) => event.sku ?? '',
    currency: (event) => String(event.data['currency']),
    amount: (event) => number(event, 'amount'),
    compareAtAmount: (event) => (event.data['compareAtAmount'] as number | null | undefined) ?? null,
  },
  ReservationChanged: {
    reservationId: (event) => event.key,
    channel: (event) => String(event.data['channel'] ?? ''),
    state: (event) => event.data['state'] as ReservationState,
    previousState: (event) => event.data['previousState'] as ReservationState,
    orderRef: (event) => (event.data['orderRef'] as string | null | undefined) ?? null,
    expiresAt: (event) => (event.data['expiresAt'] as Date | null | undefined) ?? null,
    lines: (event) => (event.data['lines'] as { sku: string; quantity: number }[] | undefined) ?? [],
  },
  CatalogChanged: {
    entity: (event) => CATALOG_ENTITY[event.entity] ?? 'PRODUCT',
    outcome: (event) => String(event.data['outcome'] ?? 'UPDATED'),
    channel: (event) => event.channels?.[0] ?? null,
  },
};
