/**
 * Bad input (issue 7, part 6). Over a thousand generated malformed requests across every endpoint
 * against the real server (with an ADMIN_TOKEN, so that the admin check is exercised too), plus raw
 * bytes that are not valid HTTP. Every answer must be a 4xx with one of the contract's error codes
 * (API.md's table, plus NOT_FOUND and METHOD_NOT_ALLOWED for unknown routes and methods), never a
 * 5xx; afterwards the server is healthy at the same seq, the funded accounts' balances (available
 * and locked) are exactly as before, the open order is still open, and the WAL has not grown by a
 * single byte.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BadRequest, CorpusContext } from './support/bad_requests.ts';
import { CONTRACT_CODES, badRequestCorpus, rawHttpCorpus } from './support/bad_requests.ts';
import { CRASH_SERVER_ENV } from './support/harness.ts';
import type { HttpResponse } from './support/http_client.ts';
import { HttpClient, HttpConnectionError, parseRawResponses, rawExchange } from './support/http_client.ts';
import { inParallel } from './support/load.ts';
import { ServerProcess, crashRunDirectory, directoryBytes, freePort, killAllServers } from './support/server_process.ts';

const ADMIN_TOKEN = 'crash-test-admin-token-0123456789';

afterEach(killAllServers);
afterAll(killAllServers);

/**
 * Bytes that are not HTTP never reach the app: the gateway's clientErrorHandler answers them, with
 * the contract's body but two statuses of HTTP itself that API.md's table does not list.
 */
const RAW_HTTP_CODES: Readonly<Record<number, readonly string[]>> = {
  ...CONTRACT_CODES,
  408: ['VALIDATION_FAILED'],
  431: ['PAYLOAD_TOO_LARGE'],
};

function contractProblem(
  status: number,
  json: any,
  expected: number | undefined,
  table: Readonly<Record<number, readonly string[]>> = CONTRACT_CODES,
): string | null {
  if (status < 400 || status >= 500) return `status ${status}`;
  const codes = table[status];
  if (codes === undefined) return `status ${status} is not in the contract`;
  const code = json?.error?.code;
  if (typeof code !== 'string' || !codes.includes(code)) return `status ${status} with code ${JSON.stringify(code)} (allowed: ${codes.join(', ')})`;
  if (typeof json.error.message !== 'string' || Object.keys(json).length !== 1) return `error body is not {"error":{"code","message"}}`;
  if (expected !== undefined && status !== expected) return `status ${status} ${code}, the contract says ${expected}`;
  return null;
}

