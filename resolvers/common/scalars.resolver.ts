import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function toDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value as string)) {
    throw new GraphQLError(`Expected an ISO-8601 date-time such as 2026-11-24T07:00:00Z, but got ${JSON.stringify(value)}.`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}

export const scalarResolvers = {
  DateTime: new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    description: 'An ISO-8601 instant in UTC.',
    serialize: (value) => {
      if (value instanceof Date) return value.toISOString();
      // Replayed idempotent results may carry dates already serialized.
      if (typeof value === 'string') return toDate(value).toISOString();
      throw new GraphQLError('DateTime cannot represent a non-date value.');
    },
    parseValue: toDate,
    parseLiteral: (ast) => toDate(ast.kind === Kind.STRING ? ast.value : null),
  }),
};
