/**
 * End to end over a real socket against the real server (threaded pipeline, WAL with fsync,
 * Fastify): a full trading scenario on BTC-USDT with every order type, checked step by step
 * against balances, books and trades the test computes itself (BigInt, ../support/contract.ts),
 * in API.md's canonical formats; seq gap-free, orderId = seq, tradeIds in order; every accepted
 * write grows the WAL before its answer arrives, every refused one leaves it untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResponse, RealServer } from './support/real_server.ts';
import { startRealServer, walBytes } from './support/real_server.ts';
import { ExpectedBalances, expectError, fmt, limit, notional, units } from './support/contract.ts';

const A = 101; // buyer
const B = 102; // seller
const C = 103; // seller, later buyer of nothing
const U = (text: string) => units(text, 6); // USDT
const BTC = (text: string) => units(text, 8);

let s: RealServer;
const model = new ExpectedBalances();
/** The seq the server must give the next accepted command. */
let nextSeq = 1;

beforeAll(async () => {
  s = await startRealServer();
});

afterAll(async () => {
  await s?.dispose();
  expect(s?.fatalErrors ?? []).toEqual([]);
});

/**
 * An accepted write: the status, the next seq (a cancel answers with the order's own seq, so it is
 * checked through /health), and the WAL grew before the answer arrived.
 */
async function accepted(send: () => Promise<HttpResponse>, status = 201): Promise<HttpResponse> {
  const before = walBytes(s.dataDir);
  const response = await send();
  expect(response.status, response.text).toBe(status);
  if (response.body.status === 'cancelled') {
    expect((await s.get('/health')).body.seq).toBe(nextSeq);
  } else {
    expect(response.body.seq).toBe(nextSeq);
    if (response.body.orderId !== undefined) expect(response.body.orderId).toBe(String(nextSeq));
  }
  nextSeq += 1;
  expect(walBytes(s.dataDir)).toBeGreaterThan(before);
  return response;
}

/** A refused write: the error, no seq taken, nothing written. */
async function refused(send: () => Promise<HttpResponse>, status: number, code: string): Promise<HttpResponse> {
  const before = walBytes(s.dataDir);
  const response = await send();
  expectError(response, status, code);
  expect(walBytes(s.dataDir)).toBe(before);
  const health = await s.get('/health');
  expect(health.body.seq).toBe(nextSeq - 1);
  return response;
}

async function expectBalances(...accountIds: number[]): Promise<void> {
  for (const accountId of accountIds) {
    const response = await s.get(`/accounts/${accountId}/balances`);
    expect(response.status).toBe(200);
    expect(response.body, `account ${accountId}`).toEqual(model.body(accountId));
  }
}

async function expectBook(bids: [string, string][], asks: [string, string][]): Promise<void> {
  const response = await s.get('/books/BTC-USDT');
  expect(response.status).toBe(200);
  expect(response.body).toEqual({ symbol: 'BTC-USDT', seq: nextSeq - 1, bids, asks });
}

/** The full body of a limit order as API.md specifies it. */
function limitView(
  orderId: number,
  accountId: number,
  side: 'buy' | 'sell',
  price: string,
  qty: string,
  state: { status: string; filledQty: string; remainingQty: string; timeInForce?: string; clientOrderId?: string },
  fills?: { tradeId: string; price: string; qty: string; makerOrderId: string }[],
): Record<string, unknown> {
  return {
    orderId: String(orderId),
    ...(state.clientOrderId === undefined ? {} : { clientOrderId: state.clientOrderId }),
    seq: orderId,
    accountId,
    symbol: 'BTC-USDT',
    side,
    type: 'limit',
    timeInForce: state.timeInForce ?? 'GTC',
    price,
    qty,
    status: state.status,
    filledQty: state.filledQty,
    remainingQty: state.remainingQty,
    ...(fills === undefined ? {} : { fills }),
  };
}

