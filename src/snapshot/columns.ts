/**
 * Columnar tables for snapshots: an array of flat rows becomes one typed array per numeric field
 * and one string array per text field, so that a million orders are a handful of raw byte runs in
 * the snapshot (msgpack stores a typed array as `bin`: a memcpy each way) instead of a million maps
 * with their keys repeated.
 *
 * Every value is checked on the way in (an id that does not fit its column is an error, never a
 * silently truncated number) and on the way out (a column of the wrong length, a number that is
 * not a safe integer): the snapshot's checksum catches damage, these catch a codec that disagrees
 * with itself.
 */
import { endianness } from 'node:os';
import { assert, invariantBroken } from '../domain/assert.ts';

// Typed arrays are written in the platform's byte order; every platform Node supports in practice
// is little-endian, and a snapshot must mean the same bytes everywhere.
assert(endianness() === 'LE', 'snapshots are written little-endian: this platform is big-endian');

const STRING_SEPARATOR = '\u0000';

/** How a table travels in a snapshot: its row count and a column per field. */
export interface EncodedTable {
  rows: number;
  columns: Record<string, Uint8Array | string[]>;
}

/** Malformed snapshot content (a checksum that matched but content this build cannot use). */
export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new SnapshotFormatError(message());
}


/**
 * Builds an encoded table from typed arrays the caller filled in one pass over its rows (explicit
 * loops with one object shape each: the fastest way V8 has to read a million objects). Every column
 * is checked here: f64 columns hold safe integers; for u32 and u8 columns the caller passes the
 * values it meant to store, so a value that did not fit (the typed array wrapped it) is an error.
 */
export class TableWriter {
  private readonly columns: Record<string, Uint8Array | string[]> = {};

  constructor(
    readonly rows: number,
    private readonly what: string,
  ) {}

  f64(field: string, values: Float64Array): this {
    this.checkLength(field, values.length);
    for (let i = 0; i < values.length; i += 1) {
      if (!Number.isSafeInteger(values[i])) invariantBroken(`snapshot ${this.what}.${field}: ${values[i]} is not a safe integer`);
    }
    this.columns[field] = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return this;
  }

  /** `wrapped` counts the values that did not fit (the caller compares each store with its source). */
  u32(field: string, values: Uint32Array, wrapped: number): this {
    this.checkFit(field, values.length, wrapped);
    this.columns[field] = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return this;
  }

  u8(field: string, values: Uint8Array, wrapped: number): this {
    this.checkFit(field, values.length, wrapped);
    this.columns[field] = values;
    return this;
  }

  /** Short strings without NUL (clientOrderIds), stored as one NUL-joined string: one msgpack str, not one per row. */
  str(field: string, values: string[]): this {
    this.checkLength(field, values.length);
    for (let i = 0; i < values.length; i += 1) {
      if (values[i]!.includes(STRING_SEPARATOR)) invariantBroken(`snapshot ${this.what}.${field}: a string holds NUL`);
    }
    this.columns[field] = [values.join(STRING_SEPARATOR)];
    return this;
  }

  table(): EncodedTable {
    return { rows: this.rows, columns: this.columns };
  }

  private checkFit(field: string, length: number, wrapped: number): void {
    this.checkLength(field, length);
    if (wrapped !== 0) invariantBroken(`snapshot ${this.what} (${field}): ${wrapped} rows hold values that do not fit their u32/u8 columns`);
  }

  private checkLength(field: string, length: number): void {
    if (length !== this.rows) invariantBroken(`snapshot ${this.what}.${field}: ${length} values for ${this.rows} rows`);
  }
}

/**
 * The columns of an encoded table, read one by one: each decoder then builds its rows with one
 * object literal per row, which is what V8 makes fastest (and what the state machines iterate).
 */
export class TableReader {
  readonly rows: number;
  private readonly columns: Record<string, unknown>;

  constructor(
    encoded: unknown,
    private readonly what: string,
  ) {
    check(typeof encoded === 'object' && encoded !== null, () => `${what}: not a table`);
    const { rows, columns } = encoded as Partial<EncodedTable>;
    check(typeof rows === 'number' && Number.isSafeInteger(rows) && rows >= 0, () => `${what}: bad row count`);
    check(typeof columns === 'object' && columns !== null, () => `${what}: no columns`);
    this.rows = rows;
    this.columns = columns;
  }

