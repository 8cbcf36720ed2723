/**
 * API.md's contract over a real socket against the real server: every error code reachable through
 * HTTP with its status (and that no refused request takes a seq or writes a byte to the WAL),
 * idempotent retries with clientOrderId (sequential and concurrent), ETH-USDT's formats, book depth
 * and aggregation, and /metrics counters that move by exactly what the test did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResponse, RealServer } from './support/real_server.ts';
import { startRealServer, walBytes } from './support/real_server.ts';
import { expectError, fmt, limit, metric, notional, parseMetrics, units } from './support/contract.ts';

let s: RealServer;

beforeAll(async () => {
  s = await startRealServer();
});

afterAll(async () => {
  await s?.dispose();
  expect(s?.fatalErrors ?? []).toEqual([]);
});

async function ok(response: Promise<HttpResponse>, status = 200): Promise<HttpResponse> {
  const result = await response;
  expect(result.status, result.text).toBe(status);
  return result;
}

async function healthSeq(): Promise<number> {
  return (await s.get('/health')).body.seq;
}

describe('every error code reachable over HTTP, nothing written for any of them', () => {
  const FUNDED = 301;
  const POOR = 302;

  beforeAll(async () => {
    await ok(s.deposit(FUNDED, 'USDT', '1000'));
    await ok(s.deposit(FUNDED, 'BTC', '1'));
    await ok(s.deposit(POOR, 'USDT', '1'));
  });

  it('each refusal has its status and code, and leaves seq, WAL and balances as they were', async () => {
    const seqBefore = await healthSeq();
    const walBefore = walBytes(s.dataDir);
    const balancesBefore = [(await s.get(`/accounts/${FUNDED}/balances`)).body, (await s.get(`/accounts/${POOR}/balances`)).body];
    const json = { 'content-type': 'application/json' };
    const cases: [string, () => Promise<HttpResponse>, number, string][] = [
      // VALIDATION_FAILED
      ['amount as a JSON number', () => s.post(`/accounts/${FUNDED}/deposits`, { asset: 'USDT', amount: 10 }), 400, 'VALIDATION_FAILED'],
      ['price as a JSON number', () => s.place({ ...limit(FUNDED, 'buy', '1', '1'), price: 100 }), 400, 'VALIDATION_FAILED'],
      ['qty as a JSON number', () => s.place({ ...limit(FUNDED, 'sell', '1', '1'), qty: 0.5 }), 400, 'VALIDATION_FAILED'],
      ['quoteQty as a JSON number', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: 5 }), 400, 'VALIDATION_FAILED'],
      ['accountId as a string', () => s.place(limit('301' as unknown as number, 'buy', '1', '1')), 400, 'VALIDATION_FAILED'],
      ['accountId 0 in the body', () => s.place(limit(0, 'buy', '1', '1')), 400, 'VALIDATION_FAILED'],
      ['accountId 2^32 in the body', () => s.place(limit(4294967296, 'buy', '1', '1')), 400, 'VALIDATION_FAILED'],
      ['accountId 1.5 in the body', () => s.place(limit(1.5, 'buy', '1', '1')), 400, 'VALIDATION_FAILED'],
      ['unknown field', () => s.place(limit(FUNDED, 'buy', '1', '1', { leverage: '10' })), 400, 'VALIDATION_FAILED'],
      ['unknown side', () => s.place(limit(FUNDED, 'short' as 'buy', '1', '1')), 400, 'VALIDATION_FAILED'],
      ['limit without price', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'buy', type: 'limit', qty: '1' }), 400, 'VALIDATION_FAILED'],
      ['market buy with qty', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'buy', type: 'market', qty: '1' }), 400, 'VALIDATION_FAILED'],
      ['market sell with quoteQty', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'sell', type: 'market', quoteQty: '1' }), 400, 'VALIDATION_FAILED'],
      ['market GTC', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '1', timeInForce: 'GTC' }), 400, 'VALIDATION_FAILED'],
      ['postOnly IOC', () => s.place(limit(FUNDED, 'buy', '1', '1', { postOnly: true, timeInForce: 'IOC' })), 400, 'VALIDATION_FAILED'],
      ['clientOrderId of 37 chars', () => s.place(limit(FUNDED, 'buy', '1', '1', { clientOrderId: 'x'.repeat(37) })), 400, 'VALIDATION_FAILED'],
      ['clientOrderId with a space', () => s.place(limit(FUNDED, 'buy', '1', '1', { clientOrderId: 'a b' })), 400, 'VALIDATION_FAILED'],
      ['price in exponent form', () => s.place(limit(FUNDED, 'buy', '1e3', '1')), 400, 'VALIDATION_FAILED'],
      ['invalid JSON', () => s.send('POST', '/orders', '{"accountId":301,'), 400, 'VALIDATION_FAILED'],
      ['empty JSON body', () => s.send('POST', `/accounts/${FUNDED}/deposits`, ''), 400, 'VALIDATION_FAILED'],
      ['text/plain body', () => s.send('POST', `/accounts/${FUNDED}/deposits`, '{"asset":"USDT","amount":"1"}', { 'content-type': 'text/plain' }), 400, 'VALIDATION_FAILED'],
      ['deposit amount 0', () => s.deposit(FUNDED, 'USDT', '0'), 400, 'VALIDATION_FAILED'],
      ['deposit amount negative', () => s.deposit(FUNDED, 'USDT', '-5'), 400, 'VALIDATION_FAILED'],
      ['deposit with 9 BTC decimals', () => s.deposit(FUNDED, 'BTC', '0.000000001'), 400, 'VALIDATION_FAILED'],
      ['path accountId 0', () => s.get('/accounts/0/balances'), 400, 'VALIDATION_FAILED'],
      ['path accountId not a number', () => s.get('/accounts/abc/balances'), 400, 'VALIDATION_FAILED'],
      ['path accountId 2^32', () => s.post('/accounts/4294967296/deposits', { asset: 'USDT', amount: '1' }, json), 400, 'VALIDATION_FAILED'],
      ['cancel without accountId', () => s.del('/orders/1'), 400, 'VALIDATION_FAILED'],
      ['cancel with accountId abc', () => s.del('/orders/1?accountId=abc'), 400, 'VALIDATION_FAILED'],
      ['book depth 0', () => s.get('/books/BTC-USDT?depth=0'), 400, 'VALIDATION_FAILED'],
      ['book depth past the maximum', () => s.get('/books/BTC-USDT?depth=1001'), 400, 'VALIDATION_FAILED'],
      ['trades limit -1', () => s.get('/markets/BTC-USDT/trades?limit=-1'), 400, 'VALIDATION_FAILED'],
      ['query on /health', () => s.get('/health?verbose=1'), 400, 'VALIDATION_FAILED'],
      // UNKNOWN_SYMBOL / UNKNOWN_ASSET
      ['unknown symbol in an order', () => s.place({ ...limit(FUNDED, 'buy', '1', '1'), symbol: 'DOGE-USDT' }), 400, 'UNKNOWN_SYMBOL'],
      ['unknown symbol in a book path', () => s.get('/books/DOGE-USDT'), 404, 'UNKNOWN_SYMBOL'],
      ['unknown symbol in a trades path', () => s.get('/markets/btc-usdt/trades'), 404, 'UNKNOWN_SYMBOL'],
      ['unknown asset in a deposit', () => s.deposit(FUNDED, 'DOGE', '1'), 400, 'UNKNOWN_ASSET'],
      ['unknown asset in a withdrawal', () => s.withdraw(FUNDED, 'usdt', '1'), 400, 'UNKNOWN_ASSET'],
      // INVALID_PRICE / INVALID_QTY
      ['price off the tick', () => s.place(limit(FUNDED, 'buy', '50000.001', '0.01')), 400, 'INVALID_PRICE'],
      ['price zero', () => s.place(limit(FUNDED, 'buy', '0.00', '0.01')), 400, 'INVALID_PRICE'],
      ['price negative', () => s.place(limit(FUNDED, 'buy', '-1', '0.01')), 400, 'INVALID_PRICE'],
      ['qty off the step', () => s.place(limit(FUNDED, 'sell', '50000', '0.0000001')), 400, 'INVALID_QTY'],
      ['qty zero', () => s.place(limit(FUNDED, 'sell', '50000', '0')), 400, 'INVALID_QTY'],
      ['qty off the ETH step', () => s.place(limit(FUNDED, 'sell', '3000', '0.00005', {}, 'ETH-USDT')), 400, 'INVALID_QTY'],
      ['quoteQty zero', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '0' }), 400, 'INVALID_QTY'],
      ['quoteQty past USDT decimals', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1.0000001' }), 400, 'INVALID_QTY'],
      // AMOUNT_TOO_LARGE
      ['price beyond exact range', () => s.place(limit(FUNDED, 'buy', '99999999999999999', '0.01')), 400, 'AMOUNT_TOO_LARGE'],
      ['qty beyond exact range', () => s.place(limit(FUNDED, 'sell', '1', '99999999999')), 400, 'AMOUNT_TOO_LARGE'],
      ['price × qty beyond exact range', () => s.place(limit(FUNDED, 'buy', '1000000.00', '1000')), 400, 'AMOUNT_TOO_LARGE'],
      ['quoteQty beyond exact range', () => s.place({ accountId: FUNDED, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '99999999999999999' }), 400, 'AMOUNT_TOO_LARGE'],
      ['deposit beyond exact range', () => s.deposit(FUNDED, 'BTC', '100000000000'), 400, 'AMOUNT_TOO_LARGE'],
      // ACCOUNT_NOT_FOUND
      ['balances of an account never funded', () => s.get('/accounts/399/balances'), 404, 'ACCOUNT_NOT_FOUND'],
      ['open orders of an account never funded', () => s.get('/accounts/399/orders?status=open'), 404, 'ACCOUNT_NOT_FOUND'],
      ['order of an account never funded', () => s.place(limit(399, 'buy', '1', '1')), 404, 'ACCOUNT_NOT_FOUND'],
      ['withdrawal of an account never funded', () => s.withdraw(399, 'USDT', '1'), 404, 'ACCOUNT_NOT_FOUND'],
      // ORDER_NOT_FOUND
      ['an order that never existed', () => s.get('/orders/424242'), 404, 'ORDER_NOT_FOUND'],
      ['an order id beyond the exact range', () => s.get('/orders/99999999999999999999'), 404, 'ORDER_NOT_FOUND'],
      ['cancel of an order that never existed', () => s.del(`/orders/424242?accountId=${FUNDED}`), 404, 'ORDER_NOT_FOUND'],
      // PAYLOAD_TOO_LARGE (default body limit 64 KiB)
      ['a body past the limit', () => s.place(limit(FUNDED, 'buy', '1', '1', { clientOrderId: 'x', pad: 'p'.repeat(70_000) })), 413, 'PAYLOAD_TOO_LARGE'],
      ['a 1 MiB deposit body', () => s.send('POST', `/accounts/${FUNDED}/deposits`, `{"asset":"USDT","amount":"1","x":"${'9'.repeat(1 << 20)}"}`), 413, 'PAYLOAD_TOO_LARGE'],
      // INSUFFICIENT_BALANCE
      ['a buy beyond the available quote', () => s.place(limit(POOR, 'buy', '50000', '0.001')), 422, 'INSUFFICIENT_BALANCE'],
      ['a sell beyond the available base', () => s.place(limit(FUNDED, 'sell', '50000', '1.000001')), 422, 'INSUFFICIENT_BALANCE'],
      ['a market buy beyond the available quote', () => s.place({ accountId: POOR, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1.000001' }), 422, 'INSUFFICIENT_BALANCE'],
      ['a withdrawal beyond the available', () => s.withdraw(POOR, 'USDT', '1.000001'), 422, 'INSUFFICIENT_BALANCE'],
      ['a withdrawal of an asset never held', () => s.withdraw(POOR, 'BTC', '0.00000001'), 422, 'INSUFFICIENT_BALANCE'],
    ];
    for (const [label, send, status, code] of cases) expectError(await send(), status, code, label);
    expect(await healthSeq()).toBe(seqBefore);
    expect(walBytes(s.dataDir)).toBe(walBefore);
    expect([(await s.get(`/accounts/${FUNDED}/balances`)).body, (await s.get(`/accounts/${POOR}/balances`)).body]).toEqual(balancesBefore);
    expect(balancesBefore[0].balances).toEqual({
      BTC: { available: '1.00000000', locked: '0.00000000' },
      ETH: { available: '0.00000000', locked: '0.00000000' },
      USDT: { available: '1000.000000', locked: '0.000000' },
    });
  });

  it('routing beyond the contract: unknown paths 404, wrong methods 405 with Allow, HEAD answers', async () => {
    expectError(await s.get('/v2/orders'), 404, 'NOT_FOUND');
    const wrong = await s.request('PUT', '/orders/1', {});
    expectError(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('GET, DELETE, HEAD');
    const head = await s.request('HEAD', '/markets');
    expect([head.status, head.text]).toEqual([200, '']);
  });
});

describe('idempotent retries with clientOrderId', () => {
  const ACCOUNT = 401;
  const OTHER = 402;

  beforeAll(async () => {
    await ok(s.deposit(ACCOUNT, 'USDT', '10000'));
    await ok(s.deposit(OTHER, 'USDT', '10000'));
    await ok(s.deposit(OTHER, 'BTC', '1'));
  });

  async function usdt(accountId: number): Promise<{ available: string; locked: string }> {
    return (await s.get(`/accounts/${accountId}/balances`)).body.balances.USDT;
  }

  it('a retry answers 200 with the same order, creates nothing and reserves nothing more', async () => {
    const body = limit(ACCOUNT, 'buy', '30000', '0.1', { clientOrderId: 'idem-1' });
    const first = await ok(s.place(body), 201);
    const seq = await healthSeq();
    const wal = walBytes(s.dataDir);
    const reserved = notional('30000', '0.1', 6, 'ceil');
    expect(await usdt(ACCOUNT)).toEqual({ available: fmt(units('10000', 6) - reserved, 6), locked: fmt(reserved, 6) });
    for (let retry = 0; retry < 3; retry++) {
      const again = await ok(s.place(body), 200);
      expect(again.body).toEqual(first.body);
    }
    // The pair names the order even with other parameters.
    const changed = await ok(s.place({ ...body, price: '1.00', qty: '5' }), 200);
    expect(changed.body.orderId).toBe(first.body.orderId);
    expect(changed.body.price).toBe('30000.00');
    expect(await healthSeq()).toBe(seq);
    expect(walBytes(s.dataDir)).toBe(wal);
    expect(await usdt(ACCOUNT)).toEqual({ available: '7000.000000', locked: '3000.000000' });
    expect((await s.get(`/accounts/${ACCOUNT}/orders?status=open`)).body.orders.map((o: { orderId: string }) => o.orderId)).toEqual([
      first.body.orderId,
    ]);
  });

  it('concurrent retries: exactly one 201, the others 200 with the same orderId; one reservation, one record', async () => {
    const seq = await healthSeq();
    const body = limit(ACCOUNT, 'buy', '20000', '0.05', { clientOrderId: 'idem-concurrent' });
    const responses = await Promise.all(Array.from({ length: 24 }, () => s.place(body)));
    const statuses = responses.map((r) => r.status).sort((x, y) => x - y);
    expect(statuses).toEqual([...new Array<number>(23).fill(200), 201]);
    const orderIds = new Set(responses.map((r) => r.body.orderId));
    expect([...orderIds]).toEqual([String(seq + 1)]);
    expect(await healthSeq()).toBe(seq + 1);
    expect(await usdt(ACCOUNT)).toEqual({ available: '6000.000000', locked: '4000.000000' });
  });

  it('a retry reports the current state (partially filled, then cancelled), never a new order', async () => {
    // The best bid (above the 30000 and 20000 ones of the tests before), then half of it filled.
    const first = await ok(s.place(limit(ACCOUNT, 'buy', '35000', '0.1', { clientOrderId: 'idem-state' })), 201);
    const sell = await ok(s.place(limit(OTHER, 'sell', '35000', '0.05')), 201);
    expect(sell.body.fills).toEqual([{ tradeId: '1', price: '35000.00', qty: '0.050000', makerOrderId: first.body.orderId }]);
    const partial = await ok(s.place(limit(ACCOUNT, 'buy', '1', '1', { clientOrderId: 'idem-state' })), 200);
    expect(partial.body).toMatchObject({ orderId: first.body.orderId, status: 'partially_filled', filledQty: '0.050000', remainingQty: '0.050000' });
    await ok(s.del(`/orders/${first.body.orderId}?accountId=${ACCOUNT}`));
    const seq = await healthSeq();
    const cancelled = await ok(s.place(limit(ACCOUNT, 'buy', '35000', '0.1', { clientOrderId: 'idem-state' })), 200);
    expect(cancelled.body).toMatchObject({ orderId: first.body.orderId, status: 'cancelled', filledQty: '0.050000' });
    expect(await healthSeq()).toBe(seq);
    // Another account's identical clientOrderId is another order.
    const other = await ok(s.place(limit(OTHER, 'buy', '100', '0.1', { clientOrderId: 'idem-state' })), 201);
    expect(other.body.orderId).not.toBe(first.body.orderId);
  });
});

describe('ETH-USDT formats, book depth and aggregation', () => {
  const MAKER = 501;

  it('prices with 2 decimals, ETH quantities with 4, balances with 8; levels best first, aggregated, cut at depth', async () => {
    const deposit = await ok(s.deposit(MAKER, 'ETH', '100.5'));
    expect(deposit.body).toMatchObject({ asset: 'ETH', available: '100.50000000', locked: '0.00000000' });
    await ok(s.deposit(MAKER, 'USDT', '1000000'));
    const order = await ok(s.place(limit(MAKER, 'sell', '3000.1', '1.5', {}, 'ETH-USDT')), 201);
    expect(order.body).toMatchObject({ symbol: 'ETH-USDT', price: '3000.10', qty: '1.5000', filledQty: '0.0000', remainingQty: '1.5000' });
    await ok(s.place(limit(MAKER, 'sell', '3000.10', '0.25', {}, 'ETH-USDT')), 201); // same level
    // 25 bid levels 2000.00, 1999.00, ... 1976.00, each 0.0100.
    let lockedUsdt = 0n;
    for (let i = 0; i < 25; i++) {
      const price = `${2000 - i}.00`;
      await ok(s.place(limit(MAKER, 'buy', price, '0.01', {}, 'ETH-USDT')), 201);
      lockedUsdt += notional(price, '0.01', 6, 'ceil');
    }
    const balances = (await s.get(`/accounts/${MAKER}/balances`)).body.balances;
    expect(balances.ETH).toEqual({ available: '98.75000000', locked: '1.75000000' });
    expect(balances.USDT).toEqual({ available: fmt(units('1000000', 6) - lockedUsdt, 6), locked: fmt(lockedUsdt, 6) });
    const levels = (count: number) => Array.from({ length: count }, (_, i) => [`${2000 - i}.00`, '0.0100']);
    const book = await ok(s.get('/books/ETH-USDT'));
    expect(book.body).toEqual({ symbol: 'ETH-USDT', seq: await healthSeq(), bids: levels(20), asks: [['3000.10', '1.7500']] });
    expect((await ok(s.get('/books/ETH-USDT?depth=3'))).body.bids).toEqual(levels(3));
    expect((await ok(s.get('/books/ETH-USDT?depth=1000'))).body.bids).toEqual(levels(25));
    // An ETH trade: 0.5 at 3000.10 for 1500.05 USDT exactly.
    const taker = await ok(s.place(limit(MAKER, 'buy', '3000.10', '0.5', { timeInForce: 'IOC' }, 'ETH-USDT')), 201);
    expect(taker.body).toMatchObject({ status: 'filled', filledQty: '0.5000', fills: [{ price: '3000.10', qty: '0.5000', makerOrderId: order.body.orderId }] });
    expect((await s.get('/markets/ETH-USDT/trades')).body.trades).toMatchObject([{ price: '3000.10', qty: '0.5000', takerSide: 'buy' }]);
    expect((await s.get('/books/ETH-USDT?depth=1')).body.asks).toEqual([['3000.10', '1.2500']]);
  });
});

describe('/health and /metrics', () => {
  const ACCOUNT = 601;

  it('/metrics: the accepted and rejected counters, WAL fsyncs and records, histograms and ring gauges move by what was done', async () => {
    const before = await ok(s.get('/metrics'));
    expect(before.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m0 = parseMetrics(before.text);
    // 3 accepted deposits, 2 accepted places, 1 accepted cancel, 1 rejected withdrawal, 1 rejected
    // place, and 2 validation failures that never reach the pipeline.
    await ok(s.deposit(ACCOUNT, 'USDT', '100'));
    await ok(s.deposit(ACCOUNT, 'USDT', '100'));
    await ok(s.deposit(ACCOUNT, 'BTC', '1'));
    const resting = await ok(s.place(limit(ACCOUNT, 'buy', '10', '1')), 201);
    await ok(s.place(limit(ACCOUNT, 'sell', '100000', '0.5')), 201);
    await ok(s.del(`/orders/${resting.body.orderId}?accountId=${ACCOUNT}`));
    expectError(await s.withdraw(ACCOUNT, 'USDT', '1000'), 422, 'INSUFFICIENT_BALANCE');
    expectError(await s.place(limit(ACCOUNT, 'sell', '100000', '5')), 422, 'INSUFFICIENT_BALANCE');
    expectError(await s.deposit(ACCOUNT, 'USDT', '-1'), 400, 'VALIDATION_FAILED');
    expectError(await s.place(limit(ACCOUNT, 'sell', '100000.001', '0.5')), 400, 'INVALID_PRICE');
    const m1 = parseMetrics((await ok(s.get('/metrics'))).text);
    const delta = (name: string) => metric(m1, name) - metric(m0, name);

    expect(delta('exchange_commands_accepted_total{type="deposit"}')).toBe(3);
    expect(delta('exchange_commands_accepted_total{type="place"}')).toBe(2);
    expect(delta('exchange_commands_accepted_total{type="cancel"}')).toBe(1);
    expect(delta('exchange_commands_accepted_total{type="withdraw"}')).toBe(0);
    expect(delta('exchange_commands_rejected_total{type="withdraw"}')).toBe(1);
    expect(delta('exchange_commands_rejected_total{type="place"}')).toBe(1);
    expect(delta('exchange_commands_rejected_total{type="deposit"}')).toBe(0);
    expect(delta('exchange_wal_records_total')).toBe(6);
    // Requests one at a time: each record is its own group commit.
    expect(delta('exchange_wal_fsyncs_total')).toBe(6);
    expect(delta('exchange_wal_records_per_fsync_count')).toBe(6);
    expect(delta('exchange_wal_records_per_fsync_sum')).toBe(6);
    expect(delta('exchange_wal_records_per_fsync_bucket{le="1"}')).toBe(6);
    expect(delta('exchange_wal_fsync_latency_ms_count')).toBe(6);
    expect(delta('exchange_wal_fsync_latency_ms_sum')).toBeGreaterThan(0);
    // Every submitted command is timed (accepted and pre-check rejected), validation failures are not.
    expect(delta('exchange_command_latency_ms_count')).toBe(8);
    expect(delta('exchange_command_latency_ms_sum')).toBeGreaterThan(0);
    for (const histogram of ['exchange_wal_records_per_fsync', 'exchange_wal_fsync_latency_ms', 'exchange_command_latency_ms']) {
      const buckets = [...m1.entries()].filter(([name]) => name.startsWith(`${histogram}_bucket{`)).map(([, value]) => value);
      expect(buckets.length).toBeGreaterThan(2);
      expect([...buckets].sort((x, y) => x - y)).toEqual(buckets); // cumulative
      expect(metric(m1, `${histogram}_bucket{le="+Inf"}`)).toBe(metric(m1, `${histogram}_count`));
    }
    const rings = [...m1.keys()].filter((name) => name.startsWith('exchange_ring_capacity{'));
    expect(rings.length).toBeGreaterThanOrEqual(4);
    for (const ring of rings) {
      expect(m1.get(ring)).toBe(65_536);
      const occupancy = m1.get(ring.replace('exchange_ring_capacity', 'exchange_ring_occupancy'));
      expect(occupancy).toBeGreaterThanOrEqual(0);
      expect(occupancy).toBeLessThanOrEqual(65_536);
    }
    const health = (await ok(s.get('/health'))).body;
    expect(metric(m1, 'exchange_seq')).toBe(health.seq);
    expect(metric(m1, 'exchange_durable_seq')).toBe(health.durableSeq);
    expect(health).toEqual({ status: 'ok', seq: health.seq, durableSeq: health.seq });
  });
});

describe('the exact-arithmetic bound on an asset’s total supply (last: it fills BTC up to the bound)', () => {
  it('a deposit that would take the total past 2^53 − 1 units is AMOUNT_TOO_LARGE, refused before the log', async () => {
    // 90,000,000 BTC = 9.0e15 satoshi ≤ 2^53 − 1 ≈ 9.007e15; the same again is beyond it.
    await ok(s.deposit(701, 'BTC', '90000000'));
    const seq = await healthSeq();
    const wal = walBytes(s.dataDir);
    expectError(await s.deposit(702, 'BTC', '90000000'), 400, 'AMOUNT_TOO_LARGE');
    expect(await healthSeq()).toBe(seq);
    expect(walBytes(s.dataDir)).toBe(wal);
    expectError(await s.get('/accounts/702/balances'), 404, 'ACCOUNT_NOT_FOUND');
  });
});
