import type { Page } from '../../src/domain/common/pagination.js';
import type { ErrorResultValue } from '../../src/domain/common/errors.js';
import type { ReplayableBatch } from '../../src/domain/common/batch-mutation.js';
import type { ErrorCode } from '../../src/generated/graphql.js';

const ERROR_TYPENAMES = {
  INVALID_INPUT: 'InvalidInputError',
  IDEMPOTENCY_KEY_REUSED: 'IdempotencyKeyReusedError',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'IdempotencyKeyInProgressError',
  INSUFFICIENT_STOCK: 'InsufficientStockError',
  RESERVATION_NOT_ACTIVE: 'ReservationNotActiveError',
} as const satisfies Record<ErrorCode, string>;

export function errorTypename<C extends ErrorCode>(result: { readonly errorCode: C }): (typeof ERROR_TYPENAMES)[C] {
  return ERROR_TYPENAMES[result.errorCode];
}

/** Resolves a bulk mutation's result union: the batch on success, else the typed error. */
export function batchUnion<S extends string>(successTypename: S) {
  return { __resolveType: (result: ReplayableBatch | ErrorResultValue): S | (typeof ERROR_TYPENAMES)[ErrorResultValue['errorCode']] => ('kind' in result ? successTypename : errorTypename(result)) };
}

/** The Relay connection fields, the same for every list. */
export function connectionResolvers<T>() {
  return {
    edges: (page: Page<T>) => page.items.map((node) => ({ cursor: page.cursorOf(node), node })),
    nodes: (page: Page<T>) => page.items,
    pageInfo: (page: Page<T>) => {
      const first = page.items[0];
      const last = page.items[page.items.length - 1];
      return {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: page.hasPreviousPage,
        startCursor: first === undefined ? null : page.cursorOf(first),
        endCursor: last === undefined ? null : page.cursorOf(last),
      };
    },
    totalCount: (page: Page<T>) => page.totalCount(),
  };
}

/** `archived` is derived from the stored archive time. */
export const archivedField = { archived: (record: { archivedAt: Date | null }) => record.archivedAt !== null };

export const commonResolvers = {
  ErrorResult: { __resolveType: (result: { readonly errorCode: ErrorCode }) => errorTypename(result) },
};
