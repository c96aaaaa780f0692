import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CsvError, parse } from 'csv-parse';
import { CODE_PATTERN, MAX_CODE_LENGTH } from '../../common/validation.js';
import type { ResetErrorCode, ResetRowErrorValue } from './inventory-reset.types.js';

/**
 * Reading a reset file: a UTF-8 CSV whose first line names the columns `sku`, `location`, `onHand` and
 * optionally `safetyStock`, in any order (names are matched without regard to case or surrounding spaces).
 * Streamed with csv-parse and handed out in chunks, so memory does not grow with the file.
 */

/** Quantities are whole numbers of units from 0 to one billion, as for adjustments. */
export const MAX_QUANTITY = 1_000_000_000;

const REQUIRED_COLUMNS = ['sku', 'location', 'onHand'] as const;
const OPTIONAL_COLUMNS = ['safetyStock'] as const;
type ColumnName = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];
const EXPECTED_HEADER = 'sku,location,onHand[,safetyStock]';

/** Where each known column is in a row. */
export interface ResetColumns {
  readonly sku: number;
  readonly location: number;
  readonly onHand: number;
  readonly safetyStock: number | null;
  readonly count: number;
}

/** A data row that passed the checks that need nothing but the row itself. */
export interface ResetRow {
  /** 0-based among data rows (the header is not one): the checkpoint counts these. */
  readonly index: number;
  /** 1-based line in the file (the header is line 1); for a row spanning lines, the line it ends on. */
  readonly line: number;
  readonly skuCode: string;
  readonly locationCode: string;
  readonly onHand: number;
  /** Null: the file has no safetyStock column, or the field is empty; the position keeps its safety stock. */
  readonly safetyStock: number | null;
}

/** A row with problems. Its codes are kept when they are valid, so a bad row still counts for duplicates. */
export interface InvalidRow {
  readonly index: number;
  readonly line: number;
  readonly skuCode: string | null;
  readonly locationCode: string | null;
  readonly errors: readonly ResetRowErrorValue[];
}

export type ParsedRow = { readonly ok: true; readonly row: ResetRow } | ({ readonly ok: false } & InvalidRow);

/** A problem with the file as a whole (header, quoting, emptiness): nothing in it can be applied. */
export class ResetFileError extends Error {
  override readonly name = 'ResetFileError';

  constructor(readonly issue: ResetRowErrorValue) {
    super(issue.message);
  }
}

export interface ReadResetFileOptions {
  readonly chunkRows: number;
  /** Receives every byte read, in order: the validation pass hashes the content it validates. */
  readonly hash?: Hash;
  /** Bytes of the file consumed so far, after each chunk. */
  readonly onBytes?: (bytes: number) => void;
}

interface NumberedRecord {
  readonly fields: string[];
  readonly line: number;
  readonly bytes: number;
}

/**
 * The file's data rows in chunks of `chunkRows`, each row checked on its own (column count, encoding, codes,
 * quantities). Throws {@link ResetFileError} for a bad header, broken quoting or a file without rows; other
 * errors (a missing file) as they come.
 */
export async function* readResetFile(path: string, options: ReadResetFileOptions): AsyncGenerator<ParsedRow[]> {
  const source = createReadStream(path);
  if (options.hash) {
    const hash = options.hash;
    source.on('data', (chunk) => hash.update(chunk as Buffer));
  }
  const parser = source.pipe(
    parse({
      bom: true,
      // Each record is explicit about its own ending: auto-detection from the first line misreads files whose
      // line endings are mixed, which hand-edited exports often are.
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      skip_empty_lines: true,
      // Only what we need from csv-parse's info: `info: true` copies the whole info object per record (4x slower).
      on_record: (fields, context) => ({ fields, line: context.lines, bytes: context.bytes }) as never,
    }),
  );
  source.on('error', (error) => parser.destroy(error));

  let columns: ResetColumns | null = null;
  let index = 0;
  let chunk: ParsedRow[] = [];
  let bytes = 0;
  try {
    for await (const record of parser as AsyncIterable<NumberedRecord>) {
      bytes = record.bytes;
      if (columns === null) {
        columns = headerColumns(record.fields, record.line);
        continue;
      }
      chunk.push(parseRow(record.fields, columns, index++, record.line));
      if (chunk.length >= options.chunkRows) {
        options.onBytes?.(bytes);
        yield chunk;
        chunk = [];
      }
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines ?? null;
      throw new ResetFileError(fileIssue('MALFORMED_CSV', line, `The file is not valid CSV at line ${line ?? '?'} (${error.message.replace(/\s+/g, ' ').slice(0, 200)}); rows after it cannot be told apart, so nothing is applied.`));
    }
    throw error;
  } finally {
    source.destroy();
  }
  if (columns === null) throw new ResetFileError(fileIssue('WRONG_HEADER', 1, `The file is empty: expected a header line "${EXPECTED_HEADER}".`));
  if (index === 0) throw new ResetFileError(fileIssue('EMPTY_FILE', null, 'The file has a header but no rows: a snapshot without positions is almost certainly a failed export.'));
  options.onBytes?.(bytes);
  if (chunk.length > 0) yield chunk;
}

