import { afterEach, describe, expect, it } from 'vitest';
import { build } from '../../src/gateway/app.ts';
import type { Harness } from '../support/gateway_harness.ts';
import { limitOrder, startGateway } from '../support/gateway_harness.ts';
import { createInlineExchange } from '../support/inline_pipeline.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function gateway(options: Parameters<typeof startGateway>[0] = {}): Promise<Harness> {
  h = await startGateway(options);
  return h;
}

describe('POST /accounts/{accountId}/deposits and /withdrawals', () => {
  it('200: the balance after the deposit, in the asset decimals, with its seq', async () => {
    const g = await gateway();
    const first = await g.deposit(7, 'USDT', '1000.5');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accountId: 7, asset: 'USDT', available: '1000.500000', locked: '0.000000', seq: 1 });
    const second = await g.deposit(7, 'BTC', '0.4');
    expect(second.body).toEqual({ accountId: 7, asset: 'BTC', available: '0.40000000', locked: '0.00000000', seq: 2 });
    const third = await g.deposit(7, 'USDT', '0.000001');
    expect(third.body).toMatchObject({ available: '1000.500001', seq: 3 });
  });

  it('200: a withdrawal returns the balance after it; locked funds cannot be withdrawn (422)', async () => {
    const g = await gateway();
    await g.deposit(7, 'USDT', '1000');
    await g.place(limitOrder(7, 'buy', '100', '5'));
    const withdrawal = await g.post('/accounts/7/withdrawals', { asset: 'USDT', amount: '10' });
    expect(withdrawal.status).toBe(200);
    expect(withdrawal.body).toEqual({ accountId: 7, asset: 'USDT', available: '490.000000', locked: '500.000000', seq: 3 });
    const tooMuch = await g.post('/accounts/7/withdrawals', { asset: 'USDT', amount: '490.000001' });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([422, 'INSUFFICIENT_BALANCE']);
    const noBtc = await g.post('/accounts/7/withdrawals', { asset: 'BTC', amount: '1' });
    expect([noBtc.status, noBtc.body.error.code]).toEqual([422, 'INSUFFICIENT_BALANCE']);
    expect(g.pipeline.accepted.length).toBe(3);
  });

  it('404: a withdrawal from an account that never had a deposit', async () => {
    const g = await gateway();
    const response = await g.post('/accounts/8/withdrawals', { asset: 'USDT', amount: '1' });
    expect([response.status, response.body.error.code]).toEqual([404, 'ACCOUNT_NOT_FOUND']);
  });

  it('400: unknown asset, malformed amounts, unknown or missing fields, bad account ids', async () => {
    const g = await gateway();
    const cases: [string, unknown, number, string][] = [
      ['/accounts/1/deposits', { asset: 'DOGE', amount: '1' }, 400, 'UNKNOWN_ASSET'],
      ['/accounts/1/deposits', { asset: 'usdt', amount: '1' }, 400, 'UNKNOWN_ASSET'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: 1 }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '0.0000001' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '0' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '-1' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '1,5' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '1', memo: 'x' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { amount: '1' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/1/deposits', { asset: 'USDT', amount: '99999999999999999' }, 400, 'AMOUNT_TOO_LARGE'],
      ['/accounts/1/withdrawals', { asset: 'USDT', amount: '99999999999999999' }, 400, 'AMOUNT_TOO_LARGE'],
      ['/accounts/0/deposits', { asset: 'USDT', amount: '1' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/abc/deposits', { asset: 'USDT', amount: '1' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/4294967296/deposits', { asset: 'USDT', amount: '1' }, 400, 'VALIDATION_FAILED'],
      ['/accounts/01/deposits', { asset: 'USDT', amount: '1' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [url, body, status, code] of cases) {
      const response = await g.post(url, body);
      expect([response.status, response.body.error.code], `${url} ${JSON.stringify(body)}`).toEqual([status, code]);
    }
    expect(g.pipeline.accepted).toEqual([]);
    expect((await g.deposit(4294967295, 'USDT', '1')).status).toBe(200);
  });

  it('400 AMOUNT_TOO_LARGE: deposits that would take the supply of an asset past the exact range', async () => {
    const g = await gateway();
    expect((await g.deposit(1, 'USDT', '9000000000')).status).toBe(200);
    const response = await g.deposit(2, 'USDT', '9000000000');
    expect([response.status, response.body.error.code]).toEqual([400, 'AMOUNT_TOO_LARGE']);
  });
});

describe('admin rule', () => {
  it('with ADMIN_TOKEN, funding needs the bearer token (401 before anything else); other routes do not', async () => {
    const g = await gateway({ adminToken: 's3cret-token' });
    const missing = await g.post('/accounts/1/deposits', { asset: 'USDT', amount: '1' });
    expect([missing.status, missing.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    for (const authorization of ['Bearer wrong', 's3cret-token', 'bearer s3cret-token', 'Bearer s3cret-token ', 'Basic czNjcmV0']) {
      const response = await g.post('/accounts/1/deposits', { asset: 'USDT', amount: '1' }, { authorization });
      expect([response.status, response.body.error.code], authorization).toEqual([401, 'UNAUTHORIZED']);
    }
    const invalidBody = await g.post('/accounts/1/withdrawals', { nonsense: true });
    expect([invalidBody.status, invalidBody.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    const ok = await g.post('/accounts/1/deposits', { asset: 'USDT', amount: '1000' }, { authorization: 'Bearer s3cret-token' });
    expect(ok.status).toBe(200);
    const withdrawal = await g.post('/accounts/1/withdrawals', { asset: 'USDT', amount: '1' }, { authorization: 'Bearer s3cret-token' });
    expect(withdrawal.status).toBe(200);
    expect((await g.get('/accounts/1/balances')).status).toBe(200);
    expect((await g.place(limitOrder(1, 'buy', '1', '1'))).status).toBe(201);
  });

  it('without ADMIN_TOKEN funding is open, and only a loopback host is allowed', async () => {
    const g = await gateway({ listenHost: 'localhost' });
    expect((await g.deposit(1, 'USDT', '1')).status).toBe(200);
    const exchange = createInlineExchange();
    const base = { pipeline: exchange.pipeline, readModels: exchange.readModels, marketSet: exchange.marketSet, docs: false };
    await expect(build({ ...base, listenHost: '0.0.0.0' })).rejects.toThrow(/non-loopback/);
    await expect(build({ ...base, listenHost: '10.1.2.3' })).rejects.toThrow(/non-loopback/);
    const withToken = await build({ ...base, listenHost: '0.0.0.0', adminToken: 't' });
    await withToken.close();
    const ipv6 = await build({ ...base, listenHost: '::1' });
    await ipv6.close();
  });
});

describe('GET /accounts/{accountId}/balances', () => {
  it('200: every asset, in asset decimals; 404 before the first deposit; 400 for a bad id', async () => {
    const g = await gateway();
    const unknown = await g.get('/accounts/5/balances');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ACCOUNT_NOT_FOUND']);
    await g.deposit(5, 'USDT', '990.5');
    const response = await g.get('/accounts/5/balances');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      accountId: 5,
      balances: {
        BTC: { available: '0.00000000', locked: '0.00000000' },
        ETH: { available: '0.00000000', locked: '0.00000000' },
        USDT: { available: '990.500000', locked: '0.000000' },
      },
    });
    for (const url of ['/accounts/x/balances', '/accounts/-1/balances', '/accounts/99999999999/balances', '/accounts/5/balances?asset=BTC']) {
      const bad = await g.get(url);
      expect([bad.status, bad.body.error.code], url).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});
