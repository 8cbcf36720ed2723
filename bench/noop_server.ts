/**
 * The HTTP ceiling for bench/http_bench.ts: a Fastify server with POST /orders under the SAME
 * route schema as the real gateway (src/gateway/schemas.ts: body validated by Ajv, reply
 * serialized by fast-json-stringify) and the same Fastify options that matter per request, but a
 * handler that does nothing: no pipeline, no read models. What the real server reaches relative to
 * this is the cost of everything behind the route.
 *
 * Run by the benchmark as a child process: PORT (required), HOST (default 127.0.0.1).
 * GET /health answers once it listens; GET /metrics has the main thread's event-loop delay and GC
 * pauses, measured as the real server measures them (src/gateway/runtime_metrics.ts). Exits on SIGTERM/SIGINT and when its parent goes away.
 */
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { METRICS_CONTENT_TYPE, renderRuntimeMetrics } from '../src/gateway/metrics.ts';
import { RuntimeMetrics } from '../src/gateway/runtime_metrics.ts';
import { placeOrderRoute } from '../src/gateway/schemas.ts';

interface OrderBody {
  accountId: number;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  price?: string;
  qty?: string;
  timeInForce?: 'GTC' | 'IOC' | 'FOK';
  clientOrderId?: string;
}

const port = Number(process.env['PORT']);
const host = process.env['HOST'] ?? '127.0.0.1';
if (!Number.isInteger(port) || port <= 0) throw new Error('noop_server: PORT must be set');

const app = Fastify({
  // As the gateway (src/gateway/app.ts): a pino instance, no log line per request, same Ajv options.
  loggerInstance: pino({ level: 'info' }),
  logController: new LogController({ disableRequestLogging: true }),
  bodyLimit: 64 * 1024,
  return503OnClosing: false,
  ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
});

let seq = 0;
app.post<{ Body: OrderBody }>('/orders', { schema: placeOrderRoute() }, async (request, reply) => {
  const body = request.body;
  seq += 1;
  // An order-shaped reply of the same size class as the gateway's 201, echoing the request.
  return reply.code(201).send({
    orderId: String(seq),
    ...(body.clientOrderId === undefined ? {} : { clientOrderId: body.clientOrderId }),
    seq,
    accountId: body.accountId,
    symbol: body.symbol,
    side: body.side,
    type: body.type,
    timeInForce: body.timeInForce ?? 'GTC',
    price: body.price,
    qty: body.qty,
    status: 'new',
    filledQty: '0',
    remainingQty: body.qty,
    fills: [],
  });
});
app.get('/health', async () => ({ status: 'ok' }));
// The same main-thread stall histograms as the real server's /metrics (the benchmark compares them).
const runtime = new RuntimeMetrics();
runtime.start();
app.get('/metrics', async (_request, reply) => reply.type(METRICS_CONTENT_TYPE).send(renderRuntimeMetrics(runtime)));

await app.listen({ host, port });

const stop = (): void => {
  void app.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The benchmark holds our stdin open: when it goes away (even by SIGKILL), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
