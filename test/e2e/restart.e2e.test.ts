/**
 * Restarts of the real server on the same data directory, over a real socket: everything a client
 * was told survives a graceful stop and start (open and closed orders, balances, books, trades,
 * idempotency of clientOrderIds), sequencing and trade ids continue where they were, and the
 * digest the graceful stop computes equals the replay command's digest of the data directory.
 * Last, a graceful stop under load: each in-flight request is either acknowledged (and then in the
 * log) or refused with 503 SHUTTING_DOWN (and then not).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/cli/replay.ts';
import type { ReplayResult } from '../../src/cli/replay.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import type { StopReport } from '../../src/pipeline/threaded_pipeline.ts';
import type { HttpResponse, RealServer } from './support/real_server.ts';
import { startRealServer, walBytes } from './support/real_server.ts';
import { expectError, limit } from './support/contract.ts';

let s: RealServer | undefined;

afterAll(async () => {
  await s?.dispose();
});

function server(): RealServer {
  if (s === undefined) throw new Error('no server');
  return s;
}

async function ok(response: Promise<HttpResponse>, status = 200): Promise<HttpResponse> {
  const result = await response;
  expect(result.status, result.text).toBe(status);
  return result;
}

function replayOf(dataDir: string): ReplayResult {
  return replay({ dataDir, verifyOnly: false, json: false, marketSet: defaultMarketSet() });
}

function expectDigestMatchesReplay(stop: StopReport, dataDir: string): ReplayResult {
  const replayed = replayOf(dataDir);
  expect(replayed.invariantsOk).toBe(true);
  expect(replayed.tornTail).toBeNull();
  expect({
    digest: replayed.digest,
    lastSeq: replayed.lastSeq,
    accounts: replayed.accounts,
    openOrders: replayed.openOrders,
    tradeIdLast: replayed.tradeIdLast,
  }).toEqual({ digest: stop.digest, lastSeq: stop.lastSeq, accounts: stop.accounts, openOrders: stop.openOrders, tradeIdLast: stop.tradeIdLast });
  expect(stop.durableSeq).toBe(stop.lastSeq);
  return replayed;
}

const BUYER = 11;
const SELLER = 12;
const SMALL = 13;

/** What the server must answer after the first session, written out by hand. */
const EXPECTED = {
  balances: {
    [BUYER]: {
      accountId: BUYER,
      balances: {
        BTC: { available: '0.25000000', locked: '0.00000000' },
        ETH: { available: '0.00000000', locked: '0.00000000' },
        // 50000 − 10000 (0.25 at 40000) − 3900 locked (0.1 at 39000) − 100 withdrawn
        USDT: { available: '36000.000000', locked: '3900.000000' },
      },
    },
    [SELLER]: {
      accountId: SELLER,
      balances: {
        BTC: { available: '2.00000000', locked: '0.75000000' },
        ETH: { available: '0.00000000', locked: '0.00000000' },
        USDT: { available: '10000.000000', locked: '0.000000' },
      },
    },
    [SMALL]: {
      accountId: SMALL,
      balances: {
        BTC: { available: '0.00000000', locked: '0.00000000' },
        ETH: { available: '0.00000000', locked: '0.00000000' },
        USDT: { available: '1000.000000', locked: '0.000000' },
      },
    },
  } as Record<number, unknown>,
  orders: {
    4: { side: 'sell', clientOrderId: 'ask-a', price: '40000.00', qty: '1.000000', status: 'partially_filled', filledQty: '0.250000', remainingQty: '0.750000' },
    5: { side: 'sell', clientOrderId: 'ask-b', price: '41000.00', qty: '0.500000', status: 'cancelled', filledQty: '0.000000', remainingQty: '0.500000' },
    6: { side: 'buy', clientOrderId: 'bid-x', price: '40000.00', qty: '0.250000', status: 'filled', filledQty: '0.250000', remainingQty: '0.000000' },
    8: { side: 'buy', clientOrderId: 'bid-rest', price: '39000.00', qty: '0.100000', status: 'new', filledQty: '0.000000', remainingQty: '0.100000' },
    9: { side: 'buy', price: '100.00', qty: '0.010000', status: 'expired', filledQty: '0.000000', remainingQty: '0.010000', timeInForce: 'IOC' },
  } as Record<number, Record<string, string>>,
  book: { symbol: 'BTC-USDT', seq: 10, bids: [['39000.00', '0.100000']], asks: [['40000.00', '0.750000']] },
};

