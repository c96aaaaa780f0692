import { EJSON } from 'bson';
import type { ResultCodec } from './idempotency.service.js';

/**
 * Extended JSON keeps Dates (and any BSON value) exact across a store and replay. Decoding is relaxed so that
 * numbers come back as plain numbers, not Int32/Double wrappers.
 */
export function ejsonCodec<R>(): ResultCodec<R> {
  return {
    encode: (result) => EJSON.stringify(result as Parameters<typeof EJSON.stringify>[0], { relaxed: false }),
    decode: (text) => EJSON.parse(text, { relaxed: true }) as R,
  };
}
