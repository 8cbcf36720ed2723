/**
 * Market buys spend a quote budget, not a quantity. At each maker the engine takes the largest
 * quantity whose charge fits the remaining budget, where the charge of a fill is what the ledger
 * debits: notionalFloor(market, price, qty) (markets.ts). Exact integer arithmetic, no floats.
 */
import { InvariantError } from '../domain/assert.ts';
import type { Market } from '../domain/markets.ts';
import { mulDivFloor } from '../domain/fixed_point.ts';
import { notionalFloor } from '../domain/markets.ts';

/**
 * The largest q ≤ makerRemainingSteps with notionalFloor(market, priceTicks, q) ≤ budgetUnits.
 * 0 means the budget cannot buy a single step at this price.
 *
 * notionalFloor(p, q) = floor(p·num·q / den) ≤ B  ⟺  p·num·q < (B + 1)·den  ⟺  q ≤ ((B + 1)·den − 1) / (p·num).
 * That branch is only taken when the whole maker does not fit, i.e. p·num·r ≥ (B + 1)·den, and the
 * maker entered the book with p·num·r ≤ 2^53 − 1 (notionalInRange), so every intermediate is exact.
 */
export function affordableSteps(market: Market, priceTicks: number, makerRemainingSteps: number, budgetUnits: number): number {
  if (notionalFloor(market, priceTicks, makerRemainingSteps) <= budgetUnits) return makerRemainingSteps;
  const denominator = market.notionalDenominator;
  const stepPriceScaled = priceTicks * market.notionalNumerator;
  const steps = mulDivFloor(budgetUnits * denominator + (denominator - 1), 1, stepPriceScaled);
  if (steps >= makerRemainingSteps) throw new InvariantError('affordableSteps: partial take is not below the maker quantity');
  return steps;
}
