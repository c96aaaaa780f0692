import type { Resolvers } from '../../src/generated/graphql.js';
import { batchUnion } from '../common/results.resolver.js';

export const skuResolvers: Resolvers = {
  Query: {
    sku: (_, { code }, ctx) => ctx.services.skus.get(ctx, code),
    skus: (_, { filter, first, after }, ctx) => ctx.services.skus.list(ctx, filter, first, after),
  },
  Mutation: {
    upsertSkus: (_, { input, idempotencyKey }, ctx) => ctx.services.skus.upsert(ctx, input, idempotencyKey),
    archiveSkus: (_, { codes, idempotencyKey }, ctx) => ctx.services.skus.archive(ctx, codes, idempotencyKey),
  },
  UpsertSkusResult: batchUnion('SkuBatchResult'),
  ArchiveSkusResult: batchUnion('SkuBatchResult'),
};
