import { operation } from '../utils/graphql-client.js';

export interface OriginView {
  source: string;
  apiKey: string | null;
  idempotencyKey: string | null;
  reason: string | null;
}

export interface InventoryChangedView {
  seq: number;
  eventId: string;
  version: number;
  sku: string;
  location: string;
  onHand: number;
  reserved: number;
  available: number;
  delta: { onHand: number; reserved: number };
  origin: OriginView;
}

export interface AvailabilityChangedView {
  seq: number;
  eventId: string;
  version: number;
  channel: string;
  sku: string;
  availableToSell: number;
  previous: number | null;
  origin: OriginView;
}

export interface PriceChangedView {
  seq: number;
  version: number;
  priceList: string;
  sku: string;
  amount: number;
}

export interface CatalogChangedView {
  seq: number;
  version: number;
  entity: string;
  key: string;
  outcome: string;
}

const ORIGIN = 'origin { source apiKey idempotencyKey reason }';

export const INVENTORY_CHANGED = `subscription Inventory($channel: String!, $skus: [String!], $since: SafeInt) {
  inventoryChanged(channel: $channel, skus: $skus, since: $since) { seq eventId version sku location onHand reserved available delta { onHand reserved } ${ORIGIN} }
}`;

export const AVAILABILITY_CHANGED = `subscription Availability($channel: String!, $skus: [String!], $since: SafeInt) {
  availabilityChanged(channel: $channel, skus: $skus, since: $since) { seq eventId version channel sku availableToSell previous ${ORIGIN} }
}`;

export const PRICE_CHANGED = `subscription Prices($channel: String!, $since: SafeInt) {
  priceChanged(channel: $channel, since: $since) { seq version priceList sku amount }
}`;

export const CATALOG_CHANGED = `subscription Catalog($since: SafeInt) {
  catalogChanged(since: $since) { seq version entity key outcome }
}`;

export interface ChangePageView {
  lastSeq: number;
  hasMore: boolean;
  changes: ({ __typename: string; seq: number; version: number } & Record<string, unknown>)[];
}

export const changes = operation<{ changes: ChangePageView }, { since: number; first?: number; filter?: { kinds?: string[]; skus?: string[]; channel?: string } }>(`
  query Changes($since: SafeInt!, $first: Int, $filter: ChangeFilter) {
    changes(since: $since, first: $first, filter: $filter) {
      lastSeq hasMore
      changes {
        __typename seq version
        ... on InventoryChanged { sku location onHand }
        ... on AvailabilityChanged { channel sku availableToSell }
        ... on PriceChanged { priceList sku amount }
        ... on CatalogChanged { entity key }
        ... on ReservationChanged { reservationId channel state previousState orderRef lines { sku quantity } origin { reason } }
      }
    }
  }
`);

export const changeFeedHead = operation<{ changeFeedHead: number }>(`query Head { changeFeedHead }`);
