import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/common/errors.js';
import { createLogger } from '../../src/logging/logger.js';
import { createErrorFormatter, hideSchemaDetails } from '../../src/server/errors.js';

const formatError = createErrorFormatter(createLogger('silent'));

describe('error masking', () => {
  it('masks an unexpected error as INTERNAL_SERVER_ERROR, without its message or stack', () => {
    const driverError = new Error('E11000 duplicate key error collection: retail_sync.skus index: _id_ dup key: { _id: "secret" }');
    const formatted = formatError({ message: driverError.message, path: ['sku'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } }, new GraphQLError(driverError.message, { originalError: driverError }));
    expect(formatted).toEqual({ message: 'Internal server error', path: ['sku'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('keeps a DomainError\'s stable code and message', () => {
    const error = new DomainError('FORBIDDEN', 'API key "x" lacks the "catalog:write" scope.', { requiredScope: 'catalog:write' });
    const formatted = formatError({ message: error.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, new GraphQLError(error.message, { originalError: error }));
    expect(formatted).toEqual({ message: error.message, extensions: { requiredScope: 'catalog:write', code: 'FORBIDDEN' } });
  });

  it('passes client errors through without a stack trace', () => {
    const formatted = formatError({ message: 'Syntax Error: Unexpected <EOF>.', extensions: { code: 'GRAPHQL_PARSE_FAILED', stacktrace: ['GraphQLError: …'] } }, new GraphQLError('x'));
    expect(formatted).toEqual({ message: 'Syntax Error: Unexpected <EOF>.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('strips schema suggestions', () => {
    expect(hideSchemaDetails('Value "ACTIV" does not exist in "CatalogStatus" enum. Did you mean the enum value "ACTIVE"?')).toBe('Value "ACTIV" does not exist in "CatalogStatus" enum.');
  });
});
