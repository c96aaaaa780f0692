import { z } from 'zod';
import { MAX_BATCH_ITEMS } from './batch.js';
import { invalidInput, type InputIssue, type InputIssueCode, type InvalidInputResult } from './errors.js';

/**
 * Building blocks for validating client input at the domain edge. Every zod issue becomes a typed InputIssue:
 * refinements declare their {@link InputIssueCode}; built-in checks map by kind (string too long → TOO_LONG,
 * array too long → TOO_MANY_ITEMS, empty batch → EMPTY_BATCH, pattern → INVALID_FORMAT).
 */

/** For refinements: zod keeps `params` on custom issues only; built-in checks map by their zod code. */
const msg = (message: string) => ({ message });
const withCode = (code: InputIssueCode, message: string) => ({ message, params: { code } });

export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const MAX_CODE_LENGTH = 64;

/** Codes of products, SKUs, locations and channels: they become MongoDB `_id`s and URL segments. */
export const codeSchema = z
  .string()
  .min(1, msg('A code is required.'))
  .max(MAX_CODE_LENGTH, msg(`A code has at most ${MAX_CODE_LENGTH} characters.`))
  .regex(CODE_PATTERN, msg("A code starts with a letter or digit and has only letters, digits, '_', '.' and '-'."));

export const textSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1, msg('A non-blank value is required.'))
    .max(max, msg(`At most ${max} characters.`));

/** Ids of other systems (Shopify GIDs, marketplace listing ids): printable, no spaces, not our reserved '~'. */
export const externalIdSchema = z
  .string()
  .min(1, msg('An external id is required.'))
  .max(255, msg('An external id has at most 255 characters.'))
  .regex(/^[^~\s][^\s]*$/, msg("An external id has no white space and does not start with '~'."));

const ATTRIBUTE_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

export const attributeKeySchema = z
  .string()
  .min(1, msg('An attribute key is required.'))
  .max(64, msg('An attribute key has at most 64 characters.'))
  // '$'-prefixed and dotted keys would be read by MongoDB as operators or paths.
  .refine((key) => !key.startsWith('$') && !key.includes('.'), withCode('RESERVED_KEY', "An attribute key may not start with '$' or contain '.'."))
  .refine((key) => key.startsWith('$') || key.includes('.') || ATTRIBUTE_KEY_PATTERN.test(key), withCode('INVALID_FORMAT', "An attribute key has only letters, digits, '_' and '-'."));

export const attributesSchema = z
  .array(z.object({ key: attributeKeySchema, value: z.string().max(1024, msg('An attribute value has at most 1,024 characters.')) }))
  .max(100, msg('At most 100 attributes.'))
  .superRefine((attributes, ctx) => {
    const seen = new Set<string>();
    attributes.forEach((attribute, i) => {
      if (seen.has(attribute.key)) {
        ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `Attribute key "${attribute.key}" appears twice.`, params: { code: 'DUPLICATE_IN_BATCH' } });
      }
      seen.add(attribute.key);
    });
  })
  // Sorted so that equal maps compare equal and an unchanged write is detected.
  .transform((attributes) => [...attributes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));

/** GTIN-8, -12 (UPC-A), -13 (EAN) or -14 with a valid GS1 mod-10 check digit. */
export const gtinSchema = z
  .string()
  .regex(/^(\d{8}|\d{12}|\d{13}|\d{14})$/, msg('A barcode is a GTIN of 8, 12, 13 or 14 digits.'))
  .refine((gtin) => !/^(\d{8}|\d{12}|\d{13}|\d{14})$/.test(gtin) || hasValidGtinCheckDigit(gtin), withCode('INVALID_CHECK_DIGIT', 'The GTIN check digit is wrong.'));

export function hasValidGtinCheckDigit(gtin: string): boolean {
  const digits = [...gtin].map(Number);
  const check = digits.pop();
  // GS1: from the right (excluding the check digit), weights alternate 3, 1, 3, …
  const sum = digits.reverse().reduce((acc, digit, i) => acc + digit * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === check;
}

export const regionSchema = textSchema(64);

export const timezoneSchema = z
  .string()
  .refine((tz) => isTimeZone(tz), withCode('INVALID_FORMAT', 'Expected an IANA time zone such as Europe/Berlin.'));

export const currencySchema = z
  .string()
  .refine((c) => CURRENCIES.has(c), withCode('INVALID_FORMAT', 'Expected an ISO 4217 currency code such as EUR.'));

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'));

function isTimeZone(tz: string): boolean {
  if (TIME_ZONES.has(tz)) return true;
  // supportedValuesOf lists canonical zones only; aliases such as UTC are valid too.
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const batchSchema = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1, msg('The batch is empty.'))
    .max(MAX_BATCH_ITEMS, msg(`A batch has at most ${MAX_BATCH_ITEMS} items.`));

export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: InvalidInputResult };

/**
 * Parses a batch; on failure every issue is reported with the item's index and field path, so a client can
 * fix the whole batch in one round trip.
 */
export function validateBatch<T extends z.ZodType>(schema: T, items: unknown, argument = 'input'): Validated<z.output<T>> {
  // reportInput: tells a missing value (REQUIRED) from a wrong one (INVALID_FORMAT).
  const parsed = schema.safeParse(items, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: invalidInput(parsed.error.issues.map((issue) => toInputIssue(issue, argument))) };
}

function toInputIssue(issue: z.core.$ZodIssue, argument: string): InputIssue {
  const [head, ...rest] = issue.path;
  const index = typeof head === 'number' ? head : null;
  const path = (index === null ? [argument, ...issue.path] : rest).map(String);
  return { index, path, code: issueCode(issue), message: issue.message };
}

function issueCode(issue: z.core.$ZodIssue): InputIssueCode {
  const declared = (issue as { params?: { code?: InputIssueCode } }).params?.code;
  if (declared) return declared;
  switch (issue.code) {
    case 'too_big':
      return issue.origin === 'array' ? 'TOO_MANY_ITEMS' : issue.origin === 'string' ? 'TOO_LONG' : 'OUT_OF_RANGE';
    case 'too_small':
      return issue.origin === 'array' ? 'EMPTY_BATCH' : issue.origin === 'string' ? 'REQUIRED' : 'OUT_OF_RANGE';
    case 'invalid_type':
    case 'invalid_union':
      return issue.input === undefined ? 'REQUIRED' : 'INVALID_FORMAT';
    default:
      return 'INVALID_FORMAT';
  }
}

/** Issues for items whose key repeats an earlier item's key within one batch. */
export function duplicatesInBatch<T>(items: readonly T[], keyOf: (item: T) => string, path: readonly string[], what: string): InputIssue[] {
  const firstIndex = new Map<string, number>();
  const issues: InputIssue[] = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    const earlier = firstIndex.get(key);
    if (earlier === undefined) firstIndex.set(key, index);
    else issues.push({ index, path, code: 'DUPLICATE_IN_BATCH', message: `${what} "${key}" also appears at index ${earlier}.` });
  });
  return issues;
}
