import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Side, restingBuyReservation } from '../../src/domain/commands.ts';
import type { Harness, Response } from '../support/gateway_harness.ts';
import { limitOrder, startGateway } from '../support/gateway_harness.ts';

/** API.md's error table: the only codes a status may carry. */
const CONTRACT_CODES: Readonly<Record<number, readonly string[]>> = {
  400: ['VALIDATION_FAILED', 'UNKNOWN_SYMBOL', 'UNKNOWN_ASSET', 'INVALID_PRICE', 'INVALID_QTY', 'AMOUNT_TOO_LARGE'],
  401: ['UNAUTHORIZED'],
  404: ['ACCOUNT_NOT_FOUND', 'ORDER_NOT_FOUND', 'UNKNOWN_SYMBOL'],
  409: ['ORDER_NOT_OPEN'],
  413: ['PAYLOAD_TOO_LARGE'],
  422: ['INSUFFICIENT_BALANCE'],
};

function expectContractError(response: Response, label: string): void {
  expect(response.status, label).toBeGreaterThanOrEqual(400);
  expect(response.status, label).toBeLessThan(500);
  expect(Object.keys(response.body ?? {}), label).toEqual(['error']);
  expect(Object.keys(response.body.error).sort(), label).toEqual(['code', 'message']);
  expect(CONTRACT_CODES[response.status] ?? [], label).toContain(response.body.error.code);
  expect(typeof response.body.error.message, label).toBe('string');
  expect(response.text, label).not.toMatch(/\bat .+:\d+:\d+|stack/i);
}

function expectError(response: Response, status: number, code: string, label = ''): void {
  expect([response.status, response.body?.error?.code], label).toEqual([status, code]);
}

describe('schema strictness and error mapping', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startGateway({ bodyLimitBytes: 1024 });
    await h.deposit(1, 'USDT', '1000');
  });

  afterEach(async () => {
    await h.close();
  });

  it('400 VALIDATION_FAILED for unknown fields in bodies and queries', async () => {
    expectError(await h.place(limitOrder(1, 'buy', '1', '1', { leverage: '10' })), 400, 'VALIDATION_FAILED');
    expectError(await h.deposit(1, 'USDT', '1').then(() => h.post('/accounts/1/deposits', { asset: 'USDT', amount: '1', x: 1 })), 400, 'VALIDATION_FAILED');
    expectError(await h.get('/markets?verbose=1'), 400, 'VALIDATION_FAILED');
    expectError(await h.get('/health?x'), 400, 'VALIDATION_FAILED');
  });

  it('400 VALIDATION_FAILED for malformed JSON, empty bodies, non-objects and other media types', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: [string, string, Record<string, string>][] = [
      ['truncated', '{"accountId":1,', json],
      ['trailing comma', '{"asset":"USDT","amount":"1",}', json],
      ['empty', '', json],
      ['array', '[]', json],
      ['null', 'null', json],
      ['string', '"USDT"', json],
      ['number', '5', json],
      ['text/plain', '{"asset":"USDT","amount":"1"}', { 'content-type': 'text/plain' }],
      ['form', 'asset=USDT&amount=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['proto', '{"asset":"USDT","amount":"1","__proto__":{"admin":true}}', json],
      ['constructor', '{"asset":"USDT","amount":"1","constructor":{"prototype":{"admin":true}}}', json],
    ];
    for (const [label, payload, headers] of cases) {
      const response = await h.request({ method: 'POST', url: '/accounts/1/deposits', payload, headers });
      expectError(response, 400, 'VALIDATION_FAILED', label);
      expectContractError(response, label);
    }
    expectError(await h.request({ method: 'POST', url: '/orders' }), 400, 'VALIDATION_FAILED', 'no body');
    expect(h.pipeline.accepted.length).toBe(1);
  });

  it('413 PAYLOAD_TOO_LARGE beyond the body limit', async () => {
    const response = await h.post('/orders', limitOrder(1, 'buy', '1', '1', { clientOrderId: 'x', pad: 'p'.repeat(2000) }));
    expectError(response, 413, 'PAYLOAD_TOO_LARGE');
    expectContractError(response, 'oversize');
  });

  it('400 for malformed paths; 404 NOT_FOUND for unknown routes; 405 METHOD_NOT_ALLOWED with Allow', async () => {
    expectError(await h.get('/books/%E0%A4%A'), 400, 'VALIDATION_FAILED', 'bad escape');
    expectError(await h.get(`/orders/${'1'.repeat(150)}`), 400, 'VALIDATION_FAILED', 'long param');
    const unknown = await h.get('/v2/orders');
    expectError(unknown, 404, 'NOT_FOUND');
    expectError(await h.post('/accounts/1/transfers', {}), 404, 'NOT_FOUND');
    const wrongMethod = await h.request({ method: 'PUT', url: '/orders/1', payload: {} });
    expectError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers.allow).toBe('GET, DELETE, HEAD');
    expect((await h.request({ method: 'GET', url: '/orders' })).headers.allow).toBe('POST');
    expect((await h.request({ method: 'DELETE', url: '/markets' })).status).toBe(405);
    const head = await h.request({ method: 'HEAD', url: '/markets' });
    expect([head.status, head.text]).toEqual([200, '']);
  });

  it('500 INTERNAL without details when something unexpected breaks', async () => {
    h.pipeline.submit = async () => {
      throw new Error('secret internals at /work/main/src/x.ts:1:1');
    };
    const response = await h.place(limitOrder(1, 'buy', '1', '1'));
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
});

