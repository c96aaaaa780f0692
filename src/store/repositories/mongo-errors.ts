/**
 * True for MongoDB's E11000 duplicate key error. With `index` given, only when that index was violated, so a
 * clash on a secondary unique index is not mistaken for "the record already exists".
 */
export function isDuplicateKeyError(error: unknown, index?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, keyPattern, message } = error as { code?: unknown; keyPattern?: Record<string, unknown>; message?: unknown };
  if (code !== 11000) return false;
  if (index === undefined) return true;
  if (keyPattern) return Object.keys(keyPattern).join(',') === index;
  // Some servers (the embedded one among them) omit keyPattern; the message names the index.
  return typeof message === 'string' && message.includes(index === '_id' ? '_id_' : index);
}

/** True when every write of an unordered bulk insert that failed failed as a duplicate key: the rest went in. */
export function isOnlyDuplicateKeyErrors(error: unknown): boolean {
  const writeErrors = (error as { writeErrors?: { code?: number; err?: { code?: number } }[] }).writeErrors;
  return Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every((entry) => (entry.code ?? entry.err?.code) === 11000);
}
