/**
 * Fixed-point decimals: exact conversion between decimal strings and integer units, and exact
 * integer helpers for the products the exchange needs (price × qty).
 *
 * Amounts are JavaScript numbers holding integers no larger than UNITS_MAX (2^53 − 1), where
 * every integer is exact. Inputs are bounded at the gateway and in the sequencer so that no
 * product or sum the core computes can leave that range (see markets.ts for the per-market bounds).
 */
import { assert, invariantBroken } from './assert.ts';

export const UNITS_MAX = Number.MAX_SAFE_INTEGER;
/** The most decimals an asset may have; 10^15 still leaves room for whole units below 2^53. */
export const DECIMALS_MAX = 15;

export type ParseFailure = 'format' | 'negative' | 'too_many_decimals' | 'too_large';
export type ParseResult = { ok: true; units: number } | { ok: false; reason: ParseFailure };

const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?$/;
const NEGATIVE_PATTERN = /^-\d+(?:\.\d+)?$/;
const POW10: readonly number[] = Array.from({ length: DECIMALS_MAX + 1 }, (_, i) => 10 ** i);

export function pow10(exponent: number): number {
  const value = POW10[exponent];
  if (!(value !== undefined)) invariantBroken(`pow10: exponent ${exponent} out of range`);
  return value;
}

/**
 * Parses a non-negative decimal string into integer units of 10^-decimals, exactly.
 * Trailing zeros beyond `decimals` are accepted ("1.50" with 1 decimal is 15 units);
 * a non-zero digit beyond `decimals` is `too_many_decimals`. Values above `max` are `too_large`.
 */
export function parseUnits(text: string, decimals: number, max: number = UNITS_MAX): ParseResult {
  assert(decimals >= 0 && decimals <= DECIMALS_MAX, 'parseUnits: decimals out of range');
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) {
    return { ok: false, reason: NEGATIVE_PATTERN.test(text) ? 'negative' : 'format' };
  }
  const integerDigits = (match[1] ?? '').replace(/^0+(?=\d)/, '');
  let fractionDigits = match[2] ?? '';
  if (fractionDigits.length > decimals) {
    if (!/^0*$/.test(fractionDigits.slice(decimals))) return { ok: false, reason: 'too_many_decimals' };
    fractionDigits = fractionDigits.slice(0, decimals);
  }
  const digits = integerDigits + fractionDigits.padEnd(decimals, '0');
  // 16 digits or more may not be exact as a double: decide by length and string comparison.
  if (digits.replace(/^0+(?=\d)/, '').length > 16) return { ok: false, reason: 'too_large' };
  const units = digits.length <= 15 ? Number(digits) : Number(BigInt(digits));
  if (units > max || !Number.isSafeInteger(units)) return { ok: false, reason: 'too_large' };
  return { ok: true, units };
}

/** Formats integer units as a canonical decimal string with exactly `decimals` decimals. */
export function formatUnits(units: number, decimals: number): string {
  if (!Number.isSafeInteger(units)) invariantBroken(`formatUnits: ${units} is not a safe integer`);
  const negative = units < 0;
  const digits = String(negative ? -units : units);
  if (decimals === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(decimals + 1, '0');
  const text = `${padded.slice(0, padded.length - decimals)}.${padded.slice(padded.length - decimals)}`;
  return negative ? `-${text}` : text;
}

/** floor(a × b / d) for non-negative integers whose product a × b is at most UNITS_MAX. */
export function mulDivFloor(a: number, b: number, d: number): number {
  const product = a * b;
  assert(product <= UNITS_MAX, 'mulDivFloor: product out of the exact range');
  if (d === 1) return product;
  let quotient = Math.floor(product / d);
  // The division is rounded to the nearest double; correct by at most one in either direction.
  if (quotient * d > product) quotient -= 1;
  else if ((quotient + 1) * d <= product) quotient += 1;
  return quotient;
}

/** ceil(a × b / d) for non-negative integers whose product a × b is at most UNITS_MAX. */
export function mulDivCeil(a: number, b: number, d: number): number {
  const floor = mulDivFloor(a, b, d);
  return floor * d === a * b ? floor : floor + 1;
}

export function greatestCommonDivisor(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const rest = x % y;
    x = y;
    y = rest;
  }
  return x;
}
