import type { Resolvers } from '../../src/generated/graphql.js';
import { availableOf, type InventoryMovementRecord, type InventoryPositionView } from '../../src/domain/inventory/inventory.types.js';
import { connectionResolvers } from '../common/results.resolver.js';

export const inventoryEntityResolvers: Resolvers = {
  InventoryPosition: {
    available: (position) => availableOf(position),
  },
  InventoryPositionConnection: connectionResolvers<InventoryPositionView>(),
  InventoryMovementConnection: connectionResolvers<InventoryMovementRecord>(),
  InventoryItemError: {
    __resolveType: (error) => error.errorType,
  },
};
