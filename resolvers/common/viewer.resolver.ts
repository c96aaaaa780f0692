import type { Resolvers } from '../../src/generated/graphql.js';
import { toGraphqlScope } from '../../src/server/auth-directive.js';

export const viewerResolvers: Resolvers = {
  Query: {
    viewer: (_, __, ctx) => ctx.caller,
  },
  Viewer: {
    scopes: (caller) => caller.scopes.map(toGraphqlScope),
  },
};