/** Everything a client can read about the session's state. */
async function readState(): Promise<Record<string, unknown>> {
  const srv = server();
  const state: Record<string, unknown> = {};
  for (const accountId of [BUYER, SELLER, SMALL]) {
    state[`balances ${accountId}`] = (await ok(srv.get(`/accounts/${accountId}/balances`))).body;
    state[`open ${accountId}`] = (await ok(srv.get(`/accounts/${accountId}/orders?status=open`))).body;
  }
  for (const orderId of Object.keys(EXPECTED.orders)) state[`order ${orderId}`] = (await ok(srv.get(`/orders/${orderId}`))).body;
  state['book'] = (await ok(srv.get('/books/BTC-USDT'))).body;
  state['trades'] = (await ok(srv.get('/markets/BTC-USDT/trades'))).body;
  return state;
}

function expectFirstSessionState(state: Record<string, unknown>): void {
  for (const accountId of [BUYER, SELLER, SMALL]) expect(state[`balances ${accountId}`]).toEqual(EXPECTED.balances[accountId]);
  for (const [orderId, fields] of Object.entries(EXPECTED.orders)) {
    const { timeInForce = 'GTC', ...rest } = fields;
    expect(state[`order ${orderId}`], `order ${orderId}`).toEqual({
      orderId,
      seq: Number(orderId),
      accountId: rest['side'] === 'sell' ? SELLER : Number(orderId) === 9 ? SMALL : BUYER,
      symbol: 'BTC-USDT',
      type: 'limit',
      timeInForce,
      ...rest,
    });
  }
  expect((state[`open ${BUYER}`] as { orders: { orderId: string }[] }).orders.map((o) => o.orderId)).toEqual(['8']);
  expect((state[`open ${SELLER}`] as { orders: { orderId: string }[] }).orders.map((o) => o.orderId)).toEqual(['4']);
  expect(state[`open ${SMALL}`]).toEqual({ orders: [] });
  expect(state['book']).toEqual(EXPECTED.book);
  const trades = (state['trades'] as { trades: { time: number }[] }).trades;
  expect(trades.map((t) => ({ ...t, time: 0 }))).toEqual([{ tradeId: '1', price: '40000.00', qty: '0.250000', takerSide: 'buy', seq: 6, time: 0 }]);
}

