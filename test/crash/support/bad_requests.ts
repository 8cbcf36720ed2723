/**
 * A generated corpus of malformed requests over every endpoint of API.md: wrong types, numbers
 * where decimal strings belong, zero, negative, huge and over-precise amounts, unknown symbols,
 * assets and fields, broken and oversized JSON, bad ids in paths and queries, wrong methods,
 * unknown routes, missing or wrong admin tokens, and raw bytes that are not valid HTTP.
 *
 * Every request is built to be refused: none may be acknowledged, reserve funds or reach the log.
 * Where the contract says exactly what the answer is, `expect` pins the status.
 */

export interface BadRequest {
  name: string;
  method: string;
  path: string;
  /** JSON-encoded as the body. */
  body?: unknown;
  /** Sent as the body as is (instead of `body`). */
  raw?: string | Buffer;
  /** For `raw`: null sends no Content-Type. Default application/json. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Leave the admin token out (the admin routes then answer 401). */
  noAuth?: boolean;
  /** The exact status the contract gives; otherwise any 4xx of the contract's table. */
  expect?: number;
}

export interface RawBadRequest {
  name: string;
  bytes: string | Buffer;
}

export interface CorpusContext {
  /** Two funded accounts and one that never had a deposit. */
  accountA: number;
  accountB: number;
  unfunded: number;
  /** An open order of A, and a closed (expired) one of A. */
  openOrderId: number;
  closedOrderId: number;
  adminToken: string;
}

/** Status → the error codes the contract allows with it (API.md, plus the gateway's routing codes). */
export const CONTRACT_CODES: Readonly<Record<number, readonly string[]>> = {
  400: ['VALIDATION_FAILED', 'UNKNOWN_SYMBOL', 'UNKNOWN_ASSET', 'INVALID_PRICE', 'INVALID_QTY', 'AMOUNT_TOO_LARGE'],
  401: ['UNAUTHORIZED'],
  404: ['ACCOUNT_NOT_FOUND', 'ORDER_NOT_FOUND', 'UNKNOWN_SYMBOL', 'NOT_FOUND'],
  405: ['METHOD_NOT_ALLOWED'],
  409: ['ORDER_NOT_OPEN'],
  413: ['PAYLOAD_TOO_LARGE'],
  422: ['INSUFFICIENT_BALANCE'],
};

const BAD_DECIMALS = [
  '', ' ', 'abc', '-1', '-0.01', '-0', '0', '0.0', '0.00000000', '1e3', '1E3', '1e-2', '0x10', '+1', ' 1', '1 ', '.5', '5.', '1,5', '1.2.3',
  'Infinity', '-Infinity', 'NaN', '--1', '１', '1_000', '1 000', '99999999999999999999', '9007199254740993', '1'.repeat(40),
  '0.0000000000001', '1.' + '0'.repeat(30) + '1', '\u0000', '12\n', '٣', '0b1', '1/2', 'null', '{}',
];
const WRONG_TYPES_FOR_STRING: unknown[] = [null, true, false, 0, 1, 1.5, -1, 50000, 0.01, [], {}, ['1'], { value: '1' }];
const WRONG_ACCOUNT_IDS: unknown[] = [null, true, '1', 'A', 1.5, -1, 0, 4_294_967_296, 1e20, -4_294_967_295, [], {}, '', [1], 2 ** 53];
const WRONG_BOOLEANS: unknown[] = [null, 'true', 'false', 1, 0, [], {}, 'yes'];
const BAD_CLIENT_ORDER_IDS: unknown[] = ['', 'a'.repeat(37), 'bad id', 'ü', 'a/b', 'a.b', 'a\n', '<script>', 123, null, true, ['a'], "a'b", 'a%20b'];
const BAD_SYMBOLS = ['BTC-USD', 'btc-usdt', 'BTCUSDT', 'BTC_USDT', 'ETH-BTC', ' BTC-USDT', 'BTC-USDT ', 'X'.repeat(5_000), 'BTC-USDT\u0000', '../BTC-USDT'];
const BAD_ASSETS: unknown[] = ['btc', 'DOGE', '', 'USDT ', 'usdt', 'BTC-USDT', 1, null, [], {}, true, 'U'.repeat(3_000)];
const BAD_PATH_IDS = ['0', '-1', 'abc', '4294967296', '01', '1.0', '1e3', '%20', '99999999999999999999', '0x1', '%EF%BC%91', '1%00', '%', '%zz', '1;2', '+1', 'null', '1' + '0'.repeat(300)];
const BAD_ORDER_PATH_IDS = ['0', '-1', 'abc', '1.5', '1e3', '99999999999999999999999', '%20', '0x10', '%', '%zz', '+5', '١', '1' + '0'.repeat(300), 'null'];

