/**
 * A gateway app over the in-process test pipeline (inline_pipeline.ts), driven with `app.inject`:
 * no socket, no threads, no timing. Small helpers keep the HTTP tests about behaviour.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { GatewayOptions } from '../../src/gateway/app.ts';
import { build } from '../../src/gateway/app.ts';
import type { InlineExchange, InlineExchangeOptions } from './inline_pipeline.ts';
import { createInlineExchange } from './inline_pipeline.ts';

export interface Response {
  status: number;
  headers: Record<string, unknown>;
  // any: the parsed JSON under test; the assertions are what check its shape.
  body: any;
  text: string;
}

export interface Harness extends InlineExchange {
  app: FastifyInstance;
  request(options: InjectOptions): Promise<Response>;
  get(url: string): Promise<Response>;
  post(url: string, payload: unknown, headers?: Record<string, string>): Promise<Response>;
  del(url: string): Promise<Response>;
  deposit(accountId: number, asset: string, amount: string): Promise<Response>;
  place(body: Record<string, unknown>): Promise<Response>;
  close(): Promise<void>;
}

export type HarnessOptions = InlineExchangeOptions & Partial<Omit<GatewayOptions, 'pipeline' | 'readModels' | 'marketSet'>>;

export async function startGateway(options: HarnessOptions = {}): Promise<Harness> {
  const exchange = createInlineExchange(options);
  const { marketSet: _marketSet, coreLimits: _coreLimits, readModels: _readModels, ...gatewayOptions } = options;
  const app = await build({
    listenHost: '127.0.0.1',
    docs: false,
    ...gatewayOptions,
    pipeline: exchange.pipeline,
    readModels: exchange.readModels,
    marketSet: exchange.marketSet,
  });
  const request = async (injectOptions: InjectOptions): Promise<Response> => {
    const response = await app.inject(injectOptions);
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
    return { status: response.statusCode, headers: response.headers, body, text: response.body };
  };
  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    request({ method: 'POST', url, payload: payload as object, headers });
  return {
    ...exchange,
    app,
    request,
    get: (url) => request({ method: 'GET', url }),
    post,
    del: (url) => request({ method: 'DELETE', url }),
    deposit: (accountId, asset, amount) => {
      const headers: Record<string, string> = options.adminToken === undefined ? {} : { authorization: `Bearer ${options.adminToken}` };
      return post(`/accounts/${accountId}/deposits`, { asset, amount }, headers);
    },
    place: (body) => post('/orders', body),
    close: () => app.close(),
  };
}

/** A limit order body on BTC-USDT with the given overrides. */
export function limitOrder(accountId: number, side: 'buy' | 'sell', price: string, qty: string, extra: Record<string, unknown> = {}) {
  return { accountId, symbol: 'BTC-USDT', side, type: 'limit', price, qty, ...extra };
}
