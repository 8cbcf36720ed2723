/**
 * JSON schemas of every route: body, params, query and responses, all closed with
 * `additionalProperties: false`. Fastify validates requests with them (Ajv, no type coercion, so a
 * JSON number where an amount string belongs is a 400), serializes responses with them
 * (fast-json-stringify) and @fastify/swagger turns them into the OpenAPI document.
 *
 * Path and query numbers are declared as digit strings with a pattern and converted by the
 * handlers: stricter than Ajv's coercion, which would accept " 7", "0x10" or "1e3" as numbers.
 */
import { ACCOUNT_ID_MAX, CLIENT_ORDER_ID_PATTERN } from '../domain/commands.ts';
import type { MarketSet } from '../domain/markets.ts';

/** Plain JSON schema objects; typed loosely on purpose, Fastify accepts any JSON schema. */
export type JsonSchema = Record<string, unknown>;

const decimalString = (description: string): JsonSchema => ({
  type: 'string',
  description: `${description} (a decimal string, never a JSON number)`,
  examples: ['65000.10'],
});

const closedObject = (properties: Record<string, JsonSchema>, required: readonly string[], description?: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: [...required],
  properties,
  ...(description === undefined ? {} : { description }),
});

const errorBody: JsonSchema = closedObject(
  {
    error: closedObject({ code: { type: 'string' }, message: { type: 'string' } }, ['code', 'message']),
  },
  ['error'],
  'Every error: a stable code from API.md and a human-readable message.',
);

/** Responses every route may give: validation and framework errors, and 503s. */
const errorResponses: Record<string, JsonSchema> = {
  '4xx': errorBody,
  '5xx': errorBody,
};

export const ACCOUNT_ID_PATTERN = '^[1-9][0-9]{0,9}$';
export const ORDER_ID_PATTERN = '^[1-9][0-9]{0,19}$';
export const SMALL_INTEGER_PATTERN = '^[0-9]{1,9}$';

const accountIdParam: JsonSchema = {
  type: 'string',
  pattern: ACCOUNT_ID_PATTERN,
  description: `Account id, an integer from 1 to ${ACCOUNT_ID_MAX}`,
};
const orderIdParam: JsonSchema = { type: 'string', pattern: ORDER_ID_PATTERN, description: 'Order id (decimal string)' };
const symbolParam: JsonSchema = { type: 'string', minLength: 1, description: 'Market symbol, e.g. BTC-USDT' };

/** Routes without query parameters refuse any. */
const noQuery: JsonSchema = closedObject({}, []);

const accountIdBody: JsonSchema = { type: 'integer', minimum: 1, maximum: ACCOUNT_ID_MAX };

const fillSchema = closedObject(
  { tradeId: { type: 'string' }, price: { type: 'string' }, qty: { type: 'string' }, makerOrderId: { type: 'string' } },
  ['tradeId', 'price', 'qty', 'makerOrderId'],
);

const ORDER_REQUIRED = [
  'orderId',
  'seq',
  'accountId',
  'symbol',
  'side',
  'type',
  'timeInForce',
  'status',
  'filledQty',
  'remainingQty',
] as const;

function orderSchema(required: readonly string[]): JsonSchema {
  return closedObject(
    {
      orderId: { type: 'string', description: 'The seq of the command that placed the order' },
      clientOrderId: { type: 'string' },
      seq: { type: 'integer' },
      accountId: { type: 'integer' },
      symbol: { type: 'string' },
      side: { type: 'string', enum: ['buy', 'sell'] },
      type: { type: 'string', enum: ['limit', 'market'] },
      timeInForce: { type: 'string', enum: ['GTC', 'IOC', 'FOK'] },
      price: { type: 'string' },
      qty: { type: 'string' },
      quoteQty: { type: 'string' },
      status: { type: 'string', enum: ['new', 'partially_filled', 'filled', 'expired', 'cancelled'] },
      filledQty: { type: 'string' },
      remainingQty: { type: 'string' },
      fills: { type: 'array', items: fillSchema, description: 'The trades of the command that placed the order' },
    },
    required,
  );
}