describe('bad input against the real server', () => {
  it('answers every malformed request with a 4xx of the contract, reserves nothing, writes nothing, stays up', async () => {
    const run = crashRunDirectory('bad-input');
    let passed = false;
    let server: ServerProcess | null = null;
    try {
      const port = await freePort();
      server = await ServerProcess.start({
        dataDir: run.dataDir, port, logFile: run.nextLogFile(), env: { ...CRASH_SERVER_ENV, ADMIN_TOKEN },
      });
      const withToken = new HttpClient({ port, maxSockets: 8, adminToken: ADMIN_TOKEN, timeoutMs: 30_000 });
      const withoutToken = new HttpClient({ port, maxSockets: 8, timeoutMs: 30_000 });
      const context = await setUp(withToken);

      const before = await snapshot(withToken, context, run.walDir);
      const corpus = badRequestCorpus(context);
      const raw = rawHttpCorpus(context);
      expect(corpus.length).toBeGreaterThanOrEqual(1_000);
      const failures: string[] = [];
      const byStatus = new Map<number, number>();
      await inParallel(corpus, 8, async (request: BadRequest) => {
        const client = request.noAuth === true ? withoutToken : withToken;
        let response: HttpResponse;
        try {
          response = await client.request(request.method, request.path, {
            ...(request.body === undefined ? {} : { body: request.body }),
            ...(request.raw === undefined ? {} : { raw: request.raw }),
            ...(request.contentType === undefined ? {} : { contentType: request.contentType }),
            ...(request.headers === undefined ? {} : { headers: request.headers }),
          });
        } catch (error) {
          // The server may close a connection on a body it will not read (413): then say so.
          if (error instanceof HttpConnectionError && request.expect === 413) return;
          failures.push(`${request.name}: no answer (${(error as Error).message})`);
          return;
        }
        byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
        const problem = contractProblem(response.status, response.json, request.expect);
        if (problem !== null) failures.push(`${request.name}: ${problem}: ${response.text.slice(0, 200)}`);
      });
      const rawFailures: string[] = [];
      let rawAnswers = 0;
      for (const request of raw) {
        const text = await rawExchange(port, request.bytes);
        // Closed without an answer: refused, nothing done. Otherwise every answer is checked.
        for (const { status, json } of text === '' ? [] : parseRawResponses(text)) {
          rawAnswers += 1;
          const problem = contractProblem(status, json, undefined, RAW_HTTP_CODES);
          if (problem !== null) rawFailures.push(`raw ${request.name}: ${problem}: ${text.slice(0, 300)}`);
        }
      }

      const after = await snapshot(withToken, context, run.walDir);
      console.log(
        `bad input: ${JSON.stringify({
          requests: corpus.length, rawRequests: raw.length, rawAnswers, byStatus: Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])),
          failures: failures.length, rawFailures: rawFailures.length, walBytes: after.walBytes, seq: after.seq,
        })}`,
      );
      expect(failures).toEqual([]);
      expect(after).toEqual(before);
      expect(server.exited).toBeNull();
      // Malformed HTTP is refused by Node's parser before the app sees it; its answers are checked
      // for being 4xx above and reported here.
      expect(rawFailures).toEqual([]);
      withToken.close();
      withoutToken.close();
      const stopped = await server.terminate();
      expect(stopped.code).toBe(0);
      passed = true;
    } finally {
      await killAllServers();
      if (passed) run.remove();
      else console.error(`bad input test failed: its run directory is kept at ${run.dir}`);
    }
  }, 180_000);
});

/** Two funded accounts, an open order and an expired one; the context the corpus is built on. */
async function setUp(http: HttpClient): Promise<CorpusContext> {
  const context: CorpusContext = { accountA: 4_294_967_295, accountB: 77, unfunded: 123_456, openOrderId: 0, closedOrderId: 0, adminToken: ADMIN_TOKEN };
  for (const accountId of [context.accountA, context.accountB]) {
    for (const [asset, amount] of [['BTC', '2.50000000'], ['ETH', '30.00000000'], ['USDT', '100000.000000']]) {
      const response = await http.post(`/accounts/${accountId}/deposits`, { asset, amount });
      expect(response.status, response.text).toBe(200);
    }
  }
  const open = await http.post('/orders', { accountId: context.accountA, symbol: 'BTC-USDT', side: 'sell', type: 'limit', price: '99999.00', qty: '0.001000' });
  expect(open.status, open.text).toBe(201);
  expect(open.json.status).toBe('new');
  context.openOrderId = Number(open.json.orderId);
  const ioc = await http.post('/orders', { accountId: context.accountA, symbol: 'ETH-USDT', side: 'buy', type: 'limit', price: '1.00', qty: '0.0001', timeInForce: 'IOC' });
  expect(ioc.status, ioc.text).toBe(201);
  expect(ioc.json.status).toBe('expired');
  context.closedOrderId = Number(ioc.json.orderId);
  return context;
}

async function snapshot(http: HttpClient, context: CorpusContext, walDir: string): Promise<Record<string, unknown>> {
  const health = await http.get('/health');
  const balances = await Promise.all([context.accountA, context.accountB].map((id) => http.get(`/accounts/${id}/balances`)));
  const open = await http.get(`/orders/${context.openOrderId}`);
  const closed = await http.get(`/orders/${context.closedOrderId}`);
  const openOrders = await http.get(`/accounts/${context.accountA}/orders?status=open`);
  return {
    healthStatus: health.status,
    seq: health.json?.seq,
    durableSeq: health.json?.durableSeq,
    balances: balances.map((response) => response.json),
    open: open.json,
    closed: closed.json,
    openOrders: openOrders.json,
    unfunded: (await http.get(`/accounts/${context.unfunded}/balances`)).status,
    walBytes: directoryBytes(walDir),
  };
}
