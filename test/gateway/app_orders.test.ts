import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, copyCommand, createCommand } from '../../src/domain/commands.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import { build } from '../../src/gateway/app.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import type { PipelineHandle, SubmitResult } from '../../src/pipeline/pipeline_handle.ts';
import type { Harness } from '../support/gateway_harness.ts';
import { limitOrder, startGateway } from '../support/gateway_harness.ts';

let h: Harness;

/** Account 1 holds 1,000,000 USDT, account 2 holds 10 BTC, account 3 holds 1,000 USDT. */
async function fund(harness: Harness): Promise<void> {
  expect((await harness.deposit(1, 'USDT', '1000000')).status).toBe(200);
  expect((await harness.deposit(2, 'BTC', '10')).status).toBe(200);
  expect((await harness.deposit(3, 'USDT', '1000')).status).toBe(200);
}

beforeEach(async () => {
  h = await startGateway();
  await fund(h);
});

afterEach(async () => {
  await h.close();
});

describe('POST /orders', () => {
  it('201: a resting limit order, in canonical formats', async () => {
    const response = await h.place(limitOrder(1, 'buy', '50000', '0.4', { clientOrderId: 'my-order_1' }));
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      orderId: '4',
      clientOrderId: 'my-order_1',
      seq: 4,
      accountId: 1,
      symbol: 'BTC-USDT',
      side: 'buy',
      type: 'limit',
      timeInForce: 'GTC',
      price: '50000.00',
      qty: '0.400000',
      status: 'new',
      filledQty: '0.000000',
      remainingQty: '0.400000',
      fills: [],
    });
  });

  it('201: a crossing order reports its fills at the maker price; the maker is partially filled', async () => {
    const maker = await h.place(limitOrder(2, 'sell', '50000.00', '1'));
    const taker = await h.place(limitOrder(1, 'buy', '50100', '0.4', { timeInForce: 'IOC' }));
    expect(taker.status).toBe(201);
    expect(taker.body).toMatchObject({
      status: 'filled',
      timeInForce: 'IOC',
      filledQty: '0.400000',
      remainingQty: '0.000000',
      fills: [{ tradeId: '1', price: '50000.00', qty: '0.400000', makerOrderId: maker.body.orderId }],
    });
    const makerNow = await h.get(`/orders/${maker.body.orderId}`);
    expect(makerNow.body).toMatchObject({ status: 'partially_filled', filledQty: '0.400000', remainingQty: '0.600000' });
    expect(makerNow.body.fills).toBeUndefined();
    const balances = await h.get('/accounts/1/balances');
    expect(balances.body.balances.BTC).toEqual({ available: '0.40000000', locked: '0.00000000' });
    expect(balances.body.balances.USDT).toEqual({ available: '980000.000000', locked: '0.000000' });
  });

  it('201: the reply reports the order as its own command left it', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4', { timeInForce: 'GTC' }));
    expect(order.body).toMatchObject({ status: 'new', filledQty: '0.000000' });
    await h.place(limitOrder(2, 'sell', '50000', '0.1'));
    expect((await h.get(`/orders/${order.body.orderId}`)).body).toMatchObject({ status: 'partially_filled', filledQty: '0.100000' });
  });

  it('201: IOC remainder, FOK that cannot fill and a crossing post-only order all come back expired', async () => {
    await h.place(limitOrder(2, 'sell', '50000', '0.1'));
    const ioc = await h.place(limitOrder(1, 'buy', '50000', '0.3', { timeInForce: 'IOC' }));
    expect(ioc.body).toMatchObject({ status: 'expired', filledQty: '0.100000', remainingQty: '0.200000' });
    await h.place(limitOrder(2, 'sell', '50000', '0.1'));
    const fok = await h.place(limitOrder(1, 'buy', '50000', '0.3', { timeInForce: 'FOK' }));
    expect(fok.body).toMatchObject({ status: 'expired', filledQty: '0.000000', remainingQty: '0.300000', fills: [] });
    const postOnly = await h.place(limitOrder(1, 'buy', '50000', '0.05', { postOnly: true }));
    expect(postOnly.body).toMatchObject({ status: 'expired', filledQty: '0.000000', fills: [] });
    const resting = await h.place(limitOrder(1, 'buy', '49000', '0.05', { postOnly: true }));
    expect(resting.body).toMatchObject({ status: 'new', timeInForce: 'GTC' });
  });

  it('201: a market buy spends quoteQty (asset decimals), has no qty or price and is IOC', async () => {
    await h.place(limitOrder(2, 'sell', '50000', '0.1'));
    await h.place(limitOrder(2, 'sell', '50001', '0.1'));
    const response = await h.place({ accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '7500' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ type: 'market', timeInForce: 'IOC', quoteQty: '7500.000000', status: 'filled' });
    expect(response.body.price).toBeUndefined();
    expect(response.body.qty).toBeUndefined();
    expect(response.body.fills.map((fill: { price: string }) => fill.price)).toEqual(['50000.00', '50001.00']);
    expect(response.body.filledQty).toBe('0.149999'); // 0.1 at 50000 + floor(2500 / 50001, step)
    expect(response.body.remainingQty).toBe('0.000000');
  });

  it('201: a market sell with qty; an explicit IOC is accepted', async () => {
    await h.place(limitOrder(1, 'buy', '50000', '0.2'));
    const response = await h.place({ accountId: 2, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '0.5', timeInForce: 'IOC' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ qty: '0.500000', status: 'expired', filledQty: '0.200000', remainingQty: '0.300000' });
    expect(response.body.quoteQty).toBeUndefined();
  });

  it('200: an idempotent retry returns the same order in its current state and places nothing', async () => {
    const body = limitOrder(1, 'buy', '50000', '0.4', { clientOrderId: 'retry-me' });
    const first = await h.place(body);
    expect(first.status).toBe(201);
    await h.place(limitOrder(2, 'sell', '50000', '0.1'));
    const acceptedBefore = h.pipeline.accepted.length;
    const retry = await h.place(body);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ orderId: first.body.orderId, clientOrderId: 'retry-me', status: 'partially_filled', filledQty: '0.100000' });
    expect(retry.body.fills).toEqual([]);
    // Even with different parameters, the pair (accountId, clientOrderId) names the same order.
    const changed = await h.place({ ...body, price: '1.00' });
    expect(changed.status).toBe(200);
    expect(changed.body.orderId).toBe(first.body.orderId);
    expect(h.pipeline.accepted.length).toBe(acceptedBefore);
    expect((await h.get('/accounts/1/orders?status=open')).body.orders).toHaveLength(1);
    // The same clientOrderId on another account is another order.
    const other = await h.place(limitOrder(3, 'buy', '100', '0.1', { clientOrderId: 'retry-me' }));
    expect(other.status).toBe(201);
    expect(other.body.orderId).not.toBe(first.body.orderId);
  });

  it('400: field combinations of API.md', async () => {
    const cases: Record<string, unknown>[] = [
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', qty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1', qty: '1', quoteQty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', qty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1', qty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1', price: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1', timeInForce: 'GTC' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1', timeInForce: 'FOK' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1', postOnly: true },
      { accountId: 2, symbol: 'BTC-USDT', side: 'sell', type: 'market' },
      { accountId: 2, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '1', quoteQty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1', qty: '1', postOnly: true, timeInForce: 'IOC' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'stop', price: '1', qty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'BUY', type: 'limit', price: '1', qty: '1' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1', qty: '1', timeInForce: 'GTD' },
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1', qty: '1', postOnly: 'true' },
      { symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1', qty: '1' },
    ];
    for (const body of cases) {
      const response = await h.place(body);
      expect([response.status, response.body.error.code], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('400: amounts must be decimal strings; accountId an integer in range; clientOrderId 1-36 of [A-Za-z0-9_-]', async () => {
    const cases: Record<string, unknown>[] = [
      limitOrder(1, 'buy', '50000', '1', { price: 50000 }),
      limitOrder(1, 'buy', '50000', '1', { qty: 0.5 }),
      { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: 100 },
      limitOrder(1, 'buy', '50000', '1', { accountId: '1' }),
      limitOrder(1, 'buy', '50000', '1', { accountId: 0 }),
      limitOrder(1, 'buy', '50000', '1', { accountId: 1.5 }),
      limitOrder(1, 'buy', '50000', '1', { accountId: 4294967296 }),
      limitOrder(1, 'buy', '50000', '1', { clientOrderId: '' }),
      limitOrder(1, 'buy', '50000', '1', { clientOrderId: 'x'.repeat(37) }),
      limitOrder(1, 'buy', '50000', '1', { clientOrderId: 'has space' }),
      limitOrder(1, 'buy', '50000', '1', { clientOrderId: 42 }),
      limitOrder(1, 'buy', '1e3', '1'),
      limitOrder(1, 'buy', '50000', '.5'),
      limitOrder(1, 'buy', '0x10', '1'),
    ];
    for (const body of cases) {
      const response = await h.place(body);
      expect([response.status, response.body.error.code], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('400: the specific codes for symbols, prices, quantities and overflow', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [limitOrder(1, 'buy', '50000', '1', { symbol: 'DOGE-USDT' }), 'UNKNOWN_SYMBOL'],
      [limitOrder(1, 'buy', '50000', '1', { symbol: 'btc-usdt' }), 'UNKNOWN_SYMBOL'],
      [limitOrder(1, 'buy', '50000.001', '1'), 'INVALID_PRICE'],
      [limitOrder(1, 'buy', '50000.005', '1'), 'INVALID_PRICE'],
      [limitOrder(1, 'buy', '0', '1'), 'INVALID_PRICE'],
      [limitOrder(1, 'buy', '0.00', '1'), 'INVALID_PRICE'],
      [limitOrder(1, 'buy', '-1', '1'), 'INVALID_PRICE'],
      [limitOrder(1, 'buy', '50000', '0.0000001'), 'INVALID_QTY'],
      [limitOrder(1, 'buy', '50000', '0'), 'INVALID_QTY'],
      [limitOrder(1, 'buy', '50000', '-0.5'), 'INVALID_QTY'],
      [{ ...limitOrder(1, 'buy', '3000', '0.00005'), symbol: 'ETH-USDT' }, 'INVALID_QTY'],
      [{ accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '0' }, 'INVALID_QTY'],
      [{ accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1.0000001' }, 'INVALID_QTY'],
      [limitOrder(1, 'buy', '100000000000000000000', '1'), 'AMOUNT_TOO_LARGE'],
      [limitOrder(1, 'buy', '50000', '100000000000000000000'), 'AMOUNT_TOO_LARGE'],
      [limitOrder(1, 'buy', '90000000000000', '1'), 'AMOUNT_TOO_LARGE'],
      [limitOrder(1, 'buy', '1000000000', '90000000'), 'AMOUNT_TOO_LARGE'],
      [{ accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '99999999999999999' }, 'AMOUNT_TOO_LARGE'],
    ];
    for (const [body, code] of cases) {
      const response = await h.place(body);
      expect([response.status, response.body.error.code], JSON.stringify(body)).toEqual([400, code]);
    }
  });

  it('404 / 422 from the pre-check: nothing reserved, nothing written', async () => {
    const before = h.pipeline.accepted.length;
    const unknown = await h.place(limitOrder(99, 'buy', '50000', '0.1'));
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ACCOUNT_NOT_FOUND']);
    const poor = await h.place(limitOrder(3, 'buy', '50000', '0.1'));
    expect([poor.status, poor.body.error.code]).toEqual([422, 'INSUFFICIENT_BALANCE']);
    const poorSeller = await h.place(limitOrder(2, 'sell', '50000', '10.000001'));
    expect([poorSeller.status, poorSeller.body.error.code]).toEqual([422, 'INSUFFICIENT_BALANCE']);
    expect(h.pipeline.accepted.length).toBe(before);
    expect((await h.get('/accounts/3/balances')).body.balances.USDT).toEqual({ available: '1000.000000', locked: '0.000000' });
  });

  it('200 with the identity only: a retry of an order that left the read model retention', async () => {
    const small = await startGateway({ readModels: { closedOrdersMax: 1 } });
    try {
      await fund(small);
      const body = { accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1', qty: '1', timeInForce: 'IOC', clientOrderId: 'old' };
      const first = await small.place(body);
      expect(first.body.status).toBe('expired');
      await small.place({ ...body, clientOrderId: 'newer' });
      expect((await small.get(`/orders/${first.body.orderId}`)).status).toBe(404);
      const retry = await small.place(body);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual({ orderId: first.body.orderId, clientOrderId: 'old', seq: first.body.seq, accountId: 1 });
    } finally {
      await small.close();
    }
  });
});

describe('idempotent retry racing the original order', () => {
  it('waits for the original order to reach the read models before answering 200', async () => {
    const marketSet = defaultMarketSet();
    const readModels = new ReadModels(marketSet);
    let submitted!: () => void;
    const submittedSignal = new Promise<void>((resolve) => {
      submitted = resolve;
    });
    // The sequencer already knows order 1 (accepted, not yet back from settlement).
    const pipeline: PipelineHandle = {
      phase: 'running',
      lastSeq: 0,
      durableSeq: 1,
      async submit(): Promise<SubmitResult> {
        submitted();
        return { status: 'rejected', code: RejectCode.DuplicateClientOrderId, duplicateOrderId: 1 };
      },
      counters: () => {
        throw new Error('not used');
      },
    };
    const app = await build({ pipeline, readModels, marketSet, listenHost: '127.0.0.1', docs: false });
    try {
      const body = limitOrder(5, 'buy', '100', '1', { clientOrderId: 'race' });
      const responsePromise = app.inject({ method: 'POST', url: '/orders', payload: body });
      await submittedSignal;
      // The original order's results arrive.
      const place: Command = copyCommand(
        Object.assign(createCommand(), {
          type: CommandType.Place, seq: 1, accountId: 5, marketId: 0, side: Side.Buy, orderType: OrderType.Limit,
          priceTicks: 10_000, qtySteps: 1_000_000, clientOrderId: 'race',
        }),
        createCommand(),
      );
      readModels.onCommand(place);
      readModels.onLevel({ marketId: 0, side: Side.Buy, priceTicks: 10_000, qtySteps: 1_000_000 });
      readModels.onCommandEnd(place);
      const response = await responsePromise;
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ orderId: '1', clientOrderId: 'race', status: 'new', price: '100.00', qty: '1.000000' });
    } finally {
      await app.close();
    }
  });
});

describe('GET /orders/{orderId}', () => {
  it('200 for an open and a closed order, 404 for an unknown one, 400 for a malformed id', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4', { clientOrderId: 'g1' }));
    const open = await h.get(`/orders/${order.body.orderId}`);
    expect(open.status).toBe(200);
    const { fills: _fills, ...withoutFills } = order.body;
    expect(open.body).toEqual(withoutFills);
    await h.del(`/orders/${order.body.orderId}?accountId=1`);
    expect((await h.get(`/orders/${order.body.orderId}`)).body.status).toBe('cancelled');
    for (const url of ['/orders/999', '/orders/99999999999999999999']) {
      const response = await h.get(url);
      expect([response.status, response.body.error.code], url).toEqual([404, 'ORDER_NOT_FOUND']);
    }
    for (const url of ['/orders/abc', '/orders/0', '/orders/-1', '/orders/1.5', '/orders/1e3']) {
      const response = await h.get(url);
      expect([response.status, response.body.error.code], url).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});

describe('DELETE /orders/{orderId}', () => {
  it('200: cancels an open order, releases its funds and is sequenced like an order', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    await h.place(limitOrder(2, 'sell', '50000', '0.1'));
    const before = h.pipeline.accepted.length;
    const response = await h.del(`/orders/${order.body.orderId}?accountId=1`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ orderId: order.body.orderId, status: 'cancelled', filledQty: '0.100000', remainingQty: '0.300000' });
    expect(h.pipeline.accepted.length).toBe(before + 1);
    expect(h.pipeline.accepted.at(-1)?.type).toBe(CommandType.Cancel);
    expect((await h.get('/accounts/1/balances')).body.balances.USDT.locked).toBe('0.000000');
    expect((await h.get('/books/BTC-USDT')).body.bids).toEqual([]);
  });

  it('404 for an unknown order or another account, 409 for a closed one: nothing submitted', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    const filled = await h.place(limitOrder(2, 'sell', '50000', '0.4'));
    const counters = JSON.stringify(h.pipeline.counters());
    const otherAccount = await h.del(`/orders/${order.body.orderId}?accountId=2`);
    expect([otherAccount.status, otherAccount.body.error.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    const unknown = await h.del('/orders/12345?accountId=1');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    const closed = await h.del(`/orders/${filled.body.orderId}?accountId=2`);
    expect([closed.status, closed.body.error.code]).toEqual([409, 'ORDER_NOT_OPEN']);
    const closedBuy = await h.del(`/orders/${order.body.orderId}?accountId=1`);
    expect([closedBuy.status, closedBuy.body.error.code]).toEqual([409, 'ORDER_NOT_OPEN']);
    expect(JSON.stringify(h.pipeline.counters())).toBe(counters);
  });

  it('409 twice in a row: a second cancel of the same order', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    expect((await h.del(`/orders/${order.body.orderId}?accountId=1`)).status).toBe(200);
    const again = await h.del(`/orders/${order.body.orderId}?accountId=1`);
    expect([again.status, again.body.error.code]).toEqual([409, 'ORDER_NOT_OPEN']);
  });

  it('400: accountId is required and must be an account id', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    for (const query of ['', '?accountId=', '?accountId=abc', '?accountId=0', '?accountId=4294967296', '?accountId=1&x=1']) {
      const response = await h.del(`/orders/${order.body.orderId}${query}`);
      expect([response.status, response.body.error.code], query).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('409 when the order fills between the gateway check and the cancel being matched', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    const pipeline = h.pipeline;
    const core = h.core;
    const originalSubmit = pipeline.submit.bind(pipeline);
    // Live, the sequencer may accept the cancel while the fill's close is still on its way to it;
    // matching then finds the order gone and reports a cancel reject. Reproduce that ordering.
    pipeline.submit = async (command) => {
      if (command.type !== CommandType.Cancel) return originalSubmit(command);
      await originalSubmit(Object.assign(createCommand(), {
        type: CommandType.Place, accountId: 2, marketId: 0, side: Side.Sell, orderType: OrderType.Limit,
        priceTicks: 5_000_000, qtySteps: 400_000,
      }));
      const cancel = copyCommand(command, createCommand());
      cancel.seq = core.lastSeq + 1;
      cancel.timestampMs = 2_000_000_000_000;
      core.replay(cancel);
      return { status: 'accepted', seq: cancel.seq };
    };
    const response = await h.del(`/orders/${order.body.orderId}?accountId=1`);
    expect([response.status, response.body.error.code]).toEqual([409, 'ORDER_NOT_OPEN']);
    expect(h.readModels.cancelRejects).toBe(1);
    expect((await h.get(`/orders/${order.body.orderId}`)).body.status).toBe('filled');
  });

  it('409 when the sequencer already saw the order close', async () => {
    const order = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    const pipeline = h.pipeline;
    pipeline.submit = async () => ({ status: 'rejected', code: RejectCode.OrderNotFound, duplicateOrderId: 0 });
    const response = await h.del(`/orders/${order.body.orderId}?accountId=1`);
    expect([response.status, response.body.error.code]).toEqual([409, 'ORDER_NOT_OPEN']);
  });
});

describe('GET /accounts/{accountId}/orders', () => {
  it("lists the account's open orders in order of placement", async () => {
    const first = await h.place(limitOrder(1, 'buy', '50000', '0.4'));
    const second = await h.place(limitOrder(1, 'buy', '49000', '0.1', { clientOrderId: 'b' }));
    await h.place(limitOrder(1, 'buy', '1', '0.1', { timeInForce: 'IOC' }));
    await h.place(limitOrder(2, 'sell', '60000', '0.1'));
    const response = await h.get('/accounts/1/orders?status=open');
    expect(response.status).toBe(200);
    expect(response.body.orders.map((order: { orderId: string }) => order.orderId)).toEqual([first.body.orderId, second.body.orderId]);
    expect(response.body.orders[1]).toMatchObject({ clientOrderId: 'b', status: 'new', price: '49000.00', qty: '0.100000' });
    expect((await h.get('/accounts/1/orders')).body).toEqual(response.body);
    expect((await h.get('/accounts/3/orders?status=open')).body).toEqual({ orders: [] });
  });

  it('404 for an unknown account, 400 for a bad id or status', async () => {
    const unknown = await h.get('/accounts/77/orders?status=open');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ACCOUNT_NOT_FOUND']);
    for (const url of ['/accounts/x/orders', '/accounts/1/orders?status=closed', '/accounts/0/orders']) {
      const response = await h.get(url);
      expect([response.status, response.body.error.code], url).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});
