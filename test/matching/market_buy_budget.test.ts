import { describe, expect, it } from 'vitest';
import { buildMarketSet, defaultMarketSet, notionalFloor } from '../../src/domain/markets.ts';
import { affordableSteps } from '../../src/matching/market_buy_budget.ts';
import { referenceAffordableSteps } from './support/reference_engine.ts';

const btcUsdt = defaultMarketSet().markets[0]!;
const ethUsdt = defaultMarketSet().markets[1]!;

describe('affordableSteps', () => {
  it('has the default markets we think it has (BTC-USDT notional = ticks × steps / 100)', () => {
    expect(btcUsdt.symbol).toBe('BTC-USDT');
    expect(btcUsdt.notionalNumerator).toBe(1);
    expect(btcUsdt.notionalDenominator).toBe(100);
    expect(ethUsdt.notionalNumerator).toBe(1);
    expect(ethUsdt.notionalDenominator).toBe(1);
  });

  it('takes the whole maker when its floor notional fits the budget', () => {
    // 0.000003 BTC at 50000.01 USDT: 5000001 × 3 / 100 = 150000.03 → 150000 units charged.
    expect(notionalFloor(btcUsdt, 5_000_001, 3)).toBe(150_000);
    expect(affordableSteps(btcUsdt, 5_000_001, 3, 150_000)).toBe(3);
  });

  it('rounds on BTC-USDT: the largest qty whose floor charge fits, not the exact-value quotient', () => {
    // One step at 50000.01 costs 50000.01 units exactly, charged 50000 (floor).
    // Budget 100000 units: 2 steps cost 100000.02 → floor 100000 ≤ budget, so 2 steps.
    expect(affordableSteps(btcUsdt, 5_000_001, 10, 100_000)).toBe(2);
    expect(notionalFloor(btcUsdt, 5_000_001, 2)).toBe(100_000);
    // One unit less and only 1 step fits.
    expect(affordableSteps(btcUsdt, 5_000_001, 10, 99_999)).toBe(1);
    // Below the price of one step: nothing.
    expect(affordableSteps(btcUsdt, 5_000_001, 10, 49_999)).toBe(0);
  });

  it('is the largest affordable qty on every small case (brute force)', () => {
    const markets = buildMarketSet({
      assets: [
        { asset: 'B', decimals: 3 },
        { asset: 'Q', decimals: 2 },
      ],
      markets: [{ symbol: 'B-Q', base: 'B', quote: 'Q', tickSize: '0.07', stepSize: '0.013', minQty: '0.013' }],
    });
    const market = markets.markets[0]!;
    expect(market.notionalDenominator).toBeGreaterThan(1);
    const mismatches: string[] = [];
    let cases = 0;
    for (const market of [btcUsdt, ethUsdt, markets.markets[0]!]) {
      for (let price = 1; price <= 400; price += 7) {
        for (let makerSteps = 1; makerSteps <= 30; makerSteps += 1) {
          for (let budget = 0; budget <= 60; budget += 1) {
            cases += 1;
            const steps = affordableSteps(market, price, makerSteps, budget);
            const expected = referenceAffordableSteps(market, price, makerSteps, budget);
            if (steps !== expected) mismatches.push(`${market.symbol} p=${price} r=${makerSteps} B=${budget}: ${steps} != ${expected}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(cases).toBeGreaterThan(100_000);
  });

  it('stays exact near the top of the integer range', () => {
    const price = btcUsdt.priceTicksMax;
    const makerSteps = Math.floor(Number.MAX_SAFE_INTEGER / price);
    const budget = notionalFloor(btcUsdt, price, makerSteps) - 1;
    const steps = affordableSteps(btcUsdt, price, makerSteps, budget);
    expect(steps).toBe(referenceAffordableSteps(btcUsdt, price, makerSteps, budget));
    expect(notionalFloor(btcUsdt, price, steps)).toBeLessThanOrEqual(budget);
    expect(notionalFloor(btcUsdt, price, steps + 1)).toBeGreaterThan(budget);
  });
});
