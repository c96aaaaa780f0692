import type { Resolvers } from '../../src/generated/graphql.js';
import { isErrorResult } from '../../src/domain/common/errors.js';
import { errorTypename } from '../common/results.resolver.js';

export const inventoryResetResolvers: Resolvers = {
  Query: {
    inventoryResetJob: (_, { id }, ctx) => ctx.services.inventoryReset.getJob(ctx, id),
  },
  Mutation: {
    importInventory: (_, { path, asOf, policy, absent }, ctx) => ctx.services.inventoryReset.importFromServer(ctx, { path, asOf, policy, absent }),
  },
  ImportInventoryResult: {
    __resolveType: (result) => (isErrorResult(result) ? errorTypename(result) : 'InventoryResetJob'),
  },
  InventoryResetJob: {
    requestedBy: (job) => job.requestedBy.name,
  },
};
