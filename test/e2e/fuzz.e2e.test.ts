/**
 * Malformed requests against the real server over a real socket: a few hundred seeded bodies,
 * paths, queries, media types, oversized bodies and broken HTTP. Every request is invalid by
 * construction (each carries at least one mutation that no valid request has), so the only
 * acceptable answers are 4xx with API.md's error body. Afterwards the server is up, nothing is
 * reserved (balances and open orders as before), and the WAL has not grown by a single byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealServer } from './support/real_server.ts';
import { rawTcp, startRealServer, walBytes } from './support/real_server.ts';
import { expectErrorShape, limit, metric, parseMetrics } from './support/contract.ts';

let s: RealServer;
let restingOrderId: string;

beforeAll(async () => {
  s = await startRealServer();
  expect((await s.deposit(1, 'USDT', '1000')).status).toBe(200);
  expect((await s.deposit(2, 'BTC', '1')).status).toBe(200);
  const resting = await s.place(limit(2, 'sell', '60000', '0.5'));
  expect(resting.status).toBe(201);
  restingOrderId = resting.body.orderId;
});

afterAll(async () => {
  await s?.dispose();
  expect(s?.fatalErrors ?? []).toEqual([]);
});

/** mulberry32: a small seeded PRNG, so that a failure names a reproducible case. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzCase {
  label: string;
  via: 'fetch' | 'raw';
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** Not a decimal string the server may accept for any amount, price or quantity. */
const BAD_AMOUNTS: readonly unknown[] = [
  50, 0.01, -1, 0, true, false, null, [], ['50'], {}, { value: '50' },
  '', ' 50', '50 ', '5e1', '5E1', '0x32', '1,5', '+50', '.5', '50.', '5..0', 'NaN', 'Infinity', '-Infinity',
  '１', '٥', '5_0', '0', '0.000', '-0', '-50', '-0.01', '9'.repeat(25), `0.${'0'.repeat(40)}1`, '1'.repeat(3000),
  '50\u0000', 'fifty', '\ud800', '50\n', '\t50',
];
const BAD_ACCOUNT_IDS: readonly unknown[] = ['1', 0, -1, 1.5, 4294967296, 1e20, null, true, [], {}, 'abc', 999_999];
const BAD_SYMBOLS: readonly unknown[] = ['btc-usdt', 'BTC-USDT ', '', 'BTCUSDT', 'ETH-BTC', 'BTC_USDT', 5, null, ['BTC-USDT']];
const BAD_SIDES: readonly unknown[] = ['BUY', 'Buy', 'long', '', 0, null, true];
const BAD_TYPES: readonly unknown[] = ['LIMIT', 'stop', 'stop_limit', '', 1, null];
const BAD_TIME_IN_FORCE: readonly unknown[] = ['gtc', 'GTD', 'DAY', '', 0, null];
const BAD_POST_ONLY: readonly unknown[] = ['true', 1, 0, 'yes', null];
const BAD_CLIENT_ORDER_IDS: readonly unknown[] = ['', 'x'.repeat(37), 'a b', 'ü', 'a/b', 'a.b', 5, null, true, ['a']];
const UNKNOWN_FIELDS: readonly string[] = ['leverage', 'stopPrice', 'reduceOnly', 'Price', 'QTY', 'accountid', 'x'.repeat(100), ''];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function orderCases(random: () => number, count: number): FuzzCase[] {
  const bases: (() => Record<string, unknown>)[] = [
    () => limit(1, 'buy', '50', '0.01', { timeInForce: 'GTC', clientOrderId: 'fz-limit' }),
    () => limit(2, 'sell', '70000', '0.01'),
    () => ({ accountId: 1, symbol: 'BTC-USDT', side: 'buy', type: 'market', quoteQty: '10' }),
    () => ({ accountId: 2, symbol: 'BTC-USDT', side: 'sell', type: 'market', qty: '0.01' }),
    () => limit(1, 'buy', '100', '0.01', { postOnly: true }, 'ETH-USDT'),
  ];
  /** Each breaks the order for sure; the label says how. */
  const mutations: ((body: Record<string, unknown>) => string)[] = [
    (body) => {
      const fields = ['price', 'qty', 'quoteQty'].filter((field) => field in body);
      const field = pick(random, fields);
      const value = pick(random, BAD_AMOUNTS);
      body[field] = value;
      return `${field}=${JSON.stringify(value)?.slice(0, 40)}`;
    },
    (body) => ((body['accountId'] = pick(random, BAD_ACCOUNT_IDS)), `accountId=${JSON.stringify(body['accountId'])}`),
    (body) => ((body['symbol'] = pick(random, BAD_SYMBOLS)), `symbol=${JSON.stringify(body['symbol'])}`),
    (body) => ((body['side'] = pick(random, BAD_SIDES)), `side=${JSON.stringify(body['side'])}`),
    (body) => ((body['type'] = pick(random, BAD_TYPES)), `type=${JSON.stringify(body['type'])}`),
    (body) => ((body['timeInForce'] = pick(random, BAD_TIME_IN_FORCE)), `timeInForce=${JSON.stringify(body['timeInForce'])}`),
    (body) => ((body['postOnly'] = pick(random, BAD_POST_ONLY)), `postOnly=${JSON.stringify(body['postOnly'])}`),
    (body) => ((body['clientOrderId'] = pick(random, BAD_CLIENT_ORDER_IDS)), `clientOrderId=${JSON.stringify(body['clientOrderId'])?.slice(0, 40)}`),
    (body) => {
      const field = pick(random, UNKNOWN_FIELDS);
      body[field] = pick(random, ['1', 1, true, null]);
      return `unknown field ${JSON.stringify(field.slice(0, 20))}`;
    },
    (body) => {
      const required = ['accountId', 'symbol', 'side', 'type', ...(body['type'] === 'limit' ? ['price', 'qty'] : [])];
      const field = pick(random, required);
      delete body[field];
      return `without ${field}`;
    },
    (body) => {
      // Field combinations API.md excludes.
      if (body['type'] === 'limit') {
        const [field, value] = pick(random, [['quoteQty', '10'], ['timeInForce', 'IOC']] as const);
        body[field] = value;
        if (field === 'timeInForce') body['postOnly'] = true;
        return `limit with ${field}${field === 'timeInForce' ? ' and postOnly' : ''}`;
      }
      const [field, value] = pick(random, [
        ['price', '100'],
        ['postOnly', true],
        ['timeInForce', 'GTC'],
        ['timeInForce', 'FOK'],
        [body['side'] === 'buy' ? 'qty' : 'quoteQty', '1'],
      ] as const);
      body[field] = value;
      return `market with ${field}=${JSON.stringify(value)}`;
    },
  ];
  return Array.from({ length: count }, (_, i) => {
    const body = pick(random, bases)();
    const labels = [pick(random, mutations)(body)];
    if (random() < 0.3) labels.push(pick(random, mutations)(body));
    return { label: `order #${i}: ${labels.join(', ')}`, via: 'fetch', method: 'POST', path: '/orders', body: JSON.stringify(body), headers: JSON_TYPE };
  });
}

