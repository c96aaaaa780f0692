import { DomainError } from './errors.js';

/** A page of a list ordered by a unique key; the shape every Relay connection resolver reads. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  cursorOf(item: T): string;
  /** Counted only when a client asks for it: a count is a separate, potentially slow, query. */
  totalCount(): Promise<number>;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

const CURSOR_PREFIX = 'v1:';

/** Cursors are opaque to clients; the version prefix lets the format change without breaking old ones silently. */
export function encodeCursor(key: string): string {
  return Buffer.from(CURSOR_PREFIX + key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith(CURSOR_PREFIX) || raw.length === CURSOR_PREFIX.length) {
    throw new DomainError('BAD_USER_INPUT', `Invalid cursor "${cursor.slice(0, 64)}": pass an endCursor from a previous page.`, {
      argument: 'after',
    });
  }
  return raw.slice(CURSOR_PREFIX.length);
}

export interface PageRequest {
  readonly first: number;
  /** Decoded key after which the page starts. */
  readonly afterKey: string | null;
}

export function pageRequest(first: number | null | undefined, after: string | null | undefined): PageRequest {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new DomainError('BAD_USER_INPUT', `Expected first between 0 and ${MAX_PAGE_SIZE}, but got ${size}.`, {
      argument: 'first',
    });
  }
  return { first: size, afterKey: after ? decodeCursor(after) : null };
}

/**
 * Builds a page from `first + 1` rows fetched in key order: the extra row only tells whether there is a next
 * page.
 */
export function pageOf<T>(
  rows: readonly T[],
  request: PageRequest,
  keyOf: (item: T) => string,
  totalCount: () => Promise<number>,
): Page<T> {
  return {
    items: rows.slice(0, request.first),
    hasNextPage: rows.length > request.first,
    hasPreviousPage: request.afterKey !== null,
    cursorOf: (item) => encodeCursor(keyOf(item)),
    totalCount,
  };
}
