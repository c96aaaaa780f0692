import { EJSON } from 'bson';
import type { ResultCodec } from './idempotency.service.js';

/** Canonical Extended JSON keeps Dates and integers exact across a store and replay. */
export function ejsonCodec<R>(): ResultCodec<R> {
  return {
    encode: (result) => EJSON.stringify(result as Parameters<typeof EJSON.stringify>[0], { relaxed: false }),
    decode: (text) => EJSON.parse(text, { relaxed: false }) as R,
  };
}
