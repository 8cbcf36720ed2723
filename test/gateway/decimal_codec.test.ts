import { describe, expect, it } from 'vitest';
import { UNITS_MAX } from '../../src/domain/fixed_point.ts';
import { buildMarketSet, defaultMarketSet } from '../../src/domain/markets.ts';
import { ApiError } from '../../src/gateway/api_error.ts';
import {
  formatAssetUnits,
  formatPrice,
  formatQty,
  marketScale,
  parseAmount,
  parsePrice,
  parseQty,
  parseQuoteQty,
} from '../../src/gateway/decimal_codec.ts';
import { BookLevels } from '../../src/gateway/book_levels.ts';

const set = defaultMarketSet();
const btc = marketScale(set.marketBySymbol.get('BTC-USDT')!);
const eth = marketScale(set.marketBySymbol.get('ETH-USDT')!);

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof ApiError) return `${error.statusCode} ${error.code}`;
    throw error;
  }
  return 'ok';
}

describe('decimal codec', () => {
  it('formats prices with the tick decimals and quantities with the step decimals', () => {
    expect(formatPrice(btc, 5_000_000)).toBe('50000.00');
    expect(formatPrice(btc, 1)).toBe('0.01');
    expect(formatQty(btc, 400_000)).toBe('0.400000');
    expect(formatQty(eth, 1)).toBe('0.0001');
    expect(formatAssetUnits(set.assetBySymbol.get('BTC')!, 40_000_000)).toBe('0.40000000');
    expect(formatAssetUnits(set.assetBySymbol.get('USDT')!, 20_000_000_000)).toBe('20000.000000');
  });

  it('parses prices exactly, accepting trailing zeros', () => {
    expect(parsePrice(btc, '65000.10')).toBe(6_500_010);
    expect(parsePrice(btc, '65000.1')).toBe(6_500_010);
    expect(parsePrice(btc, '65000.100000')).toBe(6_500_010);
    expect(parsePrice(btc, '0.01')).toBe(1);
  });

  it('maps every bad price to its code', () => {
    expect(codeOf(() => parsePrice(btc, '65000.001'))).toBe('400 INVALID_PRICE');
    expect(codeOf(() => parsePrice(btc, '0'))).toBe('400 INVALID_PRICE');
    expect(codeOf(() => parsePrice(btc, '0.00'))).toBe('400 INVALID_PRICE');
    expect(codeOf(() => parsePrice(btc, '-1'))).toBe('400 INVALID_PRICE');
    expect(codeOf(() => parsePrice(btc, '1e5'))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parsePrice(btc, ''))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parsePrice(btc, ' 1'))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parsePrice(btc, '99999999999999999999'))).toBe('400 AMOUNT_TOO_LARGE');
    expect(codeOf(() => parsePrice(btc, String(btc.market.priceTicksMax + 1)))).toBe('400 AMOUNT_TOO_LARGE');
  });

  it('checks a price against a tick that is not a power of ten', () => {
    const set5 = buildMarketSet({
      assets: [
        { asset: 'AAA', decimals: 8 },
        { asset: 'QQQ', decimals: 6 },
      ],
      markets: [{ symbol: 'AAA-QQQ', base: 'AAA', quote: 'QQQ', tickSize: '0.05', stepSize: '0.5', minQty: '1' }],
    });
    const scale = marketScale(set5.markets[0]!);
    expect(parsePrice(scale, '1.05')).toBe(21);
    expect(formatPrice(scale, 21)).toBe('1.05');
    expect(codeOf(() => parsePrice(scale, '1.01'))).toBe('400 INVALID_PRICE');
    expect(parseQty(scale, '1.5')).toBe(3);
    expect(formatQty(scale, 3)).toBe('1.5');
    expect(codeOf(() => parseQty(scale, '0.5'))).toBe('400 INVALID_QTY'); // below minQty
    expect(codeOf(() => parseQty(scale, '1.2'))).toBe('400 INVALID_QTY'); // not a step multiple
  });

  it('maps every bad quantity to its code', () => {
    expect(parseQty(btc, '0.4')).toBe(400_000);
    expect(codeOf(() => parseQty(btc, '0.0000001'))).toBe('400 INVALID_QTY');
    expect(codeOf(() => parseQty(btc, '0'))).toBe('400 INVALID_QTY');
    expect(codeOf(() => parseQty(btc, '-0.1'))).toBe('400 INVALID_QTY');
    expect(codeOf(() => parseQty(btc, '1.'))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parseQty(btc, String(UNITS_MAX)))).toBe('400 AMOUNT_TOO_LARGE');
    expect(codeOf(() => parseQty(eth, '0.00005'))).toBe('400 INVALID_QTY');
  });

  it('parses quoteQty with the quote asset decimals and amounts with the asset decimals', () => {
    const market = btc.market;
    expect(parseQuoteQty(market, '100.5')).toBe(100_500_000);
    expect(codeOf(() => parseQuoteQty(market, '0.0000001'))).toBe('400 INVALID_QTY');
    expect(codeOf(() => parseQuoteQty(market, '0'))).toBe('400 INVALID_QTY');
    expect(codeOf(() => parseQuoteQty(market, '9999999999999999999'))).toBe('400 AMOUNT_TOO_LARGE');
    const usdt = set.assetBySymbol.get('USDT')!;
    expect(parseAmount(usdt, '1000.5')).toBe(1_000_500_000);
    expect(codeOf(() => parseAmount(usdt, '0.0000001'))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parseAmount(usdt, '0'))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parseAmount(usdt, '-5'))).toBe('400 VALIDATION_FAILED');
    expect(codeOf(() => parseAmount(usdt, '99999999999999999'))).toBe('400 AMOUNT_TOO_LARGE');
  });
});

describe('BookLevels', () => {
  it('inserts, updates and removes levels keeping the best first', () => {
    const asks = new BookLevels(false);
    asks.set(105, 1);
    asks.set(101, 2);
    asks.set(103, 3);
    asks.set(101, 5);
    asks.set(104, 0); // removing a level that is not there changes nothing
    expect([asks.size, asks.priceAt(0), asks.qtyAt(0), asks.priceAt(2)]).toEqual([3, 101, 5, 105]);
    asks.set(101, 0);
    expect([asks.size, asks.priceAt(0)]).toEqual([2, 103]);
    const bids = new BookLevels(true);
    for (const price of [3, 9, 1, 7]) bids.set(price, price);
    expect([0, 1, 2, 3].map((i) => bids.priceAt(i))).toEqual([9, 7, 3, 1]);
    expect(bids.qtyAtPrice(7)).toBe(7);
    expect(bids.qtyAtPrice(8)).toBe(0);
    expect(() => bids.priceAt(4)).toThrow(/out of range/);
  });
});
