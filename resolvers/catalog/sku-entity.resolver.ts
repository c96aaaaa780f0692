import type { Resolvers } from '../../src/generated/graphql.js';
import type { SkuRecord } from '../../src/domain/catalog/catalog.types.js';
import { DomainError } from '../../src/domain/common/errors.js';
import { archivedField, connectionResolvers } from '../common/results.resolver.js';

export const skuEntityResolvers: Resolvers = {
  Sku: {
    ...archivedField,
    product: async (sku, _, ctx) => {
      const product = await ctx.services.products.get(ctx, sku.productCode);
      // Products are archived, never deleted, so a SKU's product always exists.
      if (!product) throw new DomainError('NOT_FOUND', `Product "${sku.productCode}" of SKU "${sku.code}" is missing.`);
      return product;
    },
    mappings: (sku, _, ctx) => ctx.services.skuMappings.forSku(ctx, sku.code),
  },
  SkuConnection: connectionResolvers<SkuRecord>(),
  SkuUpsertItem: { sku: (item) => item.record },
};