const REQUIRED_BY_BODY: Readonly<Record<string, readonly string[]>> = {
  limit: ['accountId', 'symbol', 'side', 'type', 'price', 'qty'],
  marketBuy: ['accountId', 'symbol', 'side', 'type', 'quoteQty'],
  marketSell: ['accountId', 'symbol', 'side', 'type', 'qty'],
};

function placeBases(context: CorpusContext): { kind: string; body: Record<string, unknown> }[] {
  const accountId = context.accountA;
  return [
    { kind: 'limit', body: { accountId, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '50000.00', qty: '0.010000' } },
    { kind: 'limit', body: { accountId, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '0.5000', timeInForce: 'GTC' } },
    { kind: 'marketBuy', body: { accountId, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '100.000000' } },
    { kind: 'marketSell', body: { accountId, symbol: 'ETH-USDT', side: 'sell', type: 'market', qty: '0.1000' } },
  ];
}

function without(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...body };
  delete copy[field];
  return copy;
}

function placeRequests(context: CorpusContext): BadRequest[] {
  const requests: BadRequest[] = [];
  const add = (name: string, body: unknown, expect?: number): void => {
    requests.push({ name: `POST /orders: ${name}`, method: 'POST', path: '/orders', body, ...(expect === undefined ? {} : { expect }) });
  };
  for (const [index, { kind, body }] of placeBases(context).entries()) {
    const tag = `${kind}#${index}`;
    for (const field of REQUIRED_BY_BODY[kind]!) add(`${tag} without ${field}`, without(body, field), 400);
    for (const field of Object.keys(body)) {
      const wrong = field === 'accountId' ? WRONG_ACCOUNT_IDS : WRONG_TYPES_FOR_STRING;
      for (const bad of wrong) add(`${tag} ${field}=${JSON.stringify(bad)}`, { ...body, [field]: bad });
      if (field === 'price' || field === 'qty' || field === 'quoteQty') {
        for (const bad of BAD_DECIMALS) add(`${tag} ${field}="${bad}"`, { ...body, [field]: bad }, 400);
      }
    }
    for (const bad of BAD_SYMBOLS) add(`${tag} symbol=${bad.slice(0, 20)}`, { ...body, symbol: bad }, 400);
    for (const bad of ['BUY', 'Buy', 'long', '', 'bid', 'sell ']) add(`${tag} side=${bad}`, { ...body, side: bad }, 400);
    for (const bad of ['LIMIT', 'stop', '', 'stop_limit', 'market ']) add(`${tag} type=${bad}`, { ...body, type: bad }, 400);
    for (const bad of ['gtc', 'DAY', 'GTD', '', 'IOC ']) add(`${tag} timeInForce=${bad}`, { ...body, timeInForce: bad }, 400);
    for (const bad of WRONG_BOOLEANS) add(`${tag} postOnly=${JSON.stringify(bad)}`, { ...body, postOnly: bad }, 400);
    for (const bad of BAD_CLIENT_ORDER_IDS) add(`${tag} clientOrderId=${JSON.stringify(bad)}`, { ...body, clientOrderId: bad }, 400);
    for (const extra of [{ foo: 1 }, { Price: '1' }, { account_id: 1 }, { constructor: {} }, { clientorderid: 'a' }, { stopPrice: '1' }, { seq: 1 }]) {
      add(`${tag} unknown field ${Object.keys(extra)[0]}`, { ...body, ...extra }, 400);
    }
    add(`${tag} unfunded account`, { ...body, accountId: context.unfunded }, 404);
    add(`${tag} as an array`, [body], 400);
  }
  const A = context.accountA;
  // Amounts that do not fit the market: too many decimals, off the step, too large.
  const amountCases: [string, Record<string, unknown>, number?][] = [
    ['price with 3 decimals', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '50000.001', qty: '0.010000' }, 400],
    ['price 0.001', { accountId: A, symbol: 'ETH-USDT', side: 'buy', type: 'limit', price: '0.001', qty: '1.0000' }, 400],
    ['BTC qty with 7 decimals', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '50000.00', qty: '0.0000001' }, 400],
    ['ETH qty below the step', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '0.00001' }, 400],
    ['ETH qty off the step', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '1.00005' }, 400],
    ['price x qty overflows', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '99999999999.99', qty: '99999999.000000' }, 400],
    ['huge price', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1' + '0'.repeat(20), qty: '0.010000' }, 400],
    ['huge qty', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '1' + '0'.repeat(20) }, 400],
    ['quoteQty with 7 decimals', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '100.0000001' }, 400],
    ['huge quoteQty', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '1' + '0'.repeat(25) }, 400],
    // Well-formed but more than the account holds: refused by the pre-check, nothing reserved.
    ['buy beyond the balance', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '50000.00', qty: '1000.000000' }, 422],
    ['sell beyond the balance', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '100000.0000' }, 422],
    ['market buy beyond the balance', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '999999999.000000' }, 422],
    ['market sell beyond the balance', { accountId: A, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '5000.000000' }, 422],
    ['IOC beyond the balance', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '50000.00', qty: '900.000000', timeInForce: 'IOC' }, 422],
    // Field combinations API.md rules out.
    ['limit with quoteQty', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '50000.00', qty: '0.010000', quoteQty: '1.000000' }, 400],
    ['market buy with qty', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', qty: '0.010000' }, 400],
    ['market buy with qty and quoteQty', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', qty: '0.010000', quoteQty: '1.000000' }, 400],
    ['market buy with price', { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'market', price: '50000.00', quoteQty: '1.000000' }, 400],
    ['market sell with quoteQty', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'market', quoteQty: '1.000000' }, 400],
    ['market sell with price', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'market', qty: '0.1000', price: '3000.00' }, 400],
    ['market GTC', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'market', qty: '0.1000', timeInForce: 'GTC' }, 400],
    ['market FOK', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'market', qty: '0.1000', timeInForce: 'FOK' }, 400],
    ['market postOnly', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'market', qty: '0.1000', postOnly: true }, 400],
    ['postOnly IOC', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '0.1000', postOnly: true, timeInForce: 'IOC' }, 400],
    ['postOnly FOK', { accountId: A, symbol: 'ETH-USDT', side: 'sell', type: 'limit', price: '3000.00', qty: '0.1000', postOnly: true, timeInForce: 'FOK' }, 400],
    ['empty object', {}, 400],
  ];
  for (const [name, body, expect] of amountCases) add(name, body, expect);
  return requests;
}