function fundingCases(random: () => number, count: number): FuzzCase[] {
  const mutations: ((body: Record<string, unknown>) => string)[] = [
    (body) => ((body['amount'] = pick(random, BAD_AMOUNTS)), `amount=${JSON.stringify(body['amount'])?.slice(0, 40)}`),
    (body) => ((body['asset'] = pick(random, ['usdt', 'DOGE', '', ' USDT', 'USDT ', 5, null, ['USDT']])), `asset=${JSON.stringify(body['asset'])}`),
    (body) => {
      const field = pick(random, [...UNKNOWN_FIELDS, 'memo', 'accountId']);
      body[field] = pick(random, ['1', 1, null]);
      return `unknown field ${JSON.stringify(field.slice(0, 20))}`;
    },
    (body) => {
      const field = pick(random, ['asset', 'amount']);
      delete body[field];
      return `without ${field}`;
    },
  ];
  return Array.from({ length: count }, (_, i) => {
    const body: Record<string, unknown> = { asset: pick(random, ['USDT', 'BTC', 'ETH']), amount: pick(random, ['1', '0.5', '0.00000001']) };
    const label = pick(random, mutations)(body);
    const kind = pick(random, ['deposits', 'withdrawals']);
    return { label: `${kind} #${i}: ${label}`, via: 'fetch', method: 'POST', path: `/accounts/1/${kind}`, body: JSON.stringify(body), headers: JSON_TYPE };
  });
}