describe('restart on the same data directory', () => {
  let firstBidX: HttpResponse;
  let stateBefore: Record<string, unknown>;

  it('first session: funding, resting, filled, cancelled and expired orders', async () => {
    s = await startRealServer();
    const srv = server();
    await ok(srv.deposit(BUYER, 'USDT', '50000'));
    await ok(srv.deposit(SELLER, 'BTC', '3'));
    await ok(srv.deposit(SMALL, 'USDT', '1000'));
    await ok(srv.place(limit(SELLER, 'sell', '40000', '1', { clientOrderId: 'ask-a' })), 201); // 4
    await ok(srv.place(limit(SELLER, 'sell', '41000', '0.5', { clientOrderId: 'ask-b' })), 201); // 5
    firstBidX = await ok(srv.place(limit(BUYER, 'buy', '40000', '0.25', { clientOrderId: 'bid-x' })), 201); // 6
    expect(firstBidX.body).toMatchObject({ orderId: '6', status: 'filled', fills: [{ tradeId: '1', price: '40000.00', qty: '0.250000', makerOrderId: '4' }] });
    await ok(srv.del(`/orders/5?accountId=${SELLER}`)); // 7
    await ok(srv.place(limit(BUYER, 'buy', '39000', '0.1', { clientOrderId: 'bid-rest' })), 201); // 8
    await ok(srv.place(limit(SMALL, 'buy', '100', '0.01', { timeInForce: 'IOC' })), 201); // 9
    await ok(srv.withdraw(BUYER, 'USDT', '100')); // 10
    expect((await srv.get('/health')).body).toEqual({ status: 'ok', seq: 10, durableSeq: 10 });
    stateBefore = await readState();
    expectFirstSessionState(stateBefore);
  });

  it('after a graceful restart: the same state, the stop digest equals the replay digest, retries stay idempotent', async () => {
    const srv = server();
    const dataDir = srv.dataDir;
    const stopped = await srv.stop();
    expect(stopped).toMatchObject({ lastSeq: 10, tradeIdLast: 1, accounts: 3, openOrders: 2 });
    const replayed = expectDigestMatchesReplay(stopped, dataDir);
    expect(replayed.recordsByType).toEqual({ deposit: 3, withdraw: 1, place: 5, cancel: 1 });

    s = await srv.restart();
    const next = server();
    expect(next.url).not.toBe(srv.url);
    expect(next.server.recovery).toMatchObject({ lastSeq: 10, tornTail: null });
    expect((await next.get('/health')).body).toEqual({ status: 'ok', seq: 10, durableSeq: 10 });
    const stateAfter = await readState();
    expectFirstSessionState(stateAfter);
    expect(stateAfter).toEqual(stateBefore); // trade times included: they come from the log

    // clientOrderIds used before the restart: 200, the same order, nothing new in the log.
    const wal = walBytes(dataDir);
    const retryFilled = await ok(next.place(limit(BUYER, 'buy', '40000', '0.25', { clientOrderId: 'bid-x' })), 200);
    expect(retryFilled.body).toEqual(firstBidX.body);
    const retryOpen = await ok(next.place(limit(BUYER, 'buy', '39000', '0.1', { clientOrderId: 'bid-rest' })), 200);
    expect(retryOpen.body).toMatchObject({ orderId: '8', status: 'new', fills: [] });
    const retryCancelled = await ok(next.place(limit(SELLER, 'sell', '41000', '0.5', { clientOrderId: 'ask-b' })), 200);
    expect(retryCancelled.body).toMatchObject({ orderId: '5', status: 'cancelled' });
    expect(walBytes(dataDir)).toBe(wal);
    expect((await next.get('/health')).body.seq).toBe(10);
    expect((await next.get(`/accounts/${BUYER}/balances`)).body).toEqual(EXPECTED.balances[BUYER]);
    // Cancelling what closed before the restart is still 409; someone else's order still 404.
    expectError(await next.del(`/orders/5?accountId=${SELLER}`), 409, 'ORDER_NOT_OPEN');
    expectError(await next.del(`/orders/4?accountId=${BUYER}`), 404, 'ORDER_NOT_FOUND');
  });

  it('sequencing and trade ids continue after the restart, and survive a second one', async () => {
    const srv = server();
    // SELLER sells into bid-rest: seq 11, tradeId 2 (not 1 again).
    const sell = await ok(srv.place(limit(SELLER, 'sell', '39000', '0.1', { timeInForce: 'IOC' })), 201);
    expect(sell.body).toMatchObject({ orderId: '11', seq: 11, status: 'filled', fills: [{ tradeId: '2', price: '39000.00', qty: '0.100000', makerOrderId: '8' }] });
    const deposit = await ok(srv.deposit(SMALL, 'BTC', '0.5'));
    expect(deposit.body).toEqual({ accountId: SMALL, asset: 'BTC', available: '0.50000000', locked: '0.00000000', seq: 12 });
    const stopped = await srv.stop();
    expect(stopped).toMatchObject({ lastSeq: 12, tradeIdLast: 2, openOrders: 1 });
    expectDigestMatchesReplay(stopped, srv.dataDir);

    s = await srv.restart();
    const next = server();
    expect((await next.get('/orders/8')).body).toMatchObject({ status: 'filled', filledQty: '0.100000', remainingQty: '0.000000' });
    expect((await next.get('/markets/BTC-USDT/trades')).body.trades.map((t: { tradeId: string }) => t.tradeId)).toEqual(['2', '1']);
    expect((await next.get(`/accounts/${BUYER}/balances`)).body.balances).toMatchObject({
      BTC: { available: '0.35000000', locked: '0.00000000' },
      USDT: { available: '36000.000000', locked: '0.000000' },
    });
    expect((await next.get(`/accounts/${SELLER}/balances`)).body.balances).toMatchObject({
      BTC: { available: '1.90000000', locked: '0.75000000' },
      USDT: { available: '13900.000000', locked: '0.000000' },
    });
    expect((await next.get('/books/BTC-USDT')).body).toEqual({ symbol: 'BTC-USDT', seq: 12, bids: [], asks: [['40000.00', '0.750000']] });
  });

  it('a graceful stop under load: acknowledged means in the log, the rest is 503 SHUTTING_DOWN', async () => {
    const srv = server();
    const dataDir = srv.dataDir;
    // Open the connections first, so that the orders below are really in flight when the stop begins.
    await Promise.all(Array.from({ length: 40 }, () => ok(srv.get('/health'))));
    // 40 small bids of 0.0001 BTC at 100 (each locks 0.01 USDT); the stop begins as the first is answered.
    type Outcome = HttpResponse | { status: 0; error: unknown };
    const inFlight: Promise<Outcome>[] = Array.from({ length: 40 }, (_, i) =>
      srv.place(limit(SMALL, 'buy', '100', '0.0001', { clientOrderId: `late-${i}` })).catch((error: unknown) => ({ status: 0 as const, error })),
    );
    await Promise.race(inFlight);
    const during: HttpResponse[] = [];
    const stopped = await srv.stop(async () => {
      // The pipeline is stopped, the socket still answers: writes and /health are 503 SHUTTING_DOWN.
      during.push(await srv.place(limit(SMALL, 'buy', '100', '0.0001')));
      during.push(await srv.deposit(SMALL, 'USDT', '1'));
      during.push(await srv.get('/health'));
    });
    for (const response of during) expectError(response, 503, 'SHUTTING_DOWN');
    const outcomes = await Promise.all(inFlight);
    const acknowledged = outcomes.filter((r): r is HttpResponse => !('error' in r) && r.status === 201);
    for (const outcome of outcomes) {
      if (outcome.status === 201) continue;
      // A connection the client opened so late that the server had closed its socket is reset
      // (never answered, so never acknowledged); every answered refusal is SHUTTING_DOWN.
      if ('error' in outcome) expect(String((outcome.error as Error).cause ?? outcome.error)).toMatch(/ECONNRESET|ECONNREFUSED|closed|socket/i);
      else expectError(outcome, 503, 'SHUTTING_DOWN');
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(1);
    // Gap-free: the acknowledged orders are exactly seqs 13.. in the log, nothing else was written.
    expect(acknowledged.map((r) => Number(r.body.orderId)).sort((x, y) => x - y)).toEqual(
      Array.from({ length: acknowledged.length }, (_, i) => 13 + i),
    );
    expect(stopped).toMatchObject({ lastSeq: 12 + acknowledged.length, openOrders: 1 + acknowledged.length });
    const replayed = expectDigestMatchesReplay(stopped, dataDir);
    expect(replayed.recordsByType.place).toBe(6 + acknowledged.length);
    expect(replayed.lastSeq).toBe(12 + acknowledged.length);
  });
});
