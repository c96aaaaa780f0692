import type { Resolvers } from '../../src/generated/graphql.js';
import { archivedField, batchUnion } from '../common/results.resolver.js';

export const priceListResolvers: Resolvers = {
  Query: {
    priceList: (_, { code }, ctx) => ctx.services.priceLists.get(ctx, code),
    priceLists: (_, { includeArchived }, ctx) => ctx.services.priceLists.list(ctx, includeArchived),
  },
  Mutation: {
    upsertPriceLists: (_, { input, idempotencyKey }, ctx) => ctx.services.priceLists.upsert(ctx, input, idempotencyKey),
    archivePriceLists: (_, { codes, idempotencyKey }, ctx) => ctx.services.priceLists.archive(ctx, codes, idempotencyKey),
  },
  UpsertPriceListsResult: batchUnion('PriceListBatchResult'),
  ArchivePriceListsResult: batchUnion('PriceListBatchResult'),
  PriceList: archivedField,
  PriceListUpsertItem: { priceList: (item) => item.record },
};
