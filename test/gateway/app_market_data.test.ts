import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Harness } from '../support/gateway_harness.ts';
import { limitOrder, startGateway } from '../support/gateway_harness.ts';

let h: Harness;

beforeEach(async () => {
  h = await startGateway({ limits: { bookDepthMax: 50 } });
  await h.deposit(1, 'USDT', '1000000');
  await h.deposit(2, 'BTC', '10');
  await h.deposit(2, 'ETH', '10');
});

afterEach(async () => {
  await h.close();
});

describe('GET /markets', () => {
  it('lists the markets and assets of API.md', async () => {
    const response = await h.get('/markets');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      markets: [
        { symbol: 'BTC-USDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', stepSize: '0.000001', minQty: '0.000001' },
        { symbol: 'ETH-USDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001' },
      ],
      assets: [
        { asset: 'BTC', decimals: 8 },
        { asset: 'ETH', decimals: 8 },
        { asset: 'USDT', decimals: 6 },
      ],
    });
  });
});

describe('GET /books/{symbol}', () => {
  it('aggregates levels best first with canonical formats and the seq', async () => {
    expect((await h.get('/books/BTC-USDT')).body).toEqual({ symbol: 'BTC-USDT', seq: 3, bids: [], asks: [] });
    await h.place(limitOrder(1, 'buy', '64999.9', '0.5'));
    await h.place(limitOrder(1, 'buy', '64999.90', '0.25'));
    await h.place(limitOrder(1, 'buy', '65000', '0.1'));
    await h.place(limitOrder(1, 'buy', '64000', '0.1'));
    await h.place(limitOrder(2, 'sell', '65100', '1'));
    await h.place(limitOrder(2, 'sell', '65050.5', '0.2'));
    const response = await h.get('/books/BTC-USDT?depth=2');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      symbol: 'BTC-USDT',
      seq: 9,
      bids: [
        ['65000.00', '0.100000'],
        ['64999.90', '0.750000'],
      ],
      asks: [
        ['65050.50', '0.200000'],
        ['65100.00', '1.000000'],
      ],
    });
    expect((await h.get('/books/BTC-USDT')).body.bids).toHaveLength(3);
    expect((await h.get('/books/ETH-USDT')).body).toEqual({ symbol: 'ETH-USDT', seq: 9, bids: [], asks: [] });
  });

  it('follows fills and cancels', async () => {
    const bid = await h.place(limitOrder(1, 'buy', '65000', '0.5'));
    await h.place(limitOrder(2, 'sell', '64000', '0.2'));
    expect((await h.get('/books/BTC-USDT')).body.bids).toEqual([['65000.00', '0.300000']]);
    await h.del(`/orders/${bid.body.orderId}?accountId=1`);
    expect((await h.get('/books/BTC-USDT')).body.bids).toEqual([]);
  });

  it('404 UNKNOWN_SYMBOL for an unknown symbol; 400 for a depth out of range', async () => {
    for (const url of ['/books/DOGE-USDT', '/books/btc-usdt', '/books/BTC-USDT%20']) {
      const response = await h.get(url);
      expect([response.status, response.body.error.code], url).toEqual([404, 'UNKNOWN_SYMBOL']);
    }
    for (const query of ['depth=0', 'depth=51', 'depth=abc', 'depth=-1', 'depth=1.5', 'depth=', 'level=2', 'depth=1&depth=2']) {
      const response = await h.get(`/books/BTC-USDT?${query}`);
      expect([response.status, response.body.error.code], query).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await h.get('/books/BTC-USDT?depth=50')).status).toBe(200);
  });
});

describe('GET /markets/{symbol}/trades', () => {
  it('lists trades newest first with maker price, taker side, seq and time', async () => {
    await h.place(limitOrder(2, 'sell', '65000', '0.1'));
    await h.place(limitOrder(2, 'sell', '65001', '0.1'));
    const taker = await h.place(limitOrder(1, 'buy', '65001', '0.15'));
    await h.place(limitOrder(1, 'buy', '64000', '0.1'));
    const sellTaker = await h.place({ accountId: 2, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '0.01' });
    const response = await h.get('/markets/BTC-USDT/trades');
    expect(response.status).toBe(200);
    expect(response.body.trades).toEqual([
      { tradeId: '3', price: '64000.00', qty: '0.010000', takerSide: 'sell', seq: sellTaker.body.seq, time: expect.any(Number) },
      { tradeId: '2', price: '65001.00', qty: '0.050000', takerSide: 'buy', seq: taker.body.seq, time: expect.any(Number) },
      { tradeId: '1', price: '65000.00', qty: '0.100000', takerSide: 'buy', seq: taker.body.seq, time: expect.any(Number) },
    ]);
    const [newest, middle] = response.body.trades as { time: number }[];
    expect(Number.isInteger(newest!.time)).toBe(true);
    expect(newest!.time).toBeGreaterThan(middle!.time);
    expect((await h.get('/markets/BTC-USDT/trades?limit=1')).body.trades.map((t: { tradeId: string }) => t.tradeId)).toEqual(['3']);
    expect((await h.get('/markets/ETH-USDT/trades')).body).toEqual({ trades: [] });
  });

  it('404 UNKNOWN_SYMBOL; 400 for a limit out of range', async () => {
    const unknown = await h.get('/markets/NOPE/trades');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'UNKNOWN_SYMBOL']);
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'since=1']) {
      const response = await h.get(`/markets/BTC-USDT/trades?${query}`);
      expect([response.status, response.body.error.code], query).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await h.get('/markets/BTC-USDT/trades?limit=1000')).status).toBe(200);
  });
});
