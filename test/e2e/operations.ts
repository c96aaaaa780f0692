import { operation } from '../utils/graphql-client.js';

/** Typed operations the e2e tests send; result types list only what the tests read. */

export interface Issue {
  index: number | null;
  path: string[];
  code: string;
  message: string;
}

type Outcome = 'CREATED' | 'UPDATED' | 'UNCHANGED';

export type BatchResult<K extends string, T> =
  | { __typename: 'InvalidInputError'; errorCode: 'INVALID_INPUT'; message: string; issues: Issue[] }
  | { __typename: 'IdempotencyKeyReusedError' | 'IdempotencyKeyInProgressError'; errorCode: string; message: string }
  | ({ __typename: string; replayed: boolean; items: ({ index: number; outcome: Outcome } & Record<K, T>)[] });

const ERRORS = `
  ... on ErrorResult { errorCode message }
  ... on InvalidInputError { issues { index path code message } }`;

export interface SkuView {
  code: string;
  productCode: string;
  title: string;
  status: string;
  version: number;
  archived: boolean;
  taxClass: string | null;
  barcodes: string[];
  attributes: { key: string; value: string }[];
  updatedAt: string;
}
const SKU_FIELDS = 'code productCode title status version archived taxClass barcodes attributes { key value } updatedAt';

export const upsertLocations = operation<{ upsertLocations: BatchResult<'location', { code: string; version: number }> }, { input: unknown; key?: string | null }>(`
  mutation UpsertLocations($input: [LocationInput!]!, $key: String) {
    upsertLocations(input: $input, idempotencyKey: $key) {
      __typename
      ... on LocationBatchResult { replayed items { index outcome location { code version } } }
      ${ERRORS}
    }
  }`);

export const upsertChannels = operation<{ upsertChannels: BatchResult<'channel', { code: string; version: number; locationCodes: string[] }> }, { input: unknown; key?: string | null }>(`
  mutation UpsertChannels($input: [ChannelInput!]!, $key: String) {
    upsertChannels(input: $input, idempotencyKey: $key) {
      __typename
      ... on ChannelBatchResult { replayed items { index outcome channel { code version locationCodes } } }
      ${ERRORS}
    }
  }`);

export const upsertProducts = operation<{ upsertProducts: BatchResult<'product', { code: string; title: string; version: number; updatedAt: string }> }, { input: unknown; key?: string | null }>(`
  mutation UpsertProducts($input: [ProductInput!]!, $key: String) {
    upsertProducts(input: $input, idempotencyKey: $key) {
      __typename
      ... on ProductBatchResult { replayed items { index outcome product { code title version updatedAt } } }
      ${ERRORS}
    }
  }`);

export const upsertSkus = operation<{ upsertSkus: BatchResult<'sku', SkuView> }, { input: unknown; key?: string | null }>(`
  mutation UpsertSkus($input: [SkuInput!]!, $key: String) {
    upsertSkus(input: $input, idempotencyKey: $key) {
      __typename
      ... on SkuBatchResult { replayed items { index outcome sku { ${SKU_FIELDS} } } }
      ${ERRORS}
    }
  }`);

export const archiveSkus = operation<{ archiveSkus: BatchResult<'sku', SkuView> }, { codes: unknown; key?: string | null }>(`
  mutation ArchiveSkus($codes: [String!]!, $key: String) {
    archiveSkus(codes: $codes, idempotencyKey: $key) {
      __typename
      ... on SkuBatchResult { replayed items { index outcome sku { ${SKU_FIELDS} } } }
      ${ERRORS}
    }
  }`);

export interface MappingView {
  channelCode: string;
  skuCode: string;
  externalVariantId: string;
  externalProductId: string | null;
  active: boolean;
  version: number;
  history: { externalVariantId: string; replacedBy: string }[];
}
const MAPPING_FIELDS = 'channelCode skuCode externalVariantId externalProductId active version history { externalVariantId replacedBy }';

export const mapSkus = operation<{ mapSkus: BatchResult<'mapping', MappingView> }, { channel: string; input: unknown; key?: string | null }>(`
  mutation MapSkus($channel: String!, $input: [SkuMappingInput!]!, $key: String) {
    mapSkus(channel: $channel, input: $input, idempotencyKey: $key) {
      __typename
      ... on SkuMappingBatchResult { replayed items { index outcome mapping { ${MAPPING_FIELDS} } } }
      ${ERRORS}
    }
  }`);

export const unmapSkus = operation<{ unmapSkus: BatchResult<'mapping', MappingView> }, { channel: string; skuCodes: unknown; key?: string | null }>(`
  mutation UnmapSkus($channel: String!, $skuCodes: [String!]!, $key: String) {
    unmapSkus(channel: $channel, skuCodes: $skuCodes, idempotencyKey: $key) {
      __typename
      ... on SkuMappingBatchResult { replayed items { index outcome mapping { ${MAPPING_FIELDS} } } }
      ${ERRORS}
    }
  }`);

export const skuByCode = operation<{ sku: (SkuView & { product: { code: string }; mappings: { channelCode: string; externalVariantId: string }[] }) | null }, { code: string }>(`
  query Sku($code: String!) { sku(code: $code) { ${SKU_FIELDS} product { code } mappings { channelCode externalVariantId } } }`);

export interface Connection<T> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: T }[];
}

export const skusPage = operation<{ skus: Connection<{ code: string; status: string }> }, { filter?: unknown; first?: number; after?: string | null }>(`
  query Skus($filter: SkuFilter, $first: Int, $after: String) {
    skus(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { code status } }
    }
  }`);

export const skusWithRelations = operation<{ skus: { nodes: { code: string; product: { code: string; title: string }; mappings: { channelCode: string; externalVariantId: string }[] }[] } }, { first: number; filter?: unknown }>(`
  query SkusWithRelations($first: Int!, $filter: SkuFilter) {
    skus(first: $first, filter: $filter) { nodes { code product { code title } mappings { channelCode externalVariantId } } }
  }`);

export const productWithSkus = operation<{ product: { code: string; title: string; version: number; skus: { code: string }[] } | null }, { code: string }>(`
  query Product($code: String!) { product(code: $code) { code title version skus { code } } }`);

export const productsPage = operation<{ products: Connection<{ code: string }> }, { filter?: unknown; first?: number; after?: string | null }>(`
  query Products($filter: ProductFilter, $first: Int, $after: String) {
    products(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { code } } }
  }`);

export const channelsAndLocations = operation<{ channels: { code: string; locations: { code: string }[] }[]; locations: { code: string }[] }>(`
  query ChannelsAndLocations { channels { code locations { code } } locations { code } }`);

export const channelByCode = operation<{ channel: { code: string } | null }, { code: string }>(`
  query Channel($code: String!) { channel(code: $code) { code } }`);

export const locationByCode = operation<{ location: { code: string; timezone: string; version: number } | null }, { code: string }>(`
  query Location($code: String!) { location(code: $code) { code timezone version } }`);

export const skuMappingsPage = operation<{ skuMappings: Connection<MappingView> }, { channel: string; filter?: unknown; first?: number; after?: string | null }>(`
  query SkuMappings($channel: String!, $filter: SkuMappingFilter, $first: Int, $after: String) {
    skuMappings(channel: $channel, filter: $filter, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${MAPPING_FIELDS} } }
    }
  }`);

export const viewer = operation<{ viewer: { name: string; scopes: string[]; channels: string[] } }>(`query Viewer { viewer { name scopes channels } }`);
