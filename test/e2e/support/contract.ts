/**
 * API.md's contract as the end-to-end tests check it: the error table, the error body shape, and
 * exact decimal arithmetic (BigInt, independent of the server's fixed-point code) for computing
 * expected balances.
 */
import { expect } from 'vitest';
import type { HttpResponse, RawResponse } from './real_server.ts';

/**
 * API.md's error table, plus what the gateway adds below the contract: the routing codes (unknown
 * path 404 NOT_FOUND, wrong method 405) and HTTP's own status for request headers past Node's
 * limit (431, with the contract's PAYLOAD_TOO_LARGE).
 */
export const CONTRACT_CODES: Readonly<Record<number, readonly string[]>> = {
  400: ['VALIDATION_FAILED', 'UNKNOWN_SYMBOL', 'UNKNOWN_ASSET', 'INVALID_PRICE', 'INVALID_QTY', 'AMOUNT_TOO_LARGE'],
  401: ['UNAUTHORIZED'],
  404: ['ACCOUNT_NOT_FOUND', 'ORDER_NOT_FOUND', 'UNKNOWN_SYMBOL', 'NOT_FOUND'],
  405: ['METHOD_NOT_ALLOWED'],
  409: ['ORDER_NOT_OPEN'],
  413: ['PAYLOAD_TOO_LARGE'],
  431: ['PAYLOAD_TOO_LARGE'],
  422: ['INSUFFICIENT_BALANCE'],
  503: ['OVERLOADED', 'SHUTTING_DOWN', 'RECOVERING'],
};

type AnyResponse = HttpResponse | RawResponse;

/** `{"error":{"code","message"}}` with exactly these keys, and the given status and code. */
export function expectError(response: AnyResponse, status: number, code: string, label = ''): void {
  expect({ status: response.status, code: response.body?.error?.code }, `${label} ${response.text}`).toEqual({ status, code });
  expectErrorShape(response, label);
}

export function expectErrorShape(response: AnyResponse, label = ''): void {
  const body = response.body;
  expect(body !== null && typeof body === 'object' ? Object.keys(body) : body, `${label}: body ${response.text}`).toEqual(['error']);
  expect(Object.keys(body.error).sort(), label).toEqual(['code', 'message']);
  expect(typeof body.error.message, label).toBe('string');
  expect(CONTRACT_CODES[response.status] ?? [], `${label}: status ${response.status} code ${body.error.code}`).toContain(body.error.code);
  // No stack traces or file paths leak.
  expect(response.text, label).not.toMatch(/\bat .+:\d+:\d+|\/work\/|node_modules/);
}

// -------------------------------------------------------------------------------------------------
// Exact decimals with BigInt: the test's own arithmetic, not the server's.

/** "123.45" at `decimals` → units; throws on anything else (the test's own inputs only). */
export function units(text: string, decimals: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) throw new Error(`units: not a decimal: ${text}`);
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > decimals) throw new Error(`units: ${text} has more than ${decimals} decimals`);
  return BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
}

/** Units → the canonical string with exactly `decimals` decimals. */
export function fmt(value: bigint, decimals: number): string {
  if (value < 0n) throw new Error(`fmt: negative ${value}`);
  if (decimals === 0) return value.toString();
  const text = value.toString().padStart(decimals + 1, '0');
  return `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

export const DECIMALS = { BTC: 8, ETH: 8, USDT: 6 } as const;
export type AssetSymbol = keyof typeof DECIMALS;

/** price × qty in quote units of `quoteDecimals`, rounded down (what a fill pays) or up (what a buy reserves). */
export function notional(price: string, qty: string, quoteDecimals: number, rounding: 'floor' | 'ceil'): bigint {
  const priceDecimals = decimalsOf(price);
  const qtyDecimals = decimalsOf(qty);
  const raw = units(price, priceDecimals) * units(qty, qtyDecimals); // at priceDecimals + qtyDecimals
  const shift = priceDecimals + qtyDecimals - quoteDecimals;
  if (shift <= 0) return raw * 10n ** BigInt(-shift);
  const divisor = 10n ** BigInt(shift);
  const floor = raw / divisor;
  return rounding === 'ceil' && floor * divisor !== raw ? floor + 1n : floor;
}

function decimalsOf(text: string): number {
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Expected balances: the test's own ledger of (account, asset) → available/locked units, moved by
 * the test as it reasons about each step. Compared with GET /accounts/{id}/balances.
 */
export class ExpectedBalances {
  private readonly rows = new Map<string, { available: bigint; locked: bigint }>();

  private row(accountId: number, asset: AssetSymbol) {
    const key = `${accountId}:${asset}`;
    let row = this.rows.get(key);
    if (row === undefined) {
      row = { available: 0n, locked: 0n };
      this.rows.set(key, row);
    }
    return row;
  }

  /** Adds (or with a negative value removes) available units. */
  available(accountId: number, asset: AssetSymbol, delta: bigint): void {
    this.row(accountId, asset).available += delta;
  }

  /** Moves units from available to locked (negative: back). */
  lock(accountId: number, asset: AssetSymbol, amount: bigint): void {
    const row = this.row(accountId, asset);
    row.available -= amount;
    row.locked += amount;
  }

  /** Removes locked units (spent by a fill). */
  spendLocked(accountId: number, asset: AssetSymbol, amount: bigint): void {
    this.row(accountId, asset).locked -= amount;
  }

  /** The body GET /accounts/{id}/balances must return. */
  body(accountId: number): { accountId: number; balances: Record<AssetSymbol, { available: string; locked: string }> } {
    const balances = {} as Record<AssetSymbol, { available: string; locked: string }>;
    for (const asset of Object.keys(DECIMALS) as AssetSymbol[]) {
      const row = this.row(accountId, asset);
      balances[asset] = { available: fmt(row.available, DECIMALS[asset]), locked: fmt(row.locked, DECIMALS[asset]) };
    }
    return { accountId, balances };
  }

  total(asset: AssetSymbol): bigint {
    let sum = 0n;
    for (const [key, row] of this.rows) if (key.endsWith(`:${asset}`)) sum += row.available + row.locked;
    return sum;
  }
}

/** A limit order body. */
export function limit(
  accountId: number,
  side: 'buy' | 'sell',
  price: string,
  qty: string,
  extra: Record<string, unknown> = {},
  symbol = 'BTC-USDT',
): Record<string, unknown> {
  return { accountId, symbol, side, type: 'limit', price, qty, ...extra };
}

/** Samples of a Prometheus text body: `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match === null) throw new Error(`metrics: malformed line ${JSON.stringify(line)}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

export function metric(samples: ReadonlyMap<string, number>, name: string): number {
  const value = samples.get(name);
  if (value === undefined) throw new Error(`metrics: no sample ${name}`);
  return value;
}