const order = orderSchema(ORDER_REQUIRED);
/**
 * An idempotent retry whose original order has left the read model's retention (more than
 * closedOrdersMax orders closed since) can only be answered with the order's identity.
 */
const orderOrIdentity = orderSchema(['orderId', 'seq', 'accountId']);

export function marketsRoute(): JsonSchema {
  const market = closedObject(
    {
      symbol: { type: 'string' },
      base: { type: 'string' },
      quote: { type: 'string' },
      tickSize: { type: 'string' },
      stepSize: { type: 'string' },
      minQty: { type: 'string' },
    },
    ['symbol', 'base', 'quote', 'tickSize', 'stepSize', 'minQty'],
  );
  const asset = closedObject({ asset: { type: 'string' }, decimals: { type: 'integer' } }, ['asset', 'decimals']);
  return {
    summary: 'Markets and assets',
    tags: ['market data'],
    querystring: noQuery,
    response: {
      200: closedObject({ markets: { type: 'array', items: market }, assets: { type: 'array', items: asset } }, ['markets', 'assets']),
      ...errorResponses,
    },
  };
}

export function fundingRoute(kind: 'deposit' | 'withdrawal'): JsonSchema {
  return {
    summary: kind === 'deposit' ? 'Deposit funds (admin)' : 'Withdraw funds (admin)',
    description:
      'Requires `Authorization: Bearer <token>` when the server runs with ADMIN_TOKEN. Answers once the ' +
      'command is durable, with the balance right after it.',
    tags: ['funding'],
    params: closedObject({ accountId: accountIdParam }, ['accountId']),
    body: closedObject({ asset: { type: 'string', minLength: 1 }, amount: decimalString('Amount of the asset') }, ['asset', 'amount']),
    querystring: noQuery,
    response: {
      200: closedObject(
        {
          accountId: { type: 'integer' },
          asset: { type: 'string' },
          available: { type: 'string' },
          locked: { type: 'string' },
          seq: { type: 'integer' },
        },
        ['accountId', 'asset', 'available', 'locked', 'seq'],
      ),
      ...errorResponses,
    },
  };
}

export function balancesRoute(marketSet: MarketSet): JsonSchema {
  const balance = closedObject({ available: { type: 'string' }, locked: { type: 'string' } }, ['available', 'locked']);
  const perAsset: Record<string, JsonSchema> = {};
  for (const asset of marketSet.assets) perAsset[asset.symbol] = balance;
  return {
    summary: 'Balances of an account, every asset',
    tags: ['accounts'],
    params: closedObject({ accountId: accountIdParam }, ['accountId']),
    querystring: noQuery,
    response: {
      200: closedObject({ accountId: { type: 'integer' }, balances: closedObject(perAsset, []) }, ['accountId', 'balances']),
      ...errorResponses,
    },
  };
}

export function placeOrderRoute(): JsonSchema {
  return {
    summary: 'Place an order',
    description:
      'limit: price and qty; market sell: qty; market buy: quoteQty only. Market orders are always IOC. ' +
      'Answers 201 once the order is durable and matched, or 200 with the current state when the same ' +
      '(accountId, clientOrderId) was accepted before.',
    tags: ['orders'],
    body: closedObject(
      {
        accountId: accountIdBody,
        symbol: { type: 'string', minLength: 1 },
        side: { type: 'string', enum: ['buy', 'sell'] },
        type: { type: 'string', enum: ['limit', 'market'] },
        price: decimalString('Limit price, a multiple of tickSize'),
        qty: decimalString('Quantity, a multiple of stepSize, at least minQty'),
        quoteQty: decimalString('Market buy only: the most quote asset to spend'),
        timeInForce: { type: 'string', enum: ['GTC', 'IOC', 'FOK'] },
        postOnly: { type: 'boolean' },
        clientOrderId: { type: 'string', pattern: CLIENT_ORDER_ID_PATTERN.source },
      },
      ['accountId', 'symbol', 'side', 'type'],
    ),
    querystring: noQuery,
    response: { 201: order, 200: orderOrIdentity, ...errorResponses },
  };
}