function fundingRequests(context: CorpusContext): BadRequest[] {
  const requests: BadRequest[] = [];
  const A = context.accountA;
  for (const kind of ['deposits', 'withdrawals']) {
    const path = `/accounts/${A}/${kind}`;
    const add = (name: string, extra: Partial<BadRequest>, expect?: number): void => {
      requests.push({ name: `POST ${kind}: ${name}`, method: 'POST', path, ...extra, ...(expect === undefined ? {} : { expect }) });
    };
    const base = { asset: 'USDT', amount: '10.000000' };
    for (const bad of BAD_DECIMALS) add(`amount="${bad}"`, { body: { ...base, amount: bad } }, 400);
    for (const bad of WRONG_TYPES_FOR_STRING) add(`amount=${JSON.stringify(bad)}`, { body: { ...base, amount: bad } }, 400);
    for (const bad of BAD_ASSETS) add(`asset=${JSON.stringify(bad).slice(0, 20)}`, { body: { ...base, asset: bad } }, 400);
    for (const [asset, amount] of [['BTC', '0.000000001'], ['ETH', '1.123456789'], ['USDT', '1.0000001'], ['USDT', '90071992547.409920'], ['BTC', '1' + '0'.repeat(20)]]) {
      add(`${asset} amount ${amount}`, { body: { asset, amount } }, 400);
    }
    add('without asset', { body: { amount: '1' } }, 400);
    add('without amount', { body: { asset: 'USDT' } }, 400);
    add('unknown field', { body: { ...base, memo: 'x' } }, 400);
    add('accountId in the body', { body: { ...base, accountId: A } }, 400);
    add('as an array', { body: [base] }, 400);
    for (const bad of BAD_PATH_IDS) {
      requests.push({ name: `POST ${kind}: path id ${bad}`, method: 'POST', path: `/accounts/${bad}/${kind}`, body: base });
    }
    // Valid bodies without the right token: only the admin check stands between them and the log.
    const auth: [string, Record<string, string> | undefined][] = [
      ['no token', undefined], ['wrong token', { authorization: 'Bearer wrong-token' }], ['bearer without token', { authorization: 'Bearer' }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`admin:${context.adminToken}`).toString('base64')}` }],
      ['no space after the scheme', { authorization: `Bearer${context.adminToken}` }], ['token in a cookie', { cookie: `token=${context.adminToken}` }],
      ['two spaces', { authorization: `Bearer  ${context.adminToken}` }],
      ['token prefix', { authorization: `Bearer ${context.adminToken.slice(0, -1)}` }], ['token twice', { authorization: `Bearer ${context.adminToken}${context.adminToken}` }],
    ];
    for (const [name, headers] of auth) {
      requests.push({ name: `POST ${kind}: ${name}`, method: 'POST', path, body: { asset: 'USDT', amount: '1.000000' }, noAuth: true, expect: 401, ...(headers === undefined ? {} : { headers }) });
    }
  }
  requests.push({ name: 'withdrawal beyond the balance', method: 'POST', path: `/accounts/${A}/withdrawals`, body: { asset: 'BTC', amount: '1000.00000000' }, expect: 422 });
  requests.push({ name: 'withdrawal of an unfunded account', method: 'POST', path: `/accounts/${context.unfunded}/withdrawals`, body: { asset: 'BTC', amount: '1.00000000' }, expect: 404 });
  return requests;
}

function rawBodyRequests(context: CorpusContext): BadRequest[] {
  const bodies: [string, string | Buffer][] = [
    ['open brace', '{'], ['close brace', '}'], ['empty array', '[]'], ['array', '[1]'], ['null', 'null'], ['number', '1'], ['string', '"s"'],
    ['true', 'true'], ['missing value', '{"accountId":}'], ['trailing comma', `{"accountId":${context.accountA},}`],
    ['single quotes', "{'accountId':1}"], ['bare keys', '{accountId:1}'], ['NaN', 'NaN'], ['NaN value', '{"accountId":NaN}'],
    ['1e999', '{"accountId":1e999}'], ['nul byte', '\u0000'], ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x7b])],
    ['__proto__', `{"__proto__":{"accountId":${context.accountA}},"symbol":"BTC-USDT"}`], ['constructor.prototype', '{"constructor":{"prototype":{"x":1}}}'],
    ['deep arrays', '['.repeat(100_000)], ['deep objects', '{"a":'.repeat(10_000)], ['deep closed arrays', `${'['.repeat(5_000)}${']'.repeat(5_000)}`],
    ['long string', JSON.stringify({ accountId: context.accountA, symbol: 'S'.repeat(60_000), side: 'buy', type: 'limit' })],
    ['oversize 70 KiB', JSON.stringify({ accountId: context.accountA, pad: 'x'.repeat(70_000) })],
    ['oversize 1 MiB', 'x'.repeat(1024 * 1024)], ['whitespace', '   '], ['BOM', '\ufeff{}'], ['two objects', '{}{}'], ['comment', '/* */{}'],
    ['utf-16', Buffer.from('{"accountId":1}', 'utf16le')], ['lone surrogate', '{"symbol":"\\ud800"}'],
    ['duplicate keys, both bad', '{"accountId":"x","accountId":"y","symbol":"BTC-USDT","side":"buy","type":"limit","price":"1.00","qty":"0.000001"}'],
  ];
  const requests: BadRequest[] = [];
  const paths = ['/orders', `/accounts/${context.accountA}/deposits`, `/accounts/${context.accountA}/withdrawals`];
  for (const path of paths) {
    for (const [name, raw] of bodies) {
      const expect = name.startsWith('oversize') ? 413 : undefined;
      requests.push({ name: `POST ${path}: raw ${name}`, method: 'POST', path, raw, ...(expect === undefined ? {} : { expect }) });
    }
    const valid = path === '/orders'
      ? JSON.stringify({ accountId: context.accountA, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1.00', qty: '0.000001', pad: 1 })
      : JSON.stringify({ asset: 'USDT', amount: '1', pad: 1 });
    requests.push({ name: `POST ${path}: empty body`, method: 'POST', path, raw: '' });
    requests.push({ name: `POST ${path}: no body, no content type`, method: 'POST', path, raw: '', contentType: null });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json-patch+json', 'image/png']) {
      requests.push({ name: `POST ${path}: content-type ${contentType}`, method: 'POST', path, raw: valid, contentType });
    }
    requests.push({ name: `POST ${path}: form body`, method: 'POST', path, raw: 'accountId=1&symbol=BTC-USDT', contentType: 'application/x-www-form-urlencoded' });
    requests.push({ name: `POST ${path}: no content type`, method: 'POST', path, raw: valid, contentType: null });
  }
  return requests;
}

function readAndCancelRequests(context: CorpusContext): BadRequest[] {
  const requests: BadRequest[] = [];
  const get = (path: string, expect?: number): void => {
    requests.push({ name: `GET ${path.slice(0, 60)}`, method: 'GET', path, ...(expect === undefined ? {} : { expect }) });
  };
  for (const bad of BAD_ORDER_PATH_IDS) get(`/orders/${bad}`);
  get('/orders/987654321', 404);
  get(`/orders/${context.openOrderId}?accountId=${context.accountA}`, 400);
  get(`/orders/${context.openOrderId}?x=1`, 400);
  for (const bad of BAD_PATH_IDS) {
    get(`/accounts/${bad}/balances`);
    get(`/accounts/${bad}/orders?status=open`);
  }
  get(`/accounts/${context.unfunded}/balances`, 404);
  get(`/accounts/${context.unfunded}/orders?status=open`, 404);
  for (const query of ['status=closed', 'status=', 'status=OPEN', 'status=open&x=1', 'limit=5', 'status=open&status=open', 'status[]=open']) {
    get(`/accounts/${context.accountA}/orders?${query}`, 400);
  }
  get(`/accounts/${context.accountA}/balances?asset=BTC`, 400);
  for (const symbol of ['BTC-USDT', 'ETH-USDT']) {
    for (const depth of ['0', '-1', 'abc', '100001', '1.5', '', '1e3', '0x10', ' 5', '9999999999']) get(`/books/${symbol}?depth=${depth}`, 400);
    get(`/books/${symbol}?depth=5&x=1`, 400);
    for (const limit of ['0', '-1', 'abc', '1001', '1.5', '', '1e2', '999999999999']) get(`/markets/${symbol}/trades?limit=${limit}`, 400);
  }
  for (const symbol of ['BTC-USD', 'btc-usdt', 'X'.repeat(300), '%20', 'BTC-USDT%00', 'ETH_USDT']) {
    get(`/books/${symbol}`);
    get(`/markets/${symbol}/trades`);
  }
  for (const path of ['/markets?x=1', '/health?x=1', '/metrics?x=1', '/markets?format=csv']) get(path, 400);
  const del = (path: string, expect?: number): void => {
    requests.push({ name: `DELETE ${path.slice(0, 60)}`, method: 'DELETE', path, ...(expect === undefined ? {} : { expect }) });
  };
  const open = context.openOrderId;
  del(`/orders/${open}`, 400);
  for (const bad of ['abc', '0', '-1', '4294967296', '', '1.5', '1e3', '%20']) del(`/orders/${open}?accountId=${bad}`, 400);
  del(`/orders/${open}?accountId=${context.accountB}`, 404);
  del(`/orders/${open}?accountId=${context.unfunded}`, 404);
  del(`/orders/${open}?accountId=${context.accountA}&x=1`, 400);
  del(`/orders/${context.closedOrderId}?accountId=${context.accountA}`, 409);
  del(`/orders/987654321?accountId=${context.accountA}`, 404);
  for (const bad of BAD_ORDER_PATH_IDS) del(`/orders/${bad}?accountId=${context.accountA}`);
  return requests;
}

function routingRequests(context: CorpusContext): BadRequest[] {
  const A = context.accountA;
  const validOrder = { accountId: A, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1.00', qty: '0.000001' };
  const validFunding = { asset: 'USDT', amount: '1.000000' };
  const routes: [string, string[], unknown?][] = [
    ['/markets', ['GET']],
    [`/accounts/${A}/deposits`, ['POST'], validFunding],
    [`/accounts/${A}/withdrawals`, ['POST'], validFunding],
    [`/accounts/${A}/balances`, ['GET']],
    [`/accounts/${A}/orders`, ['GET']],
    ['/orders', ['POST'], validOrder],
    [`/orders/${context.openOrderId}`, ['GET', 'DELETE'], validOrder],
    ['/books/BTC-USDT', ['GET']],
    ['/markets/BTC-USDT/trades', ['GET']],
    ['/health', ['GET']],
    ['/metrics', ['GET']],
  ];
  const requests: BadRequest[] = [];
  for (const [path, allowed, body] of routes) {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      if (allowed.includes(method)) continue;
      // A valid body on the wrong method must not do anything either.
      requests.push({ name: `${method} ${path}`, method, path, ...(body === undefined ? {} : { body }), expect: 405 });
    }
  }
  const unknown = [
    '/', '/order', '/orders/1/fills', '/accounts', `/accounts/${A}`, `/accounts/${A}/deposit`, '/api/orders', '/ORDERS', '/health/x', '/books',
    '/markets/BTC-USDT', '/markets/BTC-USDT/trade', '/v1/orders', '/docs/x/y', `/accounts/${A}/balances/BTC`, '/orders/1/2', '/..%2fhealth',
    '/%2e%2e/health', `/accounts/${A}/orders/1`, '/metrics/x', '/x'.repeat(500),
  ];
  for (const path of unknown) {
    requests.push({ name: `GET ${path.slice(0, 40)}`, method: 'GET', path });
    requests.push({ name: `POST ${path.slice(0, 40)}`, method: 'POST', path, body: validOrder });
  }
  return requests;
}

/** Percent-encodes what an HTTP client may not put in a request target (spaces, non-ASCII). */
function encodeTarget(path: string): string {
  return path.replace(/[^\x21-\x7e]/gu, (char) => encodeURIComponent(char));
}

export function badRequestCorpus(context: CorpusContext): BadRequest[] {
  const all = [...placeRequests(context), ...fundingRequests(context), ...rawBodyRequests(context), ...readAndCancelRequests(context), ...routingRequests(context)];
  return all.map((request) => ({ ...request, path: encodeTarget(request.path) }));
}

/** Bytes no HTTP client would send: the server must answer 4xx (or close) and stay up. */
export function rawHttpCorpus(context: CorpusContext): RawBadRequest[] {
  // A body that would be a valid order but for one unknown field: if a malformed request were
  // somehow parsed as a good one, the order would still be refused and never reach the log.
  const order = JSON.stringify({ accountId: context.accountA, symbol: 'BTC-USDT', side: 'buy', type: 'limit', price: '1.00', qty: '0.000001', pad: 1 });
  const post = (headers: string, body: string): string => `POST /orders HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`;
  return [
    { name: 'garbage request line', bytes: 'GARBAGE\r\n\r\n' },
    { name: 'unknown HTTP version', bytes: 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n' },
    { name: 'header without colon', bytes: 'GET /health HTTP/1.1\r\nHost x\r\n\r\n' },
    { name: 'bad content-length', bytes: post('Content-Type: application/json\r\nContent-Length: abc\r\n', order) },
    { name: 'negative content-length', bytes: post('Content-Type: application/json\r\nContent-Length: -5\r\n', order) },
    { name: 'two content-lengths', bytes: post(`Content-Type: application/json\r\nContent-Length: ${order.length}\r\nContent-Length: 5\r\n`, order) },
    { name: 'chunked and content-length', bytes: post(`Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: ${order.length}\r\n`, `${order.length.toString(16)}\r\n${order}\r\n0\r\n\r\n`) },
    { name: 'bad chunk size', bytes: post('Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n', `zz\r\n${order}\r\n0\r\n\r\n`) },
    { name: 'header too large', bytes: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n` },
    { name: 'url too large', bytes: `GET /orders/${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n` },
    { name: 'nul in url', bytes: 'GET /hea\u0000lth HTTP/1.1\r\nHost: x\r\n\r\n' },
    { name: 'space in url', bytes: 'GET /orders/1 2 HTTP/1.1\r\nHost: x\r\n\r\n' },
    { name: 'bad method token', bytes: 'G(T /health HTTP/1.1\r\nHost: x\r\n\r\n' },
    { name: 'absolute-form url to another host', bytes: 'GET http://evil.example/orders HTTP/1.1\r\nHost: x\r\n\r\n' },
    { name: 'CONNECT', bytes: 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n' },
    { name: 'obsolete line folding', bytes: post(`Content-Type: application/json\r\n foo\r\nContent-Length: ${order.length}\r\n`, order) },
    { name: 'smuggled second request', bytes: post(`Content-Type: application/json\r\nContent-Length: 2\r\n`, `{}POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${order.length}\r\nConnection: close\r\n\r\n${order}`) },
  ];
}
