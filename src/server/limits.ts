import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';
import type { Limits } from '../config/config.js';

/**
 * Depth, alias, directive and cost limits as validation rules, shared by HTTP (Apollo) and WebSocket
 * (graphql-ws runs no Apollo plugins, so it gets the same rules in onSubscribe).
 *
 * Token limits are not armor's: its plugin turns syntax errors into HTTP 500, while Apollo's
 * `parseOptions.maxTokens` (and graphql's `parse(…, { maxTokens })` on the socket) answers 400. Field
 * suggestions are hidden by Apollo's `hideSchemaDetailsFromClientErrors` instead of armor's plugin. The cost
 * rule multiplies by a literal `first`, so the default budget (config MAX_COST) admits a full 500-item page
 * with its nested fields; pages are capped at 500 by the resolvers whatever the budget.
 */
export function limitRules(limits: Limits): ValidationRule[] {
  const armor = new ApolloArmor({
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
    maxDepth: { n: limits.maxDepth },
    maxAliases: { n: limits.maxAliases },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost },
  });
  return armor.protect().validationRules;
}