  /** Safe integers (f64 column). */
  f64(field: string): Float64Array {
    const values = new Float64Array(this.bytes(field, 8).slice().buffer);
    for (let i = 0; i < values.length; i += 1) {
      if (!Number.isSafeInteger(values[i])) throw new SnapshotFormatError(`${this.what}.${field}: not an integer`);
    }
    return values;
  }

  u32(field: string): Uint32Array {
    return new Uint32Array(this.bytes(field, 4).slice().buffer);
  }

  u8(field: string): Uint8Array {
    return this.bytes(field, 1);
  }

  bool(field: string): Uint8Array {
    const values = this.bytes(field, 1);
    for (let i = 0; i < values.length; i += 1) {
      if (values[i]! > 1) throw new SnapshotFormatError(`${this.what}.${field}: not a boolean`);
    }
    return values;
  }

  str(field: string): string[] {
    const column = this.columns[field];
    check(Array.isArray(column) && column.length === 1 && typeof column[0] === 'string', () => `${this.what}.${field}: bad string column`);
    const values = this.rows === 0 ? [] : (column[0] as string).split(STRING_SEPARATOR);
    check(values.length === this.rows && (this.rows > 0 || column[0] === ''), () => `${this.what}.${field}: ${values.length} strings for ${this.rows} rows`);
    return values;
  }

  private bytes(field: string, width: number): Uint8Array {
    const column = this.columns[field];
    check(column instanceof Uint8Array && column.length === this.rows * width, () => `${this.what}.${field}: bad column`);
    return column;
  }
}

/** A list of equally long number rows (per-asset balances) as one f64 column. */
export function encodeMatrix(rows: readonly (readonly number[])[], width: number): Uint8Array {
  const values = new Float64Array(rows.length * width);
  rows.forEach((row, index) => {
    if (row.length !== width) invariantBroken(`snapshot matrix: a row of ${row.length} values, expected ${width}`);
    for (let column = 0; column < width; column += 1) {
      const value = row[column]!;
      if (!Number.isSafeInteger(value)) invariantBroken(`snapshot matrix: ${value} is not a safe integer`);
      values[index * width + column] = value;
    }
  });
  return new Uint8Array(values.buffer);
}

export function decodeMatrix(encoded: unknown, rows: number, width: number, what: string): number[][] {
  check(encoded instanceof Uint8Array && encoded.length === rows * width * 8, () => `${what}: bad matrix`);
  // Copied: a view into the snapshot's bytes need not be 8-byte aligned.
  const values = new Float64Array(encoded.slice().buffer);
  const result: number[][] = new Array(rows);
  for (let row = 0; row < rows; row += 1) {
    const line = new Array<number>(width);
    for (let column = 0; column < width; column += 1) {
      const value = values[row * width + column]!;
      if (!Number.isSafeInteger(value)) throw new SnapshotFormatError(`${what}: not an integer`);
      line[column] = value;
    }
    result[row] = line;
  }
  return result;
}

/** A plain number array as one f64 column. */
export function encodeNumberList(values: readonly number[]): Uint8Array {
  return encodeMatrix([values], values.length);
}

export function decodeNumberList(encoded: unknown, what: string): number[] {
  check(encoded instanceof Uint8Array && encoded.length % 8 === 0, () => `${what}: bad number list`);
  return decodeMatrix(encoded, 1, encoded.length / 8, what)[0]!;
}

export function expectNumber(value: unknown, what: string): number {
  check(typeof value === 'number' && Number.isSafeInteger(value), () => `${what}: not an integer`);
  return value;
}

export function expectString(value: unknown, what: string): string {
  check(typeof value === 'string', () => `${what}: not a string`);
  return value;
}

export function expectObject(value: unknown, what: string): Record<string, unknown> {
  check(typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array), () => `${what}: not a map`);
  return value as Record<string, unknown>;
}

export function expectArray(value: unknown, what: string): unknown[] {
  check(Array.isArray(value), () => `${what}: not a list`);
  return value;
}

export { check as checkFormat };
