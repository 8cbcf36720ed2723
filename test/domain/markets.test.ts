import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MARKET_SET_CONFIG,
  MarketConfigError,
  buildMarketSet,
  defaultMarketSet,
  notionalCeil,
  notionalFloor,
  notionalInRange,
  parseMarketSetJson,
} from '../../src/domain/markets.ts';
import { UNITS_MAX } from '../../src/domain/fixed_point.ts';

describe('default market set', () => {
  const set = defaultMarketSet();

  it('has the assets and markets of API.md', () => {
    expect(set.assets.map((a) => [a.symbol, a.decimals])).toEqual([
      ['BTC', 8],
      ['ETH', 8],
      ['USDT', 6],
    ]);
    const btc = set.marketBySymbol.get('BTC-USDT');
    expect(btc).toMatchObject({ tickSize: '0.01', stepSize: '0.000001', minQty: '0.000001', priceDecimals: 2, qtyDecimals: 6 });
    expect(btc).toMatchObject({ tickUnits: 10_000, stepUnits: 100, minQtySteps: 1 });
    const eth = set.marketBySymbol.get('ETH-USDT');
    expect(eth).toMatchObject({ tickUnits: 10_000, stepUnits: 10_000, minQtySteps: 1, qtyDecimals: 4 });
  });

  it('computes notional exactly: 50000.00 × 0.400000 BTC = 20000.000000 USDT', () => {
    const btc = set.marketBySymbol.get('BTC-USDT')!;
    expect(btc.notionalNumerator / btc.notionalDenominator).toBe(1 / 100);
    expect(notionalFloor(btc, 5_000_000, 400_000)).toBe(20_000_000_000);
    expect(notionalCeil(btc, 5_000_000, 400_000)).toBe(20_000_000_000);
    // 65000.01 × 0.000001 = 0.06500001 USDT: not a whole unit; floor to pay, ceil to reserve.
    expect(notionalFloor(btc, 6_500_001, 1)).toBe(65_000);
    expect(notionalCeil(btc, 6_500_001, 1)).toBe(65_001);
    const eth = set.marketBySymbol.get('ETH-USDT')!;
    expect(notionalFloor(eth, 300_000, 25_000)).toBe(7_500_000_000); // 3000.00 × 2.5 = 7500 USDT
  });

  it('bounds price × qty to the exact integer range', () => {
    const btc = set.marketBySymbol.get('BTC-USDT')!;
    expect(notionalInRange(btc, 1_000_000_000, 9_000_000)).toBe(true);
    expect(notionalInRange(btc, 1_000_000_000, 10_000_000)).toBe(false);
    expect(btc.priceTicksMax * btc.tickUnits).toBeLessThanOrEqual(UNITS_MAX);
    expect(btc.qtyStepsMax * btc.stepUnits).toBeLessThanOrEqual(UNITS_MAX);
  });
});

describe('loading a market set', () => {
  const valid = JSON.stringify(DEFAULT_MARKET_SET_CONFIG);

  it('loads the JSON form', () => {
    expect(parseMarketSetJson(valid).markets).toHaveLength(2);
  });

  // any: the cases deliberately write wrong types into the config.
  const broken: Array<[string, (c: any) => void, RegExp]> = [
    ['invalid JSON', () => undefined, /not valid JSON/],
    ['tick with more decimals than the quote asset', (c) => (c.markets[0].tickSize = '0.0000001'), /tickSize/],
    ['step with more decimals than the base asset', (c) => (c.markets[0].stepSize = '0.000000001'), /stepSize/],
    ['zero tick', (c) => (c.markets[0].tickSize = '0'), /greater than zero/],
    ['minQty not a multiple of step', (c) => (c.markets[0].minQty = '0.0000015'), /multiple of stepSize/],
    ['unknown base asset', (c) => (c.markets[0].base = 'DOGE'), /unknown base asset/],
    ['base equals quote', (c) => (c.markets[0].base = 'USDT'), /differ/],
    ['duplicate market', (c) => c.markets.push({ ...c.markets[0] }), /listed twice/],
    ['duplicate asset', (c) => c.assets.push({ asset: 'BTC', decimals: 8 }), /listed twice/],
    ['bad decimals', (c) => (c.assets[0].decimals = 99), /decimals/],
    ['number instead of string', (c) => (c.markets[0].tickSize = 0.01), /decimal string/],
    ['no markets', (c) => (c.markets = []), /at least one market/],
  ];

  it.each(broken)('refuses %s with a clear message', (_name, mutate, message) => {
    if (_name === 'invalid JSON') {
      expect(() => parseMarketSetJson('{"assets": [')).toThrow(message);
      return;
    }
    const config = JSON.parse(valid);
    mutate(config);
    expect(() => buildMarketSet(config)).toThrow(MarketConfigError);
    expect(() => buildMarketSet(config)).toThrow(message);
  });
});
