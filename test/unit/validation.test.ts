import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { productBatchSchema, skuBatchSchema } from '../../src/domain/catalog/catalog.validation.js';
import { hasValidGtinCheckDigit, validateBatch } from '../../src/domain/common/validation.js';
import { decodeCursor, encodeCursor, pageRequest } from '../../src/domain/common/pagination.js';
import { DomainError } from '../../src/domain/common/errors.js';

/** GS1's check digit, computed independently of the implementation (from the left, by position parity). */
function referenceCheckDigit(body: string): number {
  const weights = body.length % 2 === 0 ? [1, 3] : [3, 1];
  const sum = [...body].reduce((acc, digit, i) => acc + Number(digit) * weights[i % 2]!, 0);
  return (10 - (sum % 10)) % 10;
}

describe('GTIN check digits', () => {
  it.each([
    ['4006381333931', true], // EAN-13
    ['4006381333932', false],
    ['036000291452', true], // UPC-A
    ['036000291453', false],
    ['96385074', true], // EAN-8
    ['96385075', false],
    ['10614141000415', true], // GTIN-14
    ['10614141000416', false],
  ])('%s is %s', (gtin, valid) => {
    expect(hasValidGtinCheckDigit(gtin)).toBe(valid);
  });

  it('accepts exactly the GS1 check digit for any body of 7, 11, 12 or 13 digits', () => {
    const body = fc.constantFrom(7, 11, 12, 13).chain((length) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: length, maxLength: length }));
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 9 }), (digits, check) => {
        expect(hasValidGtinCheckDigit(digits + check)).toBe(check === referenceCheckDigit(digits));
      }),
    );
  });
});

describe('batch validation', () => {
  it('reports every issue with index, path and typed code', () => {
    const result = validateBatch(skuBatchSchema, [
      { code: 'ok', title: 'x' },
      { code: 'a b', barcodes: ['4006381333932'], attributes: [{ key: '$set', value: '1' }] },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.issues.map(({ index, path, code }) => ({ index, path, code }))).toEqual([
      { index: 1, path: ['code'], code: 'INVALID_FORMAT' },
      { index: 1, path: ['attributes', '0', 'key'], code: 'RESERVED_KEY' },
      { index: 1, path: ['barcodes', '0'], code: 'INVALID_CHECK_DIGIT' },
    ]);
  });

  it('sorts attributes by key so equal maps compare equal', () => {
    const result = validateBatch(productBatchSchema, [{ code: 'P', attributes: [{ key: 'b', value: '2' }, { key: 'a', value: '1' }] }]);
    expect(result.ok && result.value[0]!.attributes).toEqual([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
  });

  it('never accepts a code that could not be a MongoDB _id path segment or URL segment', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (code) => {
        const result = validateBatch(productBatchSchema, [{ code, title: 't' }]);
        if (result.ok) expect(code).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
      }),
    );
  });
});

describe('cursors', () => {
  it('round-trips any key', () => {
    // Keys are codes and `channel:sku` pairs.
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9:._-]{1,140}$/), (key) => {
        expect(decodeCursor(encodeCursor(key))).toBe(key);
      }),
    );
  });

  it('refuses a cursor it did not issue as BAD_USER_INPUT', () => {
    expect(() => decodeCursor('bm9wZQ')).toThrow(DomainError);
    expect(() => pageRequest(501, null)).toThrow(/between 0 and 500/);
  });
});
