import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/** Sequence numbers outgrow Int's 32 bits; any non-negative integer a JSON number carries exactly. */
function toSafeInt(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new GraphQLError(`Expected a non-negative integer below 2^53, but got ${JSON.stringify(value)}.`, { extensions: { code: 'BAD_USER_INPUT' } });
}

export const safeIntScalar = new GraphQLScalarType<number, number>({
  name: 'SafeInt',
  description: 'A non-negative integer below 2^53, as a JSON number.',
  serialize: (value) => toSafeInt(value),
  parseValue: toSafeInt,
  parseLiteral: (ast) => toSafeInt(ast.kind === Kind.INT ? Number(ast.value) : null),
});
