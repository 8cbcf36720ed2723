/**
 * Assets and markets: the default set of API.md and loading another set from JSON.
 *
 * Every market carries the integer factors the core needs, computed once at start-up:
 * a price in ticks times a quantity in steps is worth `ticks × steps × notionalNumerator /
 * notionalDenominator` units of the quote asset. Where that is not a whole number of quote units
 * (only when tick × step has more decimals than the quote asset, as on the default BTC-USDT), the
 * buyer pays the floor per fill and reserves the ceiling per order, so reservations always cover
 * what fills take and the same integer moves from buyer to seller: conservation stays exact.
 */
import {
  DECIMALS_MAX,
  UNITS_MAX,
  greatestCommonDivisor,
  mulDivCeil,
  mulDivFloor,
  parseUnits,
  pow10,
} from './fixed_point.ts';

export const ASSETS_MAX = 64;
export const MARKETS_MAX = 256;
const SYMBOL_PATTERN = /^[A-Z0-9]{1,12}(-[A-Z0-9]{1,12})?$/;

export interface Asset {
  readonly id: number;
  readonly symbol: string;
  readonly decimals: number;
}

export interface Market {
  readonly id: number;
  readonly symbol: string;
  readonly base: Asset;
  readonly quote: Asset;
  /** The canonical decimal strings, as configured. */
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minQty: string;
  /** Decimals used to print prices (the tick's) and quantities (the step's). */
  readonly priceDecimals: number;
  readonly qtyDecimals: number;
  /** One tick in quote units; one step in base units. */
  readonly tickUnits: number;
  readonly stepUnits: number;
  readonly minQtySteps: number;
  /** quote units = ticks × steps × notionalNumerator / notionalDenominator (reduced fraction). */
  readonly notionalNumerator: number;
  readonly notionalDenominator: number;
  /** Bounds that keep every product and sum exact (AMOUNT_TOO_LARGE beyond them). */
  readonly priceTicksMax: number;
  readonly qtyStepsMax: number;
}

export interface MarketSet {
  readonly assets: readonly Asset[];
  readonly markets: readonly Market[];
  readonly assetBySymbol: ReadonlyMap<string, Asset>;
  readonly marketBySymbol: ReadonlyMap<string, Market>;
}

export interface AssetConfig {
  asset: string;
  decimals: number;
}

export interface MarketConfig {
  symbol: string;
  base: string;
  quote: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
}

export interface MarketSetConfig {
  assets: AssetConfig[];
  markets: MarketConfig[];
}

export const DEFAULT_MARKET_SET_CONFIG: MarketSetConfig = {
  assets: [
    { asset: 'BTC', decimals: 8 },
    { asset: 'ETH', decimals: 8 },
    { asset: 'USDT', decimals: 6 },
  ],
  markets: [
    { symbol: 'BTC-USDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', stepSize: '0.000001', minQty: '0.000001' },
    { symbol: 'ETH-USDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001' },
  ],
};

export class MarketConfigError extends Error {
  override readonly name = 'MarketConfigError';
}

function fail(message: string): never {
  throw new MarketConfigError(message);
}

/** Number of decimals written in a decimal string, ignoring trailing zeros ("0.0100" → 2). */
function significantDecimals(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return 0;
  return text.slice(dot + 1).replace(/0+$/, '').length;
}

function positiveUnits(text: unknown, decimals: number, what: string): number {
  if (typeof text !== 'string') fail(`${what} must be a decimal string`);
  const parsed = parseUnits(text, decimals);
  if (!parsed.ok) fail(`${what} "${text}" is not a valid decimal with at most ${decimals} decimals (${parsed.reason})`);
  if (parsed.units === 0) fail(`${what} must be greater than zero`);
  return parsed.units;
}

function buildAssets(configs: readonly AssetConfig[]): Asset[] {
  if (!Array.isArray(configs) || configs.length === 0) fail('assets: at least one asset is required');
  if (configs.length > ASSETS_MAX) fail(`assets: at most ${ASSETS_MAX} assets (ASSETS_MAX)`);
  const seen = new Set<string>();
  return configs.map((config, id) => {
    const { asset, decimals } = config;
    if (typeof asset !== 'string' || !/^[A-Z0-9]{1,12}$/.test(asset)) fail(`assets[${id}]: asset must be 1-12 of A-Z0-9`);
    if (seen.has(asset)) fail(`assets: ${asset} is listed twice`);
    seen.add(asset);
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > DECIMALS_MAX) {
      fail(`assets: ${asset} decimals must be an integer from 0 to ${DECIMALS_MAX}`);
    }
    return { id, symbol: asset, decimals };
  });
}

