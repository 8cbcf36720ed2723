/**
 * Decimal strings ↔ fixed-point integers at the gateway, with API.md's error codes.
 *
 * Prices are printed with the market tickSize's decimals and quantities with the stepSize's; a
 * request may carry more decimals as long as they are zeros ("65000.10" and "65000.1" are the same
 * price on a 0.01 tick). Parsing is exact (domain/fixed_point.ts); no floating point touches money.
 */
import { invariantBroken } from '../domain/assert.ts';
import type { ParseResult } from '../domain/fixed_point.ts';
import { formatUnits, parseUnits, pow10 } from '../domain/fixed_point.ts';
import type { Asset, Market } from '../domain/markets.ts';
import type { ErrorCode } from './api_error.ts';
import { ErrorCode as Codes, badRequest } from './api_error.ts';

/** Per market: how many printed units (10^-priceDecimals) one tick is, and likewise for a step. */
export interface MarketScale {
  readonly market: Market;
  readonly priceUnitsPerTick: number;
  readonly qtyUnitsPerStep: number;
}

export function marketScale(market: Market): MarketScale {
  const priceUnitsPerTick = market.tickUnits / pow10(market.quote.decimals - market.priceDecimals);
  const qtyUnitsPerStep = market.stepUnits / pow10(market.base.decimals - market.qtyDecimals);
  if (!(Number.isSafeInteger(priceUnitsPerTick) && priceUnitsPerTick >= 1)) invariantBroken(`${market.symbol}: tick not whole at its decimals`);
  if (!(Number.isSafeInteger(qtyUnitsPerStep) && qtyUnitsPerStep >= 1)) invariantBroken(`${market.symbol}: step not whole at its decimals`);
  return { market, priceUnitsPerTick, qtyUnitsPerStep };
}

export function formatPrice(scale: MarketScale, priceTicks: number): string {
  return formatUnits(priceTicks * scale.priceUnitsPerTick, scale.market.priceDecimals);
}

export function formatQty(scale: MarketScale, qtySteps: number): string {
  return formatUnits(qtySteps * scale.qtyUnitsPerStep, scale.market.qtyDecimals);
}

export function formatAssetUnits(asset: Asset, units: number): string {
  return formatUnits(units, asset.decimals);
}

/** Maps a parse failure to the field's error code; 'too_large' is always AMOUNT_TOO_LARGE. */
function parseFailure(result: Extract<ParseResult, { ok: false }>, field: string, code: ErrorCode, detail: string): never {
  switch (result.reason) {
    case 'format':
      throw badRequest(Codes.ValidationFailed, `${field} must be a decimal string like "123.45"`);
    case 'negative':
      throw badRequest(code, `${field} must be greater than zero`);
    case 'too_many_decimals':
      throw badRequest(code, `${field} has more decimals than allowed (${detail})`);
    case 'too_large':
      throw badRequest(Codes.AmountTooLarge, `${field} is too large`);
  }
}

/** A limit price in ticks: positive, a multiple of tickSize, at most the market's priceTicksMax. */
export function parsePrice(scale: MarketScale, text: string): number {
  const market = scale.market;
  const result = parseUnits(text, market.priceDecimals);
  if (!result.ok) parseFailure(result, 'price', Codes.InvalidPrice, `tickSize ${market.tickSize}`);
  if (result.units === 0) throw badRequest(Codes.InvalidPrice, 'price must be greater than zero');
  if (result.units % scale.priceUnitsPerTick !== 0) {
    throw badRequest(Codes.InvalidPrice, `price must be a multiple of tickSize ${market.tickSize}`);
  }
  const priceTicks = result.units / scale.priceUnitsPerTick;
  if (priceTicks > market.priceTicksMax) throw badRequest(Codes.AmountTooLarge, 'price is too large');
  return priceTicks;
}

/** A quantity in steps: a multiple of stepSize, at least minQty, at most the market's qtyStepsMax. */
export function parseQty(scale: MarketScale, text: string): number {
  const market = scale.market;
  const result = parseUnits(text, market.qtyDecimals);
  if (!result.ok) parseFailure(result, 'qty', Codes.InvalidQty, `stepSize ${market.stepSize}`);
  if (result.units === 0) throw badRequest(Codes.InvalidQty, 'qty must be greater than zero');
  if (result.units % scale.qtyUnitsPerStep !== 0) {
    throw badRequest(Codes.InvalidQty, `qty must be a multiple of stepSize ${market.stepSize}`);
  }
  const qtySteps = result.units / scale.qtyUnitsPerStep;
  if (qtySteps > market.qtyStepsMax) throw badRequest(Codes.AmountTooLarge, 'qty is too large');
  if (qtySteps < market.minQtySteps) throw badRequest(Codes.InvalidQty, `qty must be at least minQty ${market.minQty}`);
  return qtySteps;
}

/** A market buy's budget in quote units: positive, within the quote asset's decimals. */
export function parseQuoteQty(market: Market, text: string): number {
  const result = parseUnits(text, market.quote.decimals);
  if (!result.ok) parseFailure(result, 'quoteQty', Codes.InvalidQty, `${market.quote.symbol} has ${market.quote.decimals}`);
  if (result.units === 0) throw badRequest(Codes.InvalidQty, 'quoteQty must be greater than zero');
  return result.units;
}

/** A deposit or withdrawal amount in asset units: anything but a positive, exact amount is VALIDATION_FAILED. */
export function parseAmount(asset: Asset, text: string): number {
  const result = parseUnits(text, asset.decimals);
  if (!result.ok) parseFailure(result, 'amount', Codes.ValidationFailed, `${asset.symbol} has ${asset.decimals}`);
  if (result.units === 0) throw badRequest(Codes.ValidationFailed, 'amount must be greater than zero');
  return result.units;
}
