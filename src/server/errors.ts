import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { DomainError } from '../domain/common/errors.js';

/** Codes whose messages are written for clients (GraphQL's own and Apollo's request errors). */
const CLIENT_SAFE_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PAYLOAD_TOO_LARGE',
]);

/**
 * Masks every error that is not meant for clients as INTERNAL_SERVER_ERROR, with no stack and no message
 * (driver errors name collections, hosts and values), in every mode. DomainErrors keep their stable code.
 */
export function createErrorFormatter(logger: Logger) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    // Apollo's unwrapResolverError unwraps only errors with a path; a DomainError from elsewhere keeps its code too.
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    const where = { ...(formatted.path ? { path: formatted.path } : {}), ...(formatted.locations ? { locations: formatted.locations } : {}) };
    if (original instanceof DomainError) {
      return { message: original.message, ...where, extensions: { ...original.details, code: original.code } };
    }
    const code = formatted.extensions?.['code'];
    if (typeof code === 'string' && CLIENT_SAFE_CODES.has(code)) {
      const { stacktrace: _stacktrace, exception: _exception, ...extensions } = formatted.extensions ?? {};
      // Apollo's hideSchemaDetailsFromClientErrors covers validation, not variable coercion ("Value "ACTIV" does
      // not exist in "CatalogStatus" enum. Did you mean …?"), so suggestions are stripped here for every error.
      return { message: hideSchemaDetails(formatted.message), ...where, extensions: { ...extensions, code } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error (masked as INTERNAL_SERVER_ERROR)');
    return { message: 'Internal server error', ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/** Strips "Did you mean …?" from validation messages, as Apollo's hideSchemaDetailsFromClientErrors does on HTTP. */
export function hideSchemaDetails(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}
