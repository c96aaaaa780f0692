import type { Resolvers } from '../../src/generated/graphql.js';
import { batchUnion } from '../common/results.resolver.js';

export const inventoryResolvers: Resolvers = {
  Query: {
    inventoryPosition: (_, { sku, location }, ctx) => ctx.services.inventory.getPosition(ctx, sku, location),
    inventoryPositions: (_, { filter, first, after }, ctx) => ctx.services.inventory.listPositions(ctx, filter, first, after),
    inventoryMovements: (_, { sku, location, since, first, after }, ctx) => ctx.services.inventory.listMovements(ctx, sku, location, since, first, after),
    availableToSell: (_, { channel, skus, explain }, ctx) => ctx.services.inventory.availableToSell(ctx, channel, skus, explain ?? false),
  },
  Mutation: {
    adjustInventory: (_, { items, idempotencyKey }, ctx) => ctx.services.inventory.adjust(ctx, items, idempotencyKey),
    setInventory: (_, { items, idempotencyKey }, ctx) => ctx.services.inventory.set(ctx, items, idempotencyKey),
  },
  AdjustInventoryResult: batchUnion('InventoryBatchResult'),
  SetInventoryResult: batchUnion('InventoryBatchResult'),
};