function rawBodyCases(random: () => number): FuzzCase[] {
  const valid = '{"asset":"USDT","amount":"1"}';
  const texts: [string, string | Buffer][] = [
    ['trailing comma', '{"asset":"USDT","amount":"1",}'],
    ['single quotes', "{'asset':'USDT','amount':'1'}"],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"USDT"'],
    ['number', '1'],
    ['true', 'true'],
    ['two documents', `${valid}{"x":1}`],
    ['trailing garbage', `${valid} x`],
    ['__proto__', '{"__proto__":{"admin":true},"asset":"USDT","amount":"1"}'],
    ['constructor.prototype', '{"constructor":{"prototype":{"admin":true}},"asset":"USDT","amount":"1"}'],
    ['duplicate key, last invalid', '{"asset":"USDT","amount":"1","amount":2}'],
    ['invalid escape', '{"asset":"USDT","amount":"\\x31"}'],
    ['lone surrogate amount', '{"asset":"USDT","amount":"\\ud800"}'],
    ['deep arrays', `${'['.repeat(20_000)}${']'.repeat(20_000)}`],
    ['deep objects', `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`],
    ['NaN literal', '{"asset":"USDT","amount":NaN}'],
    ['comment', '{"asset":"USDT", /* c */ "amount":"1"}'],
    ['invalid UTF-8 in the amount', Buffer.concat([Buffer.from('{"asset":"USDT","amount":"1'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])],
    ['NUL bytes', Buffer.from('\u0000\u0000\u0000\u0000')],
  ];
  for (let i = 0; i < 20; i++) {
    const cut = 1 + Math.floor(random() * (valid.length - 1));
    texts.push([`truncated at ${cut}`, valid.slice(0, cut)]);
  }
  const cases: FuzzCase[] = [];
  for (const [label, body] of texts) {
    for (const path of ['/accounts/1/deposits', '/orders']) cases.push({ label: `raw body ${label} → ${path}`, via: 'raw', method: 'POST', path, body, headers: JSON_TYPE });
  }
  return cases;
}

function mediaTypeCases(): FuzzCase[] {
  const body = '{"asset":"USDT","amount":"1"}';
  return ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/jsonp', 'text/json', '*/*'].map(
    (type) => ({ label: `content-type ${type}`, via: 'fetch', method: 'POST', path: '/accounts/1/deposits', body, headers: { 'content-type': type } }),
  );
}

function oversizeCases(): FuzzCase[] {
  const padded = (bytes: number) => `{"asset":"USDT","amount":"1","pad":"${'p'.repeat(bytes)}"}`;
  return [
    { label: 'body of 64 KiB + 1', via: 'fetch', method: 'POST', path: '/accounts/1/deposits', body: padded(64 * 1024), headers: JSON_TYPE },
    { label: 'body of 200 KB', via: 'fetch', method: 'POST', path: '/orders', body: padded(200_000), headers: JSON_TYPE },
    { label: 'body of 2 MB', via: 'fetch', method: 'POST', path: '/accounts/1/withdrawals', body: padded(2_000_000), headers: JSON_TYPE },
    {
      label: 'content-length larger than the limit',
      via: 'raw',
      method: 'POST',
      path: '/accounts/1/deposits',
      body: '{"asset":"USDT","amount":"1"}',
      headers: { ...JSON_TYPE, 'content-length': '10000000' },
    },
  ];
}

function pathCases(): FuzzCase[] {
  const accountIds = ['0', '-1', '01', '1.0', '1e3', '0x1', '4294967296', '99999999999999999999', 'abc', '%20', '1%00', '%2B1', '1%20', '9'.repeat(300), '%E0%A4%A', '%D9%A1'];
  const orderIds = ['0', '-1', '01', 'abc', '1.5', '1e3', '9'.repeat(21), '%00', '%', '1%2F2'];
  const symbols = ['%00', 'BTC-USDT%00', 'BTC%2FUSDT', 'btc-usdt', 'A'.repeat(300), '..%2F..', '%E0%A4%A'];
  const cases: FuzzCase[] = [];
  const get = (label: string, path: string, method = 'GET'): FuzzCase => ({ label, via: 'raw', method, path });
  for (const id of accountIds) {
    cases.push(get(`balances of ${id}`, `/accounts/${id}/balances`));
    cases.push(get(`open orders of ${id}`, `/accounts/${id}/orders?status=open`));
    cases.push({ label: `deposit to ${id}`, via: 'raw', method: 'POST', path: `/accounts/${id}/deposits`, body: '{"asset":"USDT","amount":"1"}', headers: JSON_TYPE });
  }
  for (const id of orderIds) {
    cases.push(get(`order ${id}`, `/orders/${id}`));
    cases.push(get(`cancel ${id}`, `/orders/${id}?accountId=2`, 'DELETE'));
  }
  for (const symbol of symbols) {
    cases.push(get(`book ${symbol}`, `/books/${symbol}`));
    cases.push(get(`trades ${symbol}`, `/markets/${symbol}/trades`));
  }
  const queries: [string, string][] = [
    ['/books/BTC-USDT', 'depth=0'],
    ['/books/BTC-USDT', 'depth=abc'],
    ['/books/BTC-USDT', 'depth=-1'],
    ['/books/BTC-USDT', 'depth=1e3'],
    ['/books/BTC-USDT', 'depth=1.5'],
    ['/books/BTC-USDT', 'depth='],
    ['/books/BTC-USDT', 'depth=1&depth=2'],
    ['/books/BTC-USDT', 'depth=100000000000'],
    ['/books/BTC-USDT', 'limit=5'],
    ['/markets/BTC-USDT/trades', 'limit=0'],
    ['/markets/BTC-USDT/trades', 'limit=1001'],
    ['/markets/BTC-USDT/trades', 'limit=x'],
    ['/markets/BTC-USDT/trades', 'since=1'],
    ['/accounts/2/orders', 'status=closed'],
    ['/accounts/2/orders', 'status=open&status=open'],
    ['/markets', 'symbol=BTC-USDT'],
    ['/health', 'x'],
    ['/metrics', 'format=json'],
  ];
  for (const [path, query] of queries) cases.push(get(`${path}?${query}`, `${path}?${query}`));
  // Cancels of a real open order with a bad or foreign accountId: refused before the log.
  for (const accountId of ['', 'abc', '0', '-2', '2.0', '1', '3', '2&accountId=2']) {
    cases.push(get(`cancel the resting order as ${accountId}`, `/orders/${restingOrderId}?accountId=${accountId}`, 'DELETE'));
  }
  cases.push(get('cancel the resting order without accountId', `/orders/${restingOrderId}`, 'DELETE'));
  // Unknown paths and methods.
  for (const path of ['/', '/orders/', '/v1/orders', '/accounts', '/accounts/1', '/books', '/markets/BTC-USDT', '/admin', '/../etc/passwd', '/docs/../../etc/passwd']) {
    cases.push(get(`unknown path ${path}`, path));
  }
  for (const [method, path] of [['PUT', '/orders'], ['PATCH', `/orders/${restingOrderId}`], ['DELETE', '/markets'], ['POST', '/health'], ['PUT', '/accounts/1/deposits'], ['OPTIONS', '/books/BTC-USDT'], ['TRACE', '/health']]) {
    cases.push(get(`${method} ${path}`, path!, method));
  }
  return cases;
}

async function run(fuzzCase: FuzzCase): Promise<{ status: number; text: string; body: unknown }> {
  if (fuzzCase.via === 'raw') return s.raw(fuzzCase.method, fuzzCase.path, fuzzCase.body, fuzzCase.headers);
  const body = typeof fuzzCase.body === 'string' || fuzzCase.body === undefined ? fuzzCase.body : fuzzCase.body.toString('latin1');
  return s.send(fuzzCase.method, fuzzCase.path, body, fuzzCase.headers);
}

describe('fuzzing the real server with malformed requests', () => {
  it('a few hundred malformed requests: only 4xx with the contract body; nothing reserved, nothing logged', async () => {
    const random = prng(0x5eed_e2e);
    const cases = [
      ...orderCases(random, 160),
      ...fundingCases(random, 60),
      ...rawBodyCases(random),
      ...mediaTypeCases(),
      ...oversizeCases(),
      ...pathCases(),
    ];
    expect(cases.length).toBeGreaterThanOrEqual(300);

    const walBefore = walBytes(s.dataDir);
    const healthBefore = (await s.get('/health')).body;
    const metricsBefore = parseMetrics((await s.get('/metrics')).text);
    const balancesBefore = [(await s.get('/accounts/1/balances')).body, (await s.get('/accounts/2/balances')).body];
    expect(balancesBefore).toEqual([
      {
        accountId: 1,
        balances: {
          BTC: { available: '0.00000000', locked: '0.00000000' },
          ETH: { available: '0.00000000', locked: '0.00000000' },
          USDT: { available: '1000.000000', locked: '0.000000' },
        },
      },
      {
        accountId: 2,
        balances: {
          BTC: { available: '0.50000000', locked: '0.50000000' },
          ETH: { available: '0.00000000', locked: '0.00000000' },
          USDT: { available: '0.000000', locked: '0.000000' },
        },
      },
    ]);

    const statuses = new Map<number, number>();
    // Eight at a time: concurrency on the socket as well as variety.
    for (let start = 0; start < cases.length; start += 8) {
      const batch = cases.slice(start, start + 8);
      const responses = await Promise.all(batch.map(run));
      responses.forEach((response, i) => {
        const label = `${batch[i]!.label} (${batch[i]!.method} ${batch[i]!.path.slice(0, 80)})`;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${label}: ${response.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(response.status, `${label}: ${response.text.slice(0, 200)}`).toBeLessThan(500);
        expectErrorShape(response as Parameters<typeof expectErrorShape>[0], label);
      });
    }
    // The mix reached every kind of refusal, not just the schema.
    for (const status of [400, 404, 405, 413]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);

    expect(walBytes(s.dataDir)).toBe(walBefore);
    expect((await s.get('/health')).body).toEqual(healthBefore);
    expect([(await s.get('/accounts/1/balances')).body, (await s.get('/accounts/2/balances')).body]).toEqual(balancesBefore);
    expect((await s.get('/accounts/2/orders?status=open')).body.orders.map((o: { orderId: string }) => o.orderId)).toEqual([restingOrderId]);
    expect((await s.get('/books/BTC-USDT')).body.asks).toEqual([['60000.00', '0.500000']]);
    const metricsAfter = parseMetrics((await s.get('/metrics')).text);
    for (const type of ['deposit', 'withdraw', 'place', 'cancel']) {
      const name = `exchange_commands_accepted_total{type="${type}"}`;
      expect(metric(metricsAfter, name), name).toBe(metric(metricsBefore, name));
    }
    expect(metric(metricsAfter, 'exchange_wal_records_total')).toBe(metric(metricsBefore, 'exchange_wal_records_total'));
  });

  it('broken HTTP below the API (parser errors) is answered with the contract error body too, and the server stays up', async () => {
    const walBefore = walBytes(s.dataDir);
    const cases: [string, string, number][] = [
      ['not HTTP at all', 'GARBAGE\r\n\r\n', 400],
      ['unknown HTTP version', 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n', 400],
      ['bad chunk size', 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n', 400],
      ['Content-Length with Transfer-Encoding', 'POST /accounts/1/deposits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n', 400],
      ['space in the header name', 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400],
      ['headers past the limit', `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ];
    for (const [label, request, status] of cases) {
      const answer = await rawTcp(s.server.port, request);
      const match = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(answer);
      expect(match, `${label}: ${JSON.stringify(answer)}`).not.toBeNull();
      const body = JSON.parse(match![3]!) as unknown;
      expect(Number(match![1]), label).toBe(status);
      expectErrorShape({ status, body, text: match![3]!, headers: {} }, label);
    }
    expect((await s.get('/health')).body.status).toBe('ok');
    expect(walBytes(s.dataDir)).toBe(walBefore);
  });
});