describe('a full trading session on BTC-USDT over the socket', () => {
  it('GET /markets and /health on a fresh server', async () => {
    const markets = await s.get('/markets');
    expect(markets.status).toBe(200);
    expect(markets.headers.get('content-type')).toMatch(/^application\/json/);
    expect(markets.body).toEqual({
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
    expect((await s.get('/health')).body).toEqual({ status: 'ok', seq: 0, durableSeq: 0 });
    expect((await s.get('/books/BTC-USDT')).body).toEqual({ symbol: 'BTC-USDT', seq: 0, bids: [], asks: [] });
    expect((await s.get('/markets/BTC-USDT/trades')).body).toEqual({ trades: [] });
  });

  it('deposits and withdrawals answer the balance after them, in the asset decimals', async () => {
    const a = await accepted(() => s.deposit(A, 'USDT', '100000'), 200);
    expect(a.body).toEqual({ accountId: A, asset: 'USDT', available: '100000.000000', locked: '0.000000', seq: 1 });
    model.available(A, 'USDT', U('100000'));
    const b = await accepted(() => s.deposit(B, 'BTC', '2'), 200);
    expect(b.body).toEqual({ accountId: B, asset: 'BTC', available: '2.00000000', locked: '0.00000000', seq: 2 });
    model.available(B, 'BTC', BTC('2'));
    await accepted(() => s.deposit(C, 'BTC', '1.000'), 200);
    model.available(C, 'BTC', BTC('1'));
    const c = await accepted(() => s.deposit(C, 'USDT', '5000.5'), 200);
    expect(c.body).toEqual({ accountId: C, asset: 'USDT', available: '5000.500000', locked: '0.000000', seq: 4 });
    model.available(C, 'USDT', U('5000.5'));
    const w = await accepted(() => s.withdraw(C, 'USDT', '0.5'), 200);
    expect(w.body).toEqual({ accountId: C, asset: 'USDT', available: '5000.000000', locked: '0.000000', seq: 5 });
    model.available(C, 'USDT', -U('0.5'));
    await refused(() => s.withdraw(C, 'USDT', '5000.000001'), 422, 'INSUFFICIENT_BALANCE');
    await refused(() => s.withdraw(C, 'ETH', '1'), 422, 'INSUFFICIENT_BALANCE');
    await expectBalances(A, B, C);
    expect((await s.get('/health')).body).toEqual({ status: 'ok', seq: 5, durableSeq: 5 });
  });

  it('resting orders: 201 new, funds locked (a buy locks the ceiling of price × qty), book aggregated', async () => {
    const ask = await accepted(() => s.place(limit(B, 'sell', '50000.01', '1.5', { clientOrderId: 'b-ask-1' })));
    expect(ask.body).toEqual(
      limitView(6, B, 'sell', '50000.01', '1.500000', { status: 'new', filledQty: '0.000000', remainingQty: '1.500000', clientOrderId: 'b-ask-1' }, []),
    );
    model.lock(B, 'BTC', BTC('1.5'));
    const ask2 = await accepted(() => s.place(limit(C, 'sell', '50001', '0.25')));
    expect(ask2.body).toEqual(limitView(7, C, 'sell', '50001.00', '0.250000', { status: 'new', filledQty: '0.000000', remainingQty: '0.250000' }, []));
    model.lock(C, 'BTC', BTC('0.25'));
    // 49999.99 × 0.000003 = 0.14999997 USDT: the buy reserves the ceiling, 0.150000.
    const bid = await accepted(() => s.place(limit(A, 'buy', '49999.99', '0.000003', { postOnly: true })));
    expect(bid.body).toEqual(limitView(8, A, 'buy', '49999.99', '0.000003', { status: 'new', filledQty: '0.000000', remainingQty: '0.000003' }, []));
    expect(notional('49999.99', '0.000003', 6, 'ceil')).toBe(U('0.15'));
    model.lock(A, 'USDT', U('0.15'));
    await expectBalances(A, B, C);
    expect(model.body(A).balances.USDT).toEqual({ available: '99999.850000', locked: '0.150000' });
    await expectBook([['49999.99', '0.000003']], [['50000.01', '1.500000'], ['50001.00', '0.250000']]);
    const open = await s.get(`/accounts/${A}/orders?status=open`);
    expect(open.body).toEqual({
      orders: [limitView(8, A, 'buy', '49999.99', '0.000003', { status: 'new', filledQty: '0.000000', remainingQty: '0.000003' })],
    });
    expect((await s.get(`/accounts/${A}/orders`)).body).toEqual(open.body);
  });

  it('a crossing taker fills at the maker prices, level by level, and rests its remainder', async () => {
    const before = Date.now();
    const taker = await accepted(() => s.place(limit(A, 'buy', '50001.00', '1.8')));
    const after = Date.now();
    expect(taker.body).toEqual(
      limitView(9, A, 'buy', '50001.00', '1.800000', { status: 'partially_filled', filledQty: '1.750000', remainingQty: '0.050000' }, [
        { tradeId: '1', price: '50000.01', qty: '1.500000', makerOrderId: '6' },
        { tradeId: '2', price: '50001.00', qty: '0.250000', makerOrderId: '7' },
      ]),
    );
    // Fills pay the maker price (75000.015 + 12500.25); the rest rests locking ceil(50001 × 0.05).
    const paid1 = notional('50000.01', '1.5', 6, 'floor');
    const paid2 = notional('50001.00', '0.25', 6, 'floor');
    expect([fmt(paid1, 6), fmt(paid2, 6)]).toEqual(['75000.015000', '12500.250000']);
    model.available(A, 'USDT', -(paid1 + paid2));
    model.lock(A, 'USDT', notional('50001.00', '0.05', 6, 'ceil'));
    model.available(A, 'BTC', BTC('1.75'));
    model.spendLocked(B, 'BTC', BTC('1.5'));
    model.available(B, 'USDT', paid1);
    model.spendLocked(C, 'BTC', BTC('0.25'));
    model.available(C, 'USDT', paid2);
    await expectBalances(A, B, C);
    expect(model.body(A).balances.USDT).toEqual({ available: '9999.535000', locked: '2500.200000' });
    await expectBook([['50001.00', '0.050000'], ['49999.99', '0.000003']], []);
    const makers = [await s.get('/orders/6'), await s.get('/orders/7')];
    expect(makers.map((r) => r.body)).toEqual([
      limitView(6, B, 'sell', '50000.01', '1.500000', { status: 'filled', filledQty: '1.500000', remainingQty: '0.000000', clientOrderId: 'b-ask-1' }),
      limitView(7, C, 'sell', '50001.00', '0.250000', { status: 'filled', filledQty: '0.250000', remainingQty: '0.000000' }),
    ]);
    const trades = await s.get('/markets/BTC-USDT/trades');
    expect(trades.body.trades.map((t: { time: number }) => ({ ...t, time: 0 }))).toEqual([
      { tradeId: '2', price: '50001.00', qty: '0.250000', takerSide: 'buy', seq: 9, time: 0 },
      { tradeId: '1', price: '50000.01', qty: '1.500000', takerSide: 'buy', seq: 9, time: 0 },
    ]);
    for (const trade of trades.body.trades) {
      expect(Number.isSafeInteger(trade.time)).toBe(true);
      expect(trade.time).toBeGreaterThanOrEqual(before - 5);
      expect(trade.time).toBeLessThanOrEqual(after + 5);
    }
  });

  it('IOC: fills what it can, its remainder expires and is released', async () => {
    const ioc = await accepted(() => s.place(limit(B, 'sell', '50000.00', '0.08', { timeInForce: 'IOC' })));
    expect(ioc.body).toEqual(
      limitView(10, B, 'sell', '50000.00', '0.080000', { status: 'expired', filledQty: '0.050000', remainingQty: '0.030000', timeInForce: 'IOC' }, [
        { tradeId: '3', price: '50001.00', qty: '0.050000', makerOrderId: '9' },
      ]),
    );
    const paid = notional('50001.00', '0.05', 6, 'floor'); // exact: the reservation was the same amount
    model.available(B, 'BTC', -BTC('0.05'));
    model.available(B, 'USDT', paid);
    model.spendLocked(A, 'USDT', paid);
    model.available(A, 'BTC', BTC('0.05'));
    await expectBalances(A, B);
    expect((await s.get('/orders/9')).body).toMatchObject({ status: 'filled', filledQty: '1.800000', remainingQty: '0.000000' });
    await expectBook([['49999.99', '0.000003']], []);
  });

  it('rounding: a fill pays the floor of price × qty, the buyer gets the rest of its ceiling reservation back', async () => {
    const ioc = await accepted(() => s.place(limit(C, 'sell', '49999.99', '0.000003', { timeInForce: 'IOC' })));
    expect(ioc.body).toMatchObject({ status: 'filled', filledQty: '0.000003', remainingQty: '0.000000' });
    expect(ioc.body.fills).toEqual([{ tradeId: '4', price: '49999.99', qty: '0.000003', makerOrderId: '8' }]);
    const paid = notional('49999.99', '0.000003', 6, 'floor');
    expect(fmt(paid, 6)).toBe('0.149999');
    model.spendLocked(A, 'USDT', paid);
    model.lock(A, 'USDT', -(U('0.15') - paid)); // 0.000001 released
    model.available(A, 'BTC', BTC('0.000003'));
    model.available(C, 'BTC', -BTC('0.000003'));
    model.available(C, 'USDT', paid);
    await expectBalances(A, C);
    expect(model.body(A).balances.USDT).toEqual({ available: '9999.535001', locked: '0.000000' });
    await expectBook([], []);
  });

  it('FOK: all or nothing', async () => {
    await accepted(() => s.place(limit(B, 'sell', '50100', '0.1'))); // 12
    model.lock(B, 'BTC', BTC('0.1'));
    const none = await accepted(() => s.place(limit(A, 'buy', '50100.00', '0.15', { timeInForce: 'FOK' }))); // 13
    expect(none.body).toEqual(
      limitView(13, A, 'buy', '50100.00', '0.150000', { status: 'expired', filledQty: '0.000000', remainingQty: '0.150000', timeInForce: 'FOK' }, []),
    );
    await expectBalances(A, B);
    // More than A can pay for is refused before the log, even as FOK.
    await refused(() => s.place(limit(A, 'buy', '50100.00', '0.2', { timeInForce: 'FOK' })), 422, 'INSUFFICIENT_BALANCE');
    const all = await accepted(() => s.place(limit(A, 'buy', '50200.00', '0.1', { timeInForce: 'FOK' }))); // 14
    expect(all.body).toMatchObject({ status: 'filled', filledQty: '0.100000', remainingQty: '0.000000' });
    expect(all.body.fills).toEqual([{ tradeId: '5', price: '50100.00', qty: '0.100000', makerOrderId: '12' }]);
    const paid = notional('50100', '0.1', 6, 'floor');
    model.available(A, 'USDT', -paid);
    model.available(A, 'BTC', BTC('0.1'));
    model.spendLocked(B, 'BTC', BTC('0.1'));
    model.available(B, 'USDT', paid);
    await expectBalances(A, B);
  });

  it('post-only: rests when it does not cross, expires without trading when it would', async () => {
    await accepted(() => s.place(limit(C, 'sell', '50500', '0.2'))); // 15
    model.lock(C, 'BTC', BTC('0.2'));
    const crossing = await accepted(() => s.place(limit(A, 'buy', '50500.00', '0.01', { postOnly: true }))); // 16
    expect(crossing.body).toEqual(
      limitView(16, A, 'buy', '50500.00', '0.010000', { status: 'expired', filledQty: '0.000000', remainingQty: '0.010000' }, []),
    );
    await expectBalances(A, C);
    await expectBook([], [['50500.00', '0.200000']]);
  });

  it('market buy by quoteQty: the largest quantity whose cost fits the budget; the rest is released', async () => {
    const market = await accepted(() => s.place({ accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1000' })); // 17
    // 1000 / 50500 = 0.0198019…: 0.019801 BTC for 999.950500 USDT; one more step would cost 0.0505.
    expect(market.body).toEqual({
      orderId: '17',
      seq: 17,
      accountId: A,
      symbol: 'BTC-USDT',
      side: 'buy',
      type: 'market',
      timeInForce: 'IOC',
      quoteQty: '1000.000000',
      status: 'filled',
      filledQty: '0.019801',
      remainingQty: '0.000000',
      fills: [{ tradeId: '6', price: '50500.00', qty: '0.019801', makerOrderId: '15' }],
    });
    const paid = notional('50500.00', '0.019801', 6, 'floor');
    expect(paid).toBeLessThanOrEqual(U('1000'));
    expect(notional('50500.00', '0.019802', 6, 'floor')).toBeGreaterThan(U('1000'));
    model.available(A, 'USDT', -paid);
    model.available(A, 'BTC', BTC('0.019801'));
    model.spendLocked(C, 'BTC', BTC('0.019801'));
    model.available(C, 'USDT', paid);
    await expectBalances(A, C);
    expect((await s.get('/orders/15')).body).toMatchObject({ status: 'partially_filled', filledQty: '0.019801', remainingQty: '0.180199' });
    await expectBook([], [['50500.00', '0.180199']]);
  });

  it('market sell by qty: sells into the bids, the remainder expires', async () => {
    await accepted(() => s.place(limit(A, 'buy', '40000', '0.05'))); // 18
    model.lock(A, 'USDT', notional('40000', '0.05', 6, 'ceil'));
    const sell = await accepted(() => s.place({ accountId: B, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '0.08' })); // 19
    expect(sell.body).toEqual({
      orderId: '19',
      seq: 19,
      accountId: B,
      symbol: 'BTC-USDT',
      side: 'sell',
      type: 'market',
      timeInForce: 'IOC',
      qty: '0.080000',
      status: 'expired',
      filledQty: '0.050000',
      remainingQty: '0.030000',
      fills: [{ tradeId: '7', price: '40000.00', qty: '0.050000', makerOrderId: '18' }],
    });
    const paid = notional('40000', '0.05', 6, 'floor');
    model.spendLocked(A, 'USDT', paid);
    model.available(A, 'BTC', BTC('0.05'));
    model.available(B, 'BTC', -BTC('0.05'));
    model.available(B, 'USDT', paid);
    await expectBalances(A, B);
  });

  it('cancel: 200 cancelled with the funds released; 409 when not open; 404 for another account or no order', async () => {
    const cancel = await accepted(() => s.del(`/orders/15?accountId=${C}`), 200); // 20
    expect(cancel.body).toEqual(
      limitView(15, C, 'sell', '50500.00', '0.200000', { status: 'cancelled', filledQty: '0.019801', remainingQty: '0.180199' }),
    );
    model.lock(C, 'BTC', -BTC('0.180199'));
    await expectBalances(C);
    await refused(() => s.del(`/orders/15?accountId=${C}`), 409, 'ORDER_NOT_OPEN');
    await refused(() => s.del(`/orders/6?accountId=${B}`), 409, 'ORDER_NOT_OPEN'); // filled
    await refused(() => s.del(`/orders/13?accountId=${A}`), 409, 'ORDER_NOT_OPEN'); // expired
    await refused(() => s.del(`/orders/15?accountId=${A}`), 404, 'ORDER_NOT_FOUND'); // someone else's
    await refused(() => s.del(`/orders/6?accountId=${A}`), 404, 'ORDER_NOT_FOUND');
    await refused(() => s.del(`/orders/999999?accountId=${A}`), 404, 'ORDER_NOT_FOUND');
    await refused(() => s.del(`/orders/1?accountId=${A}`), 404, 'ORDER_NOT_FOUND'); // seq 1 was a deposit
    await expectBook([], []);
    for (const accountId of [A, B, C]) expect((await s.get(`/accounts/${accountId}/orders?status=open`)).body).toEqual({ orders: [] });
  });

  it('the session adds up: final balances, conservation, trades newest first, every order readable', async () => {
    // Final figures written out by hand (see the steps above) as well as by the model.
    expect(model.body(A).balances).toEqual({
      BTC: { available: '1.96980400', locked: '0.00000000' },
      ETH: { available: '0.00000000', locked: '0.00000000' },
      USDT: { available: '1989.584501', locked: '0.000000' },
    });
    expect(model.body(B).balances.BTC).toEqual({ available: '0.30000000', locked: '0.00000000' });
    expect(model.body(B).balances.USDT).toEqual({ available: '84510.065000', locked: '0.000000' });
    expect(model.body(C).balances.BTC).toEqual({ available: '0.73019600', locked: '0.00000000' });
    expect(model.body(C).balances.USDT).toEqual({ available: '18500.350499', locked: '0.000000' });
    expect(model.total('USDT')).toBe(U('105000'));
    expect(model.total('BTC')).toBe(BTC('3'));
    await expectBalances(A, B, C);

    const trades = await s.get('/markets/BTC-USDT/trades?limit=3');
    expect(trades.body.trades.map((t: { tradeId: string; seq: number; takerSide: string }) => [t.tradeId, t.seq, t.takerSide])).toEqual([
      ['7', 19, 'sell'],
      ['6', 17, 'buy'],
      ['5', 14, 'buy'],
    ]);
    const all = (await s.get('/markets/BTC-USDT/trades')).body.trades;
    expect(all.map((t: { tradeId: string }) => t.tradeId)).toEqual(['7', '6', '5', '4', '3', '2', '1']);
    const times = all.map((t: { time: number }) => t.time);
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect((await s.get('/markets/ETH-USDT/trades')).body).toEqual({ trades: [] });

    const statuses: Record<number, string> = {
      6: 'filled', 7: 'filled', 8: 'filled', 9: 'filled', 10: 'expired', 11: 'filled', 12: 'filled', 13: 'expired',
      14: 'filled', 15: 'cancelled', 16: 'expired', 17: 'filled', 18: 'filled', 19: 'expired',
    };
    for (const [orderId, status] of Object.entries(statuses)) {
      const order = await s.get(`/orders/${orderId}`);
      expect([order.status, order.body.orderId, order.body.status], `order ${orderId}`).toEqual([200, orderId, status]);
    }
    for (const notAnOrder of [1, 5, 20, 21]) expectError(await s.get(`/orders/${notAnOrder}`), 404, 'ORDER_NOT_FOUND');
    expect((await s.get('/health')).body).toEqual({ status: 'ok', seq: 20, durableSeq: 20 });
    expect(nextSeq).toBe(21);
  });
});
