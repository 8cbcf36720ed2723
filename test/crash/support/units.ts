/**
 * The crash tests' own arithmetic: API.md's default markets written out again, and exact decimal
 * strings ↔ bigint units. Deliberately independent of src/domain so that a conversion bug in the
 * server cannot hide behind the same bug in the checker.
 */

export type AssetSymbol = 'BTC' | 'ETH' | 'USDT';
export type MarketSymbol = 'BTC-USDT' | 'ETH-USDT';

export const ASSETS: readonly AssetSymbol[] = ['BTC', 'ETH', 'USDT'];
/** Decimals per asset (API.md). Asset ids are the index in ASSETS (the default market set's order). */
export const ASSET_DECIMALS: Readonly<Record<AssetSymbol, number>> = { BTC: 8, ETH: 8, USDT: 6 };

export interface MarketInfo {
  symbol: MarketSymbol;
  /** The default market set's id (its index). */
  marketId: number;
  base: AssetSymbol;
  quote: AssetSymbol;
  /** Decimals of tickSize and stepSize: how prices and quantities print. */
  priceDecimals: number;
  qtyDecimals: number;
  /** One tick in price units (10^-priceDecimals), one step in quantity units (10^-qtyDecimals). */
  tickUnits: bigint;
  stepUnits: bigint;
  /** A mid price for the load generator, in ticks. */
  midTicks: number;
}

export const MARKETS: readonly MarketInfo[] = [
  { symbol: 'BTC-USDT', marketId: 0, base: 'BTC', quote: 'USDT', priceDecimals: 2, qtyDecimals: 6, tickUnits: 1n, stepUnits: 1n, midTicks: 5_000_000 },
  { symbol: 'ETH-USDT', marketId: 1, base: 'ETH', quote: 'USDT', priceDecimals: 2, qtyDecimals: 4, tickUnits: 1n, stepUnits: 1n, midTicks: 300_000 },
];

export function marketInfo(symbol: string): MarketInfo {
  const market = MARKETS.find((candidate) => candidate.symbol === symbol);
  if (market === undefined) throw new Error(`unknown market ${symbol}`);
  return market;
}

export function assetId(asset: AssetSymbol): number {
  return ASSETS.indexOf(asset);
}

/** Exact units of a non-negative canonical-or-not decimal string ("1.5", "0.100"); throws otherwise. */
export function toUnits(text: string, decimals: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) throw new Error(`not a non-negative decimal string: "${text}"`);
  const fraction = match[2] ?? '';
  if (fraction.length > decimals && !/^0*$/.test(fraction.slice(decimals))) {
    throw new Error(`"${text}" has more than ${decimals} decimals`);
  }
  return BigInt(match[1]! + fraction.slice(0, decimals).padEnd(decimals, '0'));
}

export function formatUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(decimals + 1, '0');
  const text = decimals === 0 ? digits : `${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`;
  return negative ? `-${text}` : text;
}

function pow10(exponent: number): bigint {
  return 10n ** BigInt(exponent);
}

/** A quantity string of `market` in units of its base asset. */
export function qtyToBaseUnits(market: MarketInfo, qty: string): bigint {
  return toUnits(qty, ASSET_DECIMALS[market.base]);
}

/**
 * What a resting buy of `qty` at `price` keeps locked: the CEILING of price × qty in quote units
 * (README "Money": on BTC-USDT a tick × step is 10^-8 USDT, finer than USDT's 6 decimals).
 */
export function buyReservationUnits(market: MarketInfo, price: string, qty: string): bigint {
  const product = toUnits(price, market.priceDecimals) * toUnits(qty, market.qtyDecimals);
  const productDecimals = market.priceDecimals + market.qtyDecimals;
  const quoteDecimals = ASSET_DECIMALS[market.quote];
  if (productDecimals <= quoteDecimals) return product * pow10(quoteDecimals - productDecimals);
  const divisor = pow10(productDecimals - quoteDecimals);
  return (product + divisor - 1n) / divisor;
}

export function priceTicks(market: MarketInfo, price: string): number {
  return Number(toUnits(price, market.priceDecimals) / market.tickUnits);
}

export function qtySteps(market: MarketInfo, qty: string): number {
  return Number(toUnits(qty, market.qtyDecimals) / market.stepUnits);
}

export function formatTicks(market: MarketInfo, ticks: number): string {
  return formatUnits(BigInt(ticks) * market.tickUnits, market.priceDecimals);
}

export function formatSteps(market: MarketInfo, steps: number): string {
  return formatUnits(BigInt(steps) * market.stepUnits, market.qtyDecimals);
}
