import type { Resolvers } from '../../src/generated/graphql.js';
import type { PriceChangeRecord, PriceListRecord, PriceRecord } from '../../src/domain/pricing/pricing.types.js';
import type { RequestContext } from '../../src/domain/common/request-context.js';
import { DomainError } from '../../src/domain/common/errors.js';
import { connectionResolvers } from '../common/results.resolver.js';

/** Lists are archived, never deleted, so a price's list always exists. */
async function listOf(price: PriceRecord, ctx: RequestContext): Promise<PriceListRecord> {
  const list = await ctx.loaders.priceListByCode.load(price.priceList);
  if (!list) throw new DomainError('NOT_FOUND', `Price list "${price.priceList}" of SKU "${price.sku}" is missing.`);
  return list;
}

export const priceEntityResolvers: Resolvers = {
  Price: {
    priceListCode: (price) => price.priceList,
    priceList: (price, _, ctx) => listOf(price, ctx),
    currency: async (price, _, ctx) => (await listOf(price, ctx)).currency,
    taxMode: async (price, _, ctx) => (await listOf(price, ctx)).taxMode,
  },
  PriceConnection: connectionResolvers<PriceRecord>(),
  PriceChange: { priceListCode: (change) => change.priceList },
  PriceChangeConnection: connectionResolvers<PriceChangeRecord>(),
  PriceResolution: {
    price: (resolution) => resolution.winner?.price ?? null,
  },
  PriceCandidate: { priceList: (candidate) => candidate.list },
};
