import type { Resolvers } from '../../src/generated/graphql.js';
import { archivedField, batchUnion } from '../common/results.resolver.js';

export const channelResolvers: Resolvers = {
  Query: {
    channel: (_, { code }, ctx) => ctx.services.channels.get(ctx, code),
    channels: (_, { includeArchived }, ctx) => ctx.services.channels.list(ctx, includeArchived),
  },
  Mutation: {
    upsertChannels: (_, { input, idempotencyKey }, ctx) => ctx.services.channels.upsert(ctx, input, idempotencyKey),
  },
  UpsertChannelsResult: batchUnion('ChannelBatchResult'),
  Channel: {
    ...archivedField,
    locations: (channel, _, ctx) => ctx.services.channels.locationsOf(ctx, channel),
  },
  ChannelUpsertItem: { channel: (item) => item.record },
};