export function getOrderRoute(): JsonSchema {
  return {
    summary: 'An order by id',
    tags: ['orders'],
    params: closedObject({ orderId: orderIdParam }, ['orderId']),
    querystring: noQuery,
    response: { 200: order, ...errorResponses },
  };
}

export function cancelOrderRoute(): JsonSchema {
  return {
    summary: 'Cancel an open order',
    tags: ['orders'],
    params: closedObject({ orderId: orderIdParam }, ['orderId']),
    querystring: closedObject({ accountId: accountIdParam }, ['accountId']),
    response: { 200: order, ...errorResponses },
  };
}

export function accountOrdersRoute(): JsonSchema {
  return {
    summary: "An account's open orders",
    tags: ['orders'],
    params: closedObject({ accountId: accountIdParam }, ['accountId']),
    querystring: closedObject({ status: { type: 'string', enum: ['open'], description: 'Only open orders are listed' } }, []),
    response: { 200: closedObject({ orders: { type: 'array', items: order } }, ['orders']), ...errorResponses },
  };
}

export function bookRoute(depthMax: number): JsonSchema {
  const level = { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2, description: '[price, total qty]' };
  return {
    summary: 'Aggregated order book, best levels first',
    tags: ['market data'],
    params: closedObject({ symbol: symbolParam }, ['symbol']),
    querystring: closedObject(
      { depth: { type: 'string', pattern: SMALL_INTEGER_PATTERN, description: `Levels per side, 1 to ${depthMax} (default 20)` } },
      [],
    ),
    response: {
      200: closedObject(
        {
          symbol: { type: 'string' },
          seq: { type: 'integer' },
          bids: { type: 'array', items: level },
          asks: { type: 'array', items: level },
        },
        ['symbol', 'seq', 'bids', 'asks'],
      ),
      ...errorResponses,
    },
  };
}

export function tradesRoute(limitMax: number): JsonSchema {
  const trade = closedObject(
    {
      tradeId: { type: 'string' },
      price: { type: 'string' },
      qty: { type: 'string' },
      takerSide: { type: 'string', enum: ['buy', 'sell'] },
      seq: { type: 'integer' },
      time: { type: 'integer', description: 'Milliseconds since the epoch' },
    },
    ['tradeId', 'price', 'qty', 'takerSide', 'seq', 'time'],
  );
  return {
    summary: 'Recent trades, newest first',
    tags: ['market data'],
    params: closedObject({ symbol: symbolParam }, ['symbol']),
    querystring: closedObject(
      { limit: { type: 'string', pattern: SMALL_INTEGER_PATTERN, description: `1 to ${limitMax} (default 100)` } },
      [],
    ),
    response: { 200: closedObject({ trades: { type: 'array', items: trade } }, ['trades']), ...errorResponses },
  };
}

export function healthRoute(): JsonSchema {
  return {
    summary: 'Liveness and progress: 503 while recovering or shutting down',
    tags: ['operations'],
    querystring: noQuery,
    response: {
      200: closedObject(
        { status: { type: 'string', enum: ['ok'] }, seq: { type: 'integer' }, durableSeq: { type: 'integer' } },
        ['status', 'seq', 'durableSeq'],
      ),
      ...errorResponses,
    },
  };
}

export function metricsRoute(): JsonSchema {
  return {
    summary: 'Prometheus metrics (text format)',
    tags: ['operations'],
    produces: ['text/plain'],
    querystring: noQuery,
    response: { 200: { type: 'string' }, ...errorResponses },
  };
}

/** Routes that exist only to answer 405 for a method a path does not serve; kept out of the docs. */
export function methodNotAllowedRoute(): JsonSchema {
  return { hide: true };
}
