import { operation } from '../utils/graphql-client.js';
import type { BatchResult, Connection, Issue } from './operations.js';

/** Typed price operations the e2e tests send; result types list only what the tests read. */

const ERRORS = `
  ... on ErrorResult { errorCode message }
  ... on InvalidInputError { issues { index path code message } }`;

export interface PriceListView {
  code: string;
  name: string;
  currency: string;
  channelCode: string | null;
  region: string | null;
  effectiveFrom: string | null;
  effectiveUntil: string | null;
  priority: number;
  taxMode: 'GROSS' | 'NET';
  version: number;
  archived: boolean;
}
const PRICE_LIST_FIELDS = 'code name currency channelCode region effectiveFrom effectiveUntil priority taxMode version archived';

export const upsertPriceLists = operation<{ upsertPriceLists: BatchResult<'priceList', PriceListView> }, { input: unknown; key?: string | null }>(`
  mutation UpsertPriceLists($input: [PriceListInput!]!, $key: String) {
    upsertPriceLists(input: $input, idempotencyKey: $key) {
      __typename
      ... on PriceListBatchResult { replayed items { index outcome priceList { ${PRICE_LIST_FIELDS} } } }
      ${ERRORS}
    }
  }`);

export const archivePriceLists = operation<{ archivePriceLists: BatchResult<'priceList', PriceListView> }, { codes: unknown; key?: string | null }>(`
  mutation ArchivePriceLists($codes: [String!]!, $key: String) {
    archivePriceLists(codes: $codes, idempotencyKey: $key) {
      __typename
      ... on PriceListBatchResult { replayed items { index outcome priceList { ${PRICE_LIST_FIELDS} } } }
      ${ERRORS}
    }
  }`);

export const priceListByCode = operation<{ priceList: PriceListView | null }, { code: string }>(`
  query PriceList($code: String!) { priceList(code: $code) { ${PRICE_LIST_FIELDS} } }`);

export const allPriceLists = operation<{ priceLists: PriceListView[] }, { includeArchived?: boolean }>(`
  query PriceLists($includeArchived: Boolean) { priceLists(includeArchived: $includeArchived) { ${PRICE_LIST_FIELDS} } }`);

export interface PriceView {
  priceListCode: string;
  sku: string;
  amount: number;
  compareAtAmount: number | null;
  currency: string;
  taxMode: string;
  version: number;
}
const PRICE_FIELDS = 'priceListCode sku amount compareAtAmount currency taxMode version';

export interface PriceStateView {
  amount: number;
  compareAtAmount: number | null;
  version: number;
}

export interface PriceChangeView {
  id: string;
  priceListCode: string;
  sku: string;
  before: PriceStateView | null;
  after: PriceStateView;
  apiKey: string;
  idempotencyKey: string;
  at: string;
}
const CHANGE_FIELDS = 'id priceListCode sku before { amount compareAtAmount version } after { amount compareAtAmount version } apiKey idempotencyKey at';

export interface StalePriceView {
  __typename: 'StalePriceError';
  message: string;
  sku: string;
  expectedVersion: number;
  currentVersion: number;
  currentAmount: number | null;
  currentCompareAtAmount: number | null;
}

export interface PriceItemView {
  index: number;
  outcome: 'CREATED' | 'UPDATED' | 'UNCHANGED' | 'REJECTED';
  price: PriceView | null;
  change: PriceChangeView | null;
  error: StalePriceView | null;
}

export type SetPricesView =
  | { __typename: 'InvalidInputError'; errorCode: 'INVALID_INPUT'; message: string; issues: Issue[] }
  | { __typename: 'IdempotencyKeyReusedError' | 'IdempotencyKeyInProgressError'; errorCode: string; message: string }
  | { __typename: 'PriceBatchResult'; replayed: boolean; items: PriceItemView[] };

export const setPrices = operation<{ setPrices: SetPricesView }, { priceList: string; items: unknown; key: string }>(`
  mutation SetPrices($priceList: String!, $items: [PriceInput!]!, $key: String!) {
    setPrices(priceList: $priceList, items: $items, idempotencyKey: $key) {
      __typename
      ... on PriceBatchResult {
        replayed
        items {
          index outcome
          price { ${PRICE_FIELDS} }
          change { ${CHANGE_FIELDS} }
          error { __typename ... on StalePriceError { message sku expectedVersion currentVersion currentAmount currentCompareAtAmount } }
        }
      }
      ${ERRORS}
    }
  }`);

export const priceOf = operation<{ price: (PriceView & { priceList: { code: string; currency: string } }) | null }, { priceList: string; sku: string }>(`
  query Price($priceList: String!, $sku: String!) { price(priceList: $priceList, sku: $sku) { ${PRICE_FIELDS} priceList { code currency } } }`);

export const pricesPage = operation<{ prices: Connection<PriceView> }, { priceList: string; first?: number; after?: string | null }>(`
  query Prices($priceList: String!, $first: Int, $after: String) {
    prices(priceList: $priceList, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${PRICE_FIELDS} } }
    }
  }`);

export const priceHistory = operation<{ priceHistory: Connection<PriceChangeView> }, { priceList: string; sku: string; first?: number; after?: string | null }>(`
  query PriceHistory($priceList: String!, $sku: String!, $first: Int, $after: String) {
    priceHistory(priceList: $priceList, sku: $sku, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${CHANGE_FIELDS} } }
    }
  }`);

export interface PriceCandidateView {
  priceList: { code: string };
  price: { amount: number };
  reason: string;
  outrankedBy: string | null;
}

export interface PriceResolutionView {
  sku: string;
  channelCode: string;
  region: string;
  currency: string;
  at: string;
  price: (PriceView & { priceList: { code: string } }) | null;
  candidates: PriceCandidateView[];
}

export const priceAt = operation<{ priceAt: PriceResolutionView }, { sku: string; channel: string; region?: string | null; at?: string | null }>(`
  query PriceAt($sku: String!, $channel: String!, $region: String, $at: DateTime) {
    priceAt(sku: $sku, channel: $channel, region: $region, at: $at) {
      sku channelCode region currency at
      price { ${PRICE_FIELDS} priceList { code } }
      candidates { priceList { code } price { amount } reason outrankedBy }
    }
  }`);
