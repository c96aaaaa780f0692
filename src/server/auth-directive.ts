import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Caller, Scope } from '../domain/access/access.types.js';
import { DomainError } from '../domain/common/errors.js';
import type { RequestContext } from '../domain/common/request-context.js';
import type { Scope as GraphqlScope } from '../generated/graphql.js';

const SCOPE_BY_NAME: Record<GraphqlScope, Scope> = {
  CATALOG_READ: 'catalog:read',
  CATALOG_WRITE: 'catalog:write',
  INVENTORY_READ: 'inventory:read',
  INVENTORY_WRITE: 'inventory:write',
  PRICES_WRITE: 'prices:write',
  SYNC_ADMIN: 'sync:admin',
};

export function toGraphqlScope(scope: Scope): GraphqlScope {
  return (Object.keys(SCOPE_BY_NAME) as GraphqlScope[]).find((name) => SCOPE_BY_NAME[name] === scope)!;
}

export function requireScope(caller: Caller, scope: Scope): void {
  if (!caller.scopes.includes(scope)) {
    throw new DomainError('FORBIDDEN', `API key "${caller.name}" lacks the "${scope}" scope.`, { requiredScope: scope });
  }
}

/**
 * Enforces `@auth(scope: …)` on every root field. A root field without it fails the schema build: a new
 * operation cannot ship unprotected by accident.
 */
export function applyAuthDirective(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.ROOT_FIELD]: (field, fieldName, typeName) => {
      const directive = getDirective(schema, field, 'auth')?.[0] as { scope: GraphqlScope } | undefined;
      if (!directive) throw new Error(`${typeName}.${fieldName} has no @auth(scope: …) directive; every root field must declare the scope it needs.`);
      const scope = SCOPE_BY_NAME[directive.scope];
      const guard = <R extends GraphQLFieldResolver<unknown, RequestContext> | undefined>(inner: R): R =>
        (inner &&
          ((source: unknown, args: Record<string, unknown>, ctx: RequestContext, info: Parameters<GraphQLFieldResolver<unknown, RequestContext>>[3]) => {
            requireScope(ctx.caller, scope);
            return inner(source, args, ctx, info);
          })) as R;
      return { ...field, resolve: guard(field.resolve ?? defaultFieldResolver), subscribe: guard(field.subscribe) };
    },
  });
}
