/**
 * A hardened deployment of the real server over a real socket: ADMIN_TOKEN set (funding needs the
 * bearer token, everything else does not) and the smallest ring capacity the configuration allows
 * (64 slots) and one fsync per WAL record, so that a burst of concurrent requests fills the inbound ring: 503 OVERLOADED with
 * Retry-After, and an overloaded request is neither queued nor reserved nor logged (its
 * clientOrderId is still free afterwards).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_RANGES } from '../../src/cli/config.ts';
import type { HttpResponse, RealServer } from './support/real_server.ts';
import { startRealServer, walBytes } from './support/real_server.ts';
import { expectError, fmt, limit, metric, notional, parseMetrics, units } from './support/contract.ts';

const TOKEN = 'e2e-admin-token_0123456789';
const RING_CAPACITY = CONFIG_RANGES.ringCapacity[0];
let s: RealServer;

beforeAll(async () => {
  expect(RING_CAPACITY).toBe(64);
  // One fsync per WAL record: the pipeline drains slower than HTTP can fill the inbound ring.
  s = await startRealServer({ env: { ADMIN_TOKEN: TOKEN }, flags: ['--ring-capacity', String(RING_CAPACITY), '--wal-batch-records', '1'] });
});

afterAll(async () => {
  await s?.dispose();
  expect(s?.fatalErrors ?? []).toEqual([]);
});

async function healthSeq(): Promise<number> {
  return (await s.get('/health')).body.seq;
}

describe('ADMIN_TOKEN: funding needs the bearer token', () => {
  it('401 UNAUTHORIZED without it, with a wrong one or another scheme, before the body is even looked at', async () => {
    const seq = await healthSeq();
    const wal = walBytes(s.dataDir);
    const body = { asset: 'USDT', amount: '100' };
    const attempts: [string, Record<string, string>][] = [
      ['no header', {}],
      ['wrong token', { authorization: 'Bearer not-the-token' }],
      ['token prefix', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
      ['token with a suffix', { authorization: `Bearer ${TOKEN}x` }],
      ['lowercase scheme', { authorization: `bearer ${TOKEN}` }],
      ['basic scheme', { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` }],
      ['bare token', { authorization: TOKEN }],
      ['empty', { authorization: '' }],
    ];
    for (const [label, headers] of attempts) {
      for (const path of ['/accounts/1/deposits', '/accounts/1/withdrawals']) {
        const response = await s.post(path, body, headers);
        expectError(response, 401, 'UNAUTHORIZED', `${label} ${path}`);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    // Authorization is checked first: a malformed body without the token is still a 401.
    expectError(await s.send('POST', '/accounts/1/deposits', '{"asset":'), 401, 'UNAUTHORIZED');
    expectError(await s.post('/accounts/0/deposits', { amount: 5 }), 401, 'UNAUTHORIZED');
    expect(await healthSeq()).toBe(seq);
    expect(walBytes(s.dataDir)).toBe(wal);
    expectError(await s.get('/accounts/1/balances'), 404, 'ACCOUNT_NOT_FOUND');
  });

  it('200 with the token; orders, balances and market data need none', async () => {
    const deposit = await s.deposit(1, 'USDT', '100'); // the harness sends the bearer token
    expect([deposit.status, deposit.body.available]).toEqual([200, '100.000000']);
    const order = await s.place(limit(1, 'buy', '10', '1'));
    expect(order.status).toBe(201);
    expect((await s.get('/accounts/1/balances')).body.balances.USDT).toEqual({ available: '90.000000', locked: '10.000000' });
    expect((await s.get('/books/BTC-USDT')).body.bids).toEqual([['10.00', '1.000000']]);
    expect((await s.del(`/orders/${order.body.orderId}?accountId=1`)).body.status).toBe('cancelled');
    const withdrawal = await s.withdraw(1, 'USDT', '100');
    expect([withdrawal.status, withdrawal.body.available]).toEqual([200, '0.000000']);
  });
});

describe('backpressure: a full inbound ring is 503 OVERLOADED with Retry-After', () => {
  const ACCOUNTS = [11, 12, 13, 14, 15, 16, 17, 18];
  const BURST = 300;

  it('a burst of concurrent orders gets 201s and 503 OVERLOADED only; the 503s reserved and logged nothing', async () => {
    for (const accountId of ACCOUNTS) expect((await s.deposit(accountId, 'USDT', '1000')).status).toBe(200);
    const metrics0 = parseMetrics((await s.get('/metrics')).text);
    expect(metric(metrics0, 'exchange_ring_capacity{ring="GS"}')).toBe(RING_CAPACITY);
    const seq0 = await healthSeq();

    // Each order: a bid of 0.001 BTC at 100 USDT, locking exactly 0.1 USDT; none of them cross.
    const bodyOf = (round: number, i: number) =>
      limit(ACCOUNTS[i % ACCOUNTS.length]!, 'buy', '100', '0.001', { clientOrderId: `burst-${round}-${i}` });
    const accepted: Record<string, unknown>[] = [];
    const overloaded: Record<string, unknown>[] = [];
    for (let round = 0; round < 6 && overloaded.length === 0; round++) {
      const bodies = Array.from({ length: BURST }, (_, i) => bodyOf(round, i));
      const responses = await Promise.all(bodies.map((body) => s.place(body)));
      responses.forEach((response, i) => {
        if (response.status === 201) accepted.push(bodies[i]!);
        else {
          expectError(response, 503, 'OVERLOADED');
          expect(response.headers.get('retry-after')).toBe('1');
          overloaded.push(bodies[i]!);
        }
      });
    }
    expect(overloaded.length, 'no 503 in six bursts of 300 on a 64-slot ring').toBeGreaterThan(0);

    // Exactly the 201s were sequenced, logged and reserved.
    expect(await healthSeq()).toBe(seq0 + accepted.length);
    const metrics1 = parseMetrics((await s.get('/metrics')).text);
    expect(metric(metrics1, 'exchange_wal_records_total') - metric(metrics0, 'exchange_wal_records_total')).toBe(accepted.length);
    expect(metric(metrics1, 'exchange_commands_accepted_total{type="place"}') - metric(metrics0, 'exchange_commands_accepted_total{type="place"}')).toBe(
      accepted.length,
    );
    const perOrder = notional('100', '0.001', 6, 'ceil');
    expect(fmt(perOrder, 6)).toBe('0.100000');
    const expectLocks = async (orders: readonly Record<string, unknown>[]) => {
      for (const accountId of ACCOUNTS) {
        const count = BigInt(orders.filter((body) => body['accountId'] === accountId).length);
        const usdt = (await s.get(`/accounts/${accountId}/balances`)).body.balances.USDT;
        expect(usdt, `account ${accountId}`).toEqual({ available: fmt(units('1000', 6) - count * perOrder, 6), locked: fmt(count * perOrder, 6) });
      }
    };
    await expectLocks(accepted);
    expect((await s.get('/books/BTC-USDT')).body.bids).toEqual([['100.00', fmt(BigInt(accepted.length) * 1000n, 6)]]);

    // Retried after the overload, every refused order is new (201), never a duplicate (200): nothing of it was kept.
    const pending = [...overloaded];
    while (pending.length > 0) {
      const batch = pending.splice(0, 16);
      const responses: HttpResponse[] = await Promise.all(batch.map((body) => s.place(body)));
      responses.forEach((response, i) => {
        if (response.status === 503) pending.push(batch[i]!);
        else expect(response.status, response.text).toBe(201);
      });
    }
    await expectLocks([...accepted, ...overloaded]);
    expect(await healthSeq()).toBe(seq0 + accepted.length + overloaded.length);
    // And a retry of any of them now is the idempotent 200.
    const again = await s.place(overloaded[0]!);
    expect(again.status).toBe(200);
  });
});