/** The sha256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function fileIssue(code: ResetErrorCode, line: number | null, message: string, column: string | null = null): ResetRowErrorValue {
  return { line, column, code, message, skuCode: null, locationCode: null };
}

function headerColumns(fields: readonly string[], line: number): ResetColumns {
  if (fields.some((field) => field.includes('\uFFFD'))) throw new ResetFileError(fileIssue('BAD_ENCODING', line, 'The header is not valid UTF-8.'));
  const known = new Map<string, ColumnName>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].map((name) => [name.toLowerCase(), name]));
  const positions = new Map<ColumnName, number>();
  const problems: string[] = [];
  fields.forEach((raw, position) => {
    const name = known.get(raw.trim().toLowerCase());
    // An unknown column is refused rather than ignored: a misspelt "safety_stock" must not silently keep
    // yesterday's safety stock.
    if (!name) problems.push(`unknown column "${raw.trim().slice(0, 64)}"`);
    else if (positions.has(name)) problems.push(`column "${name}" appears twice`);
    else positions.set(name, position);
  });
  for (const name of REQUIRED_COLUMNS) if (!positions.has(name)) problems.push(`column "${name}" is missing`);
  if (problems.length > 0) {
    throw new ResetFileError(fileIssue('WRONG_HEADER', line, `The header must name the columns ${EXPECTED_HEADER} (any order): ${problems.join('; ')}.`));
  }
  return { sku: positions.get('sku')!, location: positions.get('location')!, onHand: positions.get('onHand')!, safetyStock: positions.get('safetyStock') ?? null, count: fields.length };
}

/** Checks one data row on its own; every problem of the row is reported, not only the first. */
export function parseRow(fields: readonly string[], columns: ResetColumns, index: number, line: number): ParsedRow {
  const issue = (code: ResetErrorCode, column: string | null, message: string, ids: { skuCode: string | null; locationCode: string | null } = { skuCode: null, locationCode: null }): ResetRowErrorValue => ({ line, column, code, message, ...ids });
  if (fields.length !== columns.count) {
    return { ok: false, index, line, skuCode: null, locationCode: null, errors: [issue('WRONG_COLUMN_COUNT', null, `Expected ${columns.count} fields like the header, but got ${fields.length}.`)] };
  }
  // csv-parse decodes each field as UTF-8 and puts U+FFFD where the bytes are not; a snapshot of codes and
  // numbers has no business containing it either way.
  if (fields.some((field) => field.includes('\uFFFD'))) {
    return { ok: false, index, line, skuCode: null, locationCode: null, errors: [issue('BAD_ENCODING', null, 'The row is not valid UTF-8.')] };
  }
  const skuCode = fields[columns.sku]!.trim();
  const locationCode = fields[columns.location]!.trim();
  const validSku = isCode(skuCode) ? skuCode : null;
  const validLocation = isCode(locationCode) ? locationCode : null;
  const ids = { skuCode: validSku, locationCode: validLocation };
  const errors: ResetRowErrorValue[] = [];
  if (!validSku) errors.push(issue('INVALID_CODE', 'sku', `"${printable(skuCode)}" is not a SKU code: 1–${MAX_CODE_LENGTH} letters, digits, '_', '.' or '-'.`, ids));
  if (!validLocation) errors.push(issue('INVALID_CODE', 'location', `"${printable(locationCode)}" is not a location code: 1–${MAX_CODE_LENGTH} letters, digits, '_', '.' or '-'.`, ids));
  const onHand = quantityOf(fields[columns.onHand]!, 'onHand');
  if (typeof onHand !== 'number') errors.push(issue(onHand.code, 'onHand', onHand.message, ids));
  let safetyStock: number | null = null;
  if (columns.safetyStock !== null && fields[columns.safetyStock]!.trim() !== '') {
    const parsed = quantityOf(fields[columns.safetyStock]!, 'safetyStock');
    if (typeof parsed !== 'number') errors.push(issue(parsed.code, 'safetyStock', parsed.message, ids));
    else safetyStock = parsed;
  }
  if (errors.length > 0 || !validSku || !validLocation || typeof onHand !== 'number') return { ok: false, index, line, ...ids, errors };
  return { ok: true, row: { index, line, skuCode: validSku, locationCode: validLocation, onHand, safetyStock } };
}

const DIGITS = /^[0-9]+$/;
const NEGATIVE = /^-[0-9]+$/;

function quantityOf(text: string, column: string): number | { code: ResetErrorCode; message: string } {
  const value = text.trim();
  if (DIGITS.test(value)) {
    const quantity = Number(value);
    if (quantity > MAX_QUANTITY) return { code: 'OUT_OF_RANGE', message: `${column} ${value.length > 20 ? `${value.slice(0, 20)}…` : value} is above the maximum of 1,000,000,000.` };
    return quantity;
  }
  if (NEGATIVE.test(value)) return { code: 'OUT_OF_RANGE', message: `${column} ${printable(value)} is negative; stock on hand is counted from 0.` };
  if (value === '') return { code: 'INVALID_QUANTITY', message: `${column} is empty; expected a whole number of units.` };
  return { code: 'INVALID_QUANTITY', message: `${column} must be a whole number of units written in digits, but got "${printable(value)}".` };
}

function isCode(value: string): boolean {
  return value.length > 0 && value.length <= MAX_CODE_LENGTH && CODE_PATTERN.test(value);
}

/** A value quoted in a message: short, and without control characters. */
function printable(value: string): string {
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
