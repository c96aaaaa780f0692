import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/**
 * Integer amounts beyond Int's 32 bits (2^31 − 1 cents is only 21 million euros): any integer that a JSON number
 * carries exactly. The range an amount may take is checked where it is written, with a typed InputIssue.
 */
function toMinorUnits(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new GraphQLError(`Expected an integer amount in minor units (e.g. 1999 for 19.99), but got ${JSON.stringify(value)}.`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

export const minorUnitsScalar = new GraphQLScalarType<number, number>({
  name: 'MinorUnits',
  description: "An integer amount in the currency's minor units, as a JSON number.",
  serialize: (value) => {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    throw new GraphQLError('MinorUnits cannot represent a non-integer value.');
  },
  parseValue: toMinorUnits,
  parseLiteral: (ast) => toMinorUnits(ast.kind === Kind.INT ? Number(ast.value) : ast.kind === Kind.FLOAT ? Number(ast.value) : null),
});