describe('fuzzing the write endpoints with malformed requests', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startGateway({ bodyLimitBytes: 4096 });
    await h.deposit(1, 'USDT', '100000');
    await h.deposit(2, 'BTC', '5');
    await h.place(limitOrder(2, 'sell', '50000', '0.5'));
  });

  afterAll(async () => {
    await h.close();
  });

  const junk = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('', '-1', '0', '0.0000001', '1e3', '99999999999999999999', 'NaN', '1.', '.5', ' 1', '１'),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 }),
  );
  const decimal = fc.oneof(
    fc.constantFrom('1', '0.1', '50000', '50000.01', '0.000001', '100'),
    fc.tuple(fc.nat({ max: 100_000 }), fc.nat({ max: 999_999 })).map(([whole, fraction]) => `${whole}.${fraction}`),
    junk,
  );
  const validPrice = fc.constantFrom('49000', '50000', '50000.01', '51000.5', '0.01');
  const validQty = fc.constantFrom('0.000001', '0.01', '0.1', '0.5', '2');
  const validOrder = fc.oneof(
    fc.record(
      {
        accountId: fc.constantFrom(1, 2, 3),
        symbol: fc.constant('BTC-USDT'),
        side: fc.constantFrom('buy', 'sell'),
        type: fc.constant('limit'),
        price: validPrice,
        qty: validQty,
        timeInForce: fc.constantFrom('GTC', 'IOC', 'FOK'),
        clientOrderId: fc.constantFrom('a', 'b-1', 'c_2'),
      },
      { requiredKeys: ['accountId', 'symbol', 'side', 'type', 'price', 'qty'] },
    ),
    fc.record({ accountId: fc.constantFrom(1, 3), symbol: fc.constant('BTC-USDT'), side: fc.constant('buy'), type: fc.constant('market'), quoteQty: validPrice }),
    fc.record({ accountId: fc.constantFrom(2, 3), symbol: fc.constant('BTC-USDT'), side: fc.constant('sell'), type: fc.constant('market'), qty: validQty }),
  );
  const fieldNames = ['accountId', 'symbol', 'side', 'type', 'price', 'qty', 'quoteQty', 'timeInForce', 'postOnly', 'clientOrderId', 'extra'];
  /** A valid order with up to two fields replaced by junk, removed or added: most requests reach the core. */
  const orderBody = fc
    .tuple(validOrder, fc.array(fc.tuple(fc.constantFrom(...fieldNames), junk), { maxLength: 2 }))
    .map(([order, mutations]) => {
      const body: Record<string, unknown> = { ...order };
      for (const [field, value] of mutations) {
        if (value === undefined) delete body[field];
        else body[field] = value;
      }
      return body;
    });
  const fundingBody = fc.record({ asset: fc.oneof(fc.constantFrom('USDT', 'BTC', 'XYZ'), junk), amount: decimal, memo: junk }, {
    requiredKeys: [],
  });

  /** Funds every open order holds must be exactly what is locked: rejected requests reserve nothing. */
  function expectLockedMatchesOpenOrders(): void {
    for (const accountId of [1, 2, 3]) {
      const locked = new Map<number, number>();
      for (const order of h.readModels.openOrders(accountId)) {
        const market = h.marketSet.markets[order.marketId]!;
        const [assetId, units] =
          order.side === Side.Buy
            ? [market.quote.id, restingBuyReservation(market, order.priceTicks, order.remainingSteps)]
            : [market.base.id, order.remainingSteps * market.stepUnits];
        locked.set(assetId, (locked.get(assetId) ?? 0) + units);
      }
      for (const asset of h.marketSet.assets) {
        expect(h.readModels.balance(accountId, asset.id)?.lockedUnits ?? 0, `account ${accountId} ${asset.symbol}`).toBe(
          locked.get(asset.id) ?? 0,
        );
      }
    }
  }

  it('POST /orders answers 201/200 or a contract 4xx, never a 5xx', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(orderBody, async (body) => {
        const response = await h.place(body);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const label = JSON.stringify(body);
        if (response.status === 201 || response.status === 200) expect(response.body.orderId, label).toMatch(/^[1-9][0-9]*$/);
        else expectContractError(response, label);
      }),
      { seed: 20240611, numRuns: 400 },
    );
    // The generator reaches the core too, not only the schema.
    expect(statuses.get(201) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect((statuses.get(404) ?? 0) + (statuses.get(422) ?? 0)).toBeGreaterThan(0);
    expectLockedMatchesOpenOrders();
  });

  it('funding answers 200 or a contract 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('deposits', 'withdrawals'), fc.constantFrom('1', '3', '0', 'x'), fundingBody, async (kind, account, body) => {
        const response = await h.post(`/accounts/${account}/${kind}`, body);
        if (response.status !== 200) expectContractError(response, `${kind} ${account} ${JSON.stringify(body)}`);
      }),
      { seed: 7, numRuns: 200 },
    );
    expectLockedMatchesOpenOrders();
  });

  it('raw bytes as JSON bodies never crash anything', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/orders', '/accounts/1/deposits'), fc.string({ maxLength: 64 }), async (url, payload) => {
        const response = await h.request({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
        if (response.status >= 300) expectContractError(response, `${url} ${JSON.stringify(payload)}`);
      }),
      { seed: 99, numRuns: 200 },
    );
    expect((await h.get('/health')).status).toBe(200);
  });
});
