import type { Resolvers } from '../../src/generated/graphql.js';
import { minorUnitsScalar } from './minor-units.scalar.js';
import { errorTypename } from '../common/results.resolver.js';
import type { ErrorResultValue } from '../../src/domain/common/errors.js';
import type { PriceBatchOutcome } from '../../src/domain/pricing/pricing.types.js';

export const priceResolvers: Resolvers = {
  MinorUnits: minorUnitsScalar,
  Query: {
    price: (_, { priceList, sku }, ctx) => ctx.services.prices.get(ctx, priceList, sku),
    prices: (_, { priceList, first, after }, ctx) => ctx.services.prices.list(ctx, priceList, first, after),
    priceHistory: (_, { priceList, sku, first, after }, ctx) => ctx.services.prices.historyOf(ctx, priceList, sku, first, after),
    priceAt: (_, { sku, channel, region, at }, ctx) => ctx.services.prices.priceAt(ctx, sku, channel, region, at),
  },
  Mutation: {
    setPrices: (_, { priceList, items, idempotencyKey }, ctx) => ctx.services.prices.set(ctx, priceList, items, idempotencyKey),
  },
  SetPricesResult: { __resolveType: (result: PriceBatchOutcome | ErrorResultValue) => ('kind' in result ? 'PriceBatchResult' : errorTypename(result)) },
  PriceItemError: { __resolveType: (error) => error.errorType },
};
