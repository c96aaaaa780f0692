import type { Resolvers } from '../../src/generated/graphql.js';
import { archivedField, batchUnion } from '../common/results.resolver.js';

export const locationResolvers: Resolvers = {
  Query: {
    location: (_, { code }, ctx) => ctx.services.locations.get(ctx, code),
    locations: (_, { includeArchived }, ctx) => ctx.services.locations.list(ctx, includeArchived),
  },
  Mutation: {
    upsertLocations: (_, { input, idempotencyKey }, ctx) => ctx.services.locations.upsert(ctx, input, idempotencyKey),
  },
  UpsertLocationsResult: batchUnion('LocationBatchResult'),
  Location: archivedField,
  LocationUpsertItem: { location: (item) => item.record },
};
