import type { Resolvers } from '../../src/generated/graphql.js';
import type { SkuMappingRecord } from '../../src/domain/channel/channel.types.js';
import { DomainError } from '../../src/domain/common/errors.js';
import { batchUnion, connectionResolvers } from '../common/results.resolver.js';

export const skuMappingResolvers: Resolvers = {
  Query: {
    skuMappings: (_, { channel, filter, first, after }, ctx) => ctx.services.skuMappings.list(ctx, channel, filter, first, after),
  },
  Mutation: {
    mapSkus: (_, { channel, input, idempotencyKey }, ctx) => ctx.services.skuMappings.map(ctx, channel, input, idempotencyKey),
    unmapSkus: (_, { channel, skuCodes, idempotencyKey }, ctx) => ctx.services.skuMappings.unmap(ctx, channel, skuCodes, idempotencyKey),
  },
  MapSkusResult: batchUnion('SkuMappingBatchResult'),
  UnmapSkusResult: batchUnion('SkuMappingBatchResult'),
  SkuMapping: {
    sku: async (mapping, _, ctx) => {
      const sku = await ctx.services.skus.get(ctx, mapping.skuCode);
      if (!sku) throw new DomainError('NOT_FOUND', `SKU "${mapping.skuCode}" of a mapping in channel "${mapping.channelCode}" is missing.`);
      return sku;
    },
  },
  SkuMappingConnection: connectionResolvers<SkuMappingRecord>(),
  SkuMappingItem: { mapping: (item) => item.record },
};
