import type { Resolvers } from '../../src/generated/graphql.js';
import { archivedField, connectionResolvers } from '../common/results.resolver.js';
import type { ProductRecord } from '../../src/domain/catalog/catalog.types.js';

export const productEntityResolvers: Resolvers = {
  Product: {
    ...archivedField,
    skus: (product, _, ctx) => ctx.services.skus.forProduct(ctx, product.code),
  },
  ProductConnection: connectionResolvers<ProductRecord>(),
  ProductUpsertItem: { product: (item) => item.record },
};