function buildMarket(config: MarketConfig, id: number, assets: ReadonlyMap<string, Asset>): Market {
  const { symbol } = config;
  if (typeof symbol !== 'string' || !SYMBOL_PATTERN.test(symbol)) fail(`markets[${id}]: bad symbol`);
  const base = assets.get(config.base) ?? fail(`${symbol}: unknown base asset ${String(config.base)}`);
  const quote = assets.get(config.quote) ?? fail(`${symbol}: unknown quote asset ${String(config.quote)}`);
  if (base === quote) fail(`${symbol}: base and quote must differ`);
  const tickUnits = positiveUnits(config.tickSize, quote.decimals, `${symbol} tickSize`);
  const stepUnits = positiveUnits(config.stepSize, base.decimals, `${symbol} stepSize`);
  const minQtyUnits = positiveUnits(config.minQty, base.decimals, `${symbol} minQty`);
  if (minQtyUnits % stepUnits !== 0) fail(`${symbol}: minQty must be a multiple of stepSize`);
  // ticks × steps × tickUnits × stepUnits / 10^baseDecimals quote units; reduce the fraction.
  const baseScale = pow10(base.decimals);
  const gcdTick = greatestCommonDivisor(tickUnits, baseScale);
  const gcdStep = greatestCommonDivisor(stepUnits, baseScale / gcdTick);
  const notionalDenominator = baseScale / gcdTick / gcdStep;
  const notionalNumerator = (tickUnits / gcdTick) * (stepUnits / gcdStep);
  if (!Number.isSafeInteger(notionalNumerator)) fail(`${symbol}: tickSize × stepSize is too large`);
  const priceTicksMax = Math.floor(UNITS_MAX / tickUnits / notionalNumerator);
  const qtyStepsMax = Math.floor(UNITS_MAX / stepUnits);
  if (priceTicksMax < 1) fail(`${symbol}: tickSize is too large to price anything exactly`);
  return {
    id,
    symbol,
    base,
    quote,
    tickSize: config.tickSize,
    stepSize: config.stepSize,
    minQty: config.minQty,
    priceDecimals: significantDecimals(config.tickSize),
    qtyDecimals: significantDecimals(config.stepSize),
    tickUnits,
    stepUnits,
    minQtySteps: minQtyUnits / stepUnits,
    notionalNumerator,
    notionalDenominator,
    priceTicksMax,
    qtyStepsMax,
  };
}

/** Validates a market set configuration and computes its integer factors; throws MarketConfigError. */
export function buildMarketSet(config: MarketSetConfig): MarketSet {
  if (typeof config !== 'object' || config === null) fail('market set must be an object with assets and markets');
  const assets = buildAssets(config.assets);
  const assetBySymbol = new Map(assets.map((asset) => [asset.symbol, asset]));
  if (!Array.isArray(config.markets) || config.markets.length === 0) fail('markets: at least one market is required');
  if (config.markets.length > MARKETS_MAX) fail(`markets: at most ${MARKETS_MAX} markets (MARKETS_MAX)`);
  const markets = config.markets.map((market, id) => buildMarket(market, id, assetBySymbol));
  const marketBySymbol = new Map<string, Market>();
  for (const market of markets) {
    if (marketBySymbol.has(market.symbol)) fail(`markets: ${market.symbol} is listed twice`);
    marketBySymbol.set(market.symbol, market);
  }
  return { assets, markets, assetBySymbol, marketBySymbol };
}

export function defaultMarketSet(): MarketSet {
  return buildMarketSet(DEFAULT_MARKET_SET_CONFIG);
}

/** Parses the JSON text of a `--markets FILE`; throws MarketConfigError with the reason. */
export function parseMarketSetJson(text: string): MarketSet {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    fail(`markets file is not valid JSON: ${(error as Error).message}`);
  }
  return buildMarketSet(config as MarketSetConfig);
}

/** Quote units a buyer pays for `qtySteps` at `priceTicks` (floor; exact where the market allows). */
export function notionalFloor(market: Market, priceTicks: number, qtySteps: number): number {
  return mulDivFloor(priceTicks * market.notionalNumerator, qtySteps, market.notionalDenominator);
}

/** Quote units reserved for `qtySteps` at `priceTicks` (ceiling, so reservations cover every fill). */
export function notionalCeil(market: Market, priceTicks: number, qtySteps: number): number {
  return mulDivCeil(priceTicks * market.notionalNumerator, qtySteps, market.notionalDenominator);
}

/** True when ticks × steps stays inside the exact range (checked once when an order enters). */
export function notionalInRange(market: Market, priceTicks: number, qtySteps: number): boolean {
  return priceTicks * market.notionalNumerator * qtySteps <= UNITS_MAX;
}
