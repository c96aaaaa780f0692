import { operation } from '../utils/graphql-client.js';
import type { Issue } from './operations.js';

export interface PositionView {
  skuCode: string;
  locationCode: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
  version: number;
}
const POSITION = 'skuCode locationCode onHand reserved safetyStock available version';

export interface InventoryItemView {
  index: number;
  outcome: 'APPLIED' | 'UNCHANGED' | 'REJECTED';
  flags: string[];
  position: PositionView | null;
  movement: { id: string; delta: number; onHandBefore: number; onHandAfter: number; reason: string; apiKey: string } | null;
  error: { __typename: string; message: string; onHand?: number; delta?: number; expectedOnHand?: number; currentOnHand?: number } | null;
}

export type InventoryResult =
  | { __typename: 'InventoryBatchResult'; replayed: boolean; items: InventoryItemView[] }
  | { __typename: 'InvalidInputError'; errorCode: string; issues: Issue[] }
  | { __typename: 'IdempotencyKeyReusedError' | 'IdempotencyKeyInProgressError'; errorCode: string };

const RESULT = `
  __typename
  ... on InventoryBatchResult {
    replayed
    items {
      index outcome flags
      position { ${POSITION} }
      movement { id delta onHandBefore onHandAfter reason apiKey }
      error {
        __typename
        ... on NegativeStockError { message onHand delta }
        ... on StaleInventoryError { message expectedOnHand currentOnHand }
      }
    }
  }
  ... on ErrorResult { errorCode }
  ... on InvalidInputError { issues { index path code message } }`;

export const adjustInventory = operation<{ adjustInventory: InventoryResult }, { items: unknown; key: string }>(`
  mutation Adjust($items: [InventoryAdjustmentInput!]!, $key: String!) { adjustInventory(items: $items, idempotencyKey: $key) { ${RESULT} } }`);

export const setInventory = operation<{ setInventory: InventoryResult }, { items: unknown; key?: string | null }>(`
  mutation Set($items: [InventorySetInput!]!, $key: String) { setInventory(items: $items, idempotencyKey: $key) { ${RESULT} } }`);

export const inventoryPosition = operation<{ inventoryPosition: PositionView | null }, { sku: string; location: string }>(`
  query Position($sku: String!, $location: String!) { inventoryPosition(sku: $sku, location: $location) { ${POSITION} } }`);

export const inventoryPositions = operation<{ inventoryPositions: { totalCount: number; nodes: PositionView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }, { filter?: unknown; first?: number; after?: string | null }>(`
  query Positions($filter: InventoryPositionFilter, $first: Int, $after: String) {
    inventoryPositions(filter: $filter, first: $first, after: $after) { totalCount nodes { ${POSITION} } pageInfo { hasNextPage endCursor } }
  }`);

export interface MovementView {
  id: string;
  delta: number;
  reason: string;
  referenceDocument: string | null;
  apiKey: string;
  idempotencyKey: string | null;
  onHandBefore: number;
  onHandAfter: number;
  flags: string[];
}

export const inventoryMovements = operation<{ inventoryMovements: { totalCount: number; nodes: MovementView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }, { sku: string; location: string; first?: number; after?: string | null }>(`
  query Movements($sku: String!, $location: String!, $first: Int, $after: String) {
    inventoryMovements(sku: $sku, location: $location, first: $first, after: $after) {
      totalCount nodes { id delta reason referenceDocument apiKey idempotencyKey onHandBefore onHandAfter flags } pageInfo { hasNextPage endCursor }
    }
  }`);

export const availableToSell = operation<
  { availableToSell: { skuCode: string; availableToSell: number; explain: { sumOfLocations: number; channelBuffer: number; locations: { locationCode: string; available: number }[] } | null }[] },
  { channel: string; skus: string[]; explain?: boolean }
>(`
  query Ats($channel: String!, $skus: [String!]!, $explain: Boolean) {
    availableToSell(channel: $channel, skus: $skus, explain: $explain) { skuCode availableToSell explain { sumOfLocations channelBuffer locations { locationCode available } } }
  }`);

export interface ReservationView {
  id: string;
  state: string;
  channelCode: string;
  orderRef: string | null;
  lines: { skuCode: string; quantity: number; allocations: { locationCode: string; quantity: number }[] }[];
}
const RESERVATION = 'id state channelCode orderRef lines { skuCode quantity allocations { locationCode quantity } }';

export type ReserveResult =
  | ({ __typename: 'Reservation' } & ReservationView)
  | { __typename: 'InsufficientStockError'; errorCode: string; skuCode: string; requested: number; available: number }
  | { __typename: 'InvalidInputError'; errorCode: string; issues: Issue[] }
  | { __typename: string; errorCode: string };

export const reserveInventory = operation<{ reserveInventory: ReserveResult }, { channel: string; items: unknown; ttl: number; orderRef?: string | null; key: string }>(`
  mutation Reserve($channel: String!, $items: [ReservationItemInput!]!, $ttl: Int!, $orderRef: String, $key: String!) {
    reserveInventory(channel: $channel, items: $items, ttlSeconds: $ttl, orderRef: $orderRef, idempotencyKey: $key) {
      __typename
      ... on Reservation { ${RESERVATION} }
      ... on ErrorResult { errorCode message }
      ... on InsufficientStockError { skuCode requested available }
      ... on InvalidInputError { issues { index path code message } }
    }
  }`);

type Transition = ({ __typename: 'Reservation' } & ReservationView) | { __typename: 'ReservationNotActiveError'; errorCode: string; state: string };
const TRANSITION = `__typename ... on Reservation { ${RESERVATION} } ... on ReservationNotActiveError { errorCode state }`;

export const commitReservation = operation<{ commitReservation: Transition }, { id: string }>(`mutation Commit($id: ID!) { commitReservation(id: $id) { ${TRANSITION} } }`);
export const releaseReservation = operation<{ releaseReservation: Transition }, { id: string }>(`mutation Release($id: ID!) { releaseReservation(id: $id) { ${TRANSITION} } }`);
export const reservationById = operation<{ reservation: ReservationView | null }, { id: string }>(`query Reservation($id: ID!) { reservation(id: $id) { ${RESERVATION} } }`);
