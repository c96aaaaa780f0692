import type { Resolvers } from '../../src/generated/graphql.js';
import { batchUnion } from '../common/results.resolver.js';

export const productResolvers: Resolvers = {
  Query: {
    product: (_, { code }, ctx) => ctx.services.products.get(ctx, code),
    products: (_, { filter, first, after }, ctx) => ctx.services.products.list(ctx, filter, first, after),
  },
  Mutation: {
    upsertProducts: (_, { input, idempotencyKey }, ctx) => ctx.services.products.upsert(ctx, input, idempotencyKey),
  },
  UpsertProductsResult: batchUnion('ProductBatchResult'),
};
