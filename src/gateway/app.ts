/**
 * The gateway: a Fastify app on the main thread that validates requests, turns decimals into
 * fixed-point commands, submits them to the pipeline and answers from the read models.
 *
 * `build()` is the app factory (Fastify's convention): it creates and configures the app without
 * listening, so tests drive it with `app.inject` and the server entry decides where it listens.
 * One error handler maps everything that can go wrong with a request (schema errors, malformed
 * JSON, an oversized body, unknown routes and methods, refusals from the core) to API.md's
 * `{"error":{"code","message"}}`; bad input never yields a 5xx and no stack trace ever leaves.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyServerOptions, HTTPMethods } from 'fastify';
import Fastify, { LogController } from 'fastify';
import { isLoopbackHost } from '../cli/config.ts';
import { createCommand } from '../domain/commands.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { PipelineHandle } from '../pipeline/pipeline_handle.ts';
import { ApiError, ErrorCode } from './api_error.ts';
import { marketScale } from './decimal_codec.ts';
import type { GatewayContext } from './gateway_context.ts';
import type { ReadModels } from './read_models.ts';
import { registerAccountRoutes } from './routes_accounts.ts';
import { registerOrderRoutes } from './routes_orders.ts';
import { registerPublicRoutes } from './routes_public.ts';
import { methodNotAllowedRoute } from './schemas.ts';

export interface GatewayLimits {
  /** Largest `depth` of GET /books (default 1,000). */
  bookDepthMax: number;
  /** Largest `limit` of GET /markets/{symbol}/trades (default: the trades the read model keeps, at most 1,000). */
  tradesLimitMax: number;
}

export interface GatewayOptions {
  pipeline: PipelineHandle;
  /** Fed by the pipeline's execution stream; closed-order and trade retention are its options. */
  readModels: ReadModels;
  marketSet: MarketSet;
  /** When set, funding requires `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  /** Where the server will listen: without an admin token it must be a loopback address. */
  listenHost: string;
  /** Largest request body (default 64 KiB); beyond it: 413 PAYLOAD_TOO_LARGE. */
  bodyLimitBytes?: number;
  /** A pino logger instance, pino options, or false (default) for no logs. Requests are never logged one by one. */
  logger?: FastifyBaseLogger | NonNullable<Exclude<FastifyServerOptions['logger'], boolean>> | boolean;
  limits?: Partial<GatewayLimits>;
  /** Serve the OpenAPI document at /docs/json and its UI at /docs (default true). */
  docs?: boolean;
  /** Retry-After of a 503 OVERLOADED, in seconds (default 1). */
  retryAfterSeconds?: number;
}

export const GATEWAY_DEFAULTS = Object.freeze({
  bodyLimitBytes: 64 * 1024,
  bookDepthMax: 1_000,
  tradesLimitMax: 1_000,
  retryAfterSeconds: 1,
});

/** Every path the API serves and its methods: anything else on these paths is a 405. */
const ROUTE_METHODS: readonly (readonly [string, readonly HTTPMethods[]])[] = [
  ['/markets', ['GET']],
  ['/accounts/:accountId/deposits', ['POST']],
  ['/accounts/:accountId/withdrawals', ['POST']],
  ['/accounts/:accountId/balances', ['GET']],
  ['/accounts/:accountId/orders', ['GET']],
  ['/orders', ['POST']],
  ['/orders/:orderId', ['GET', 'DELETE']],
  ['/books/:symbol', ['GET']],
  ['/markets/:symbol/trades', ['GET']],
  ['/health', ['GET']],
  ['/metrics', ['GET']],
];
const METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function isLoggerInstance(logger: GatewayOptions['logger']): logger is FastifyBaseLogger {
  return typeof logger === 'object' && logger !== null && typeof (logger as { child?: unknown }).child === 'function';
}

function loggerOptions(logger: GatewayOptions['logger']): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  if (isLoggerInstance(logger)) return { loggerInstance: logger };
  return { logger: logger ?? false };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`build: ${name} must be a positive integer, got ${value}`);
  return value;
}

function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
}

/** Framework and library errors → API.md's codes. Anything unexpected is a 500 without details. */
function toApiError(error: FastifyError | Error): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation !== undefined) return new ApiError(400, ErrorCode.ValidationFailed, error.message);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, ErrorCode.PayloadTooLarge, 'request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, ErrorCode.ValidationFailed, 'request body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, ErrorCode.ValidationFailed, 'request body is empty');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(400, ErrorCode.ValidationFailed, 'request body must be application/json');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(400, ErrorCode.ValidationFailed, 'malformed request path');
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (status === 413) return new ApiError(413, ErrorCode.PayloadTooLarge, 'request body is too large');
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(400, ErrorCode.ValidationFailed, 'malformed request');
  }
  return new ApiError(500, ErrorCode.Internal, 'internal error');
}

/**
 * Errors of the HTTP parser itself (not HTTP, a broken chunk, headers past the limit...), which
 * never reach the router or the error handler: Fastify's default answers them with its own body
 * (`{"error":"Bad Request","message":"Client Error","statusCode":400}`). Same statuses, but with
 * API.md's `{"error":{"code","message"}}`. The connection is closed afterwards, as Node does.
 */
function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let apiError: ApiError;
  if (error.code === 'HPE_HEADER_OVERFLOW') apiError = new ApiError(431, ErrorCode.PayloadTooLarge, 'request headers are too large');
  else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') apiError = new ApiError(408, ErrorCode.ValidationFailed, 'request timed out');
  else apiError = new ApiError(400, ErrorCode.ValidationFailed, 'malformed HTTP request');
  const body = JSON.stringify({ error: { code: apiError.code, message: apiError.message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${apiError.statusCode} ${STATUS_CODES[apiError.statusCode]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Exchange REST API',
        version: '1',
        description:
          'Amounts, prices and quantities are decimal strings. A write is answered only once it is on stable ' +
          'storage. Errors are {"error":{"code","message"}}.',
      },
      tags: [{ name: 'orders' }, { name: 'accounts' }, { name: 'funding' }, { name: 'market data' }, { name: 'operations' }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}

function registerMethodNotAllowed(app: FastifyInstance): void {
  for (const [url, methods] of ROUTE_METHODS) {
    // GET routes answer HEAD too (Fastify's exposeHeadRoutes).
    const served = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
    const allow = served.join(', ');
    const others = METHODS.filter((method) => !served.includes(method));
    app.route({
      method: others,
      url,
      schema: methodNotAllowedRoute(),
      handler: async () => {
        throw new ApiError(405, ErrorCode.MethodNotAllowed, `this path serves ${allow}`, { allow });
      },
    });
  }
}

export async function build(options: GatewayOptions): Promise<FastifyInstance> {
  if (options.adminToken === undefined && !isLoopbackHost(options.listenHost)) {
    throw new Error(`build: refusing a gateway for non-loopback host ${options.listenHost} without an admin token`);
  }
  if (options.adminToken !== undefined && options.adminToken.length === 0) throw new Error('build: adminToken must not be empty');
  const limits = options.limits ?? {};
  const context: GatewayContext = {
    pipeline: options.pipeline,
    readModels: options.readModels,
    marketSet: options.marketSet,
    scales: options.marketSet.markets.map(marketScale),
    command: createCommand(),
    bookDepthMax: positiveInteger(limits.bookDepthMax ?? GATEWAY_DEFAULTS.bookDepthMax, 'bookDepthMax'),
    tradesLimitMax: positiveInteger(
      limits.tradesLimitMax ?? Math.min(GATEWAY_DEFAULTS.tradesLimitMax, options.readModels.tradesMax),
      'tradesLimitMax',
    ),
    retryAfterSeconds: positiveInteger(options.retryAfterSeconds ?? GATEWAY_DEFAULTS.retryAfterSeconds, 'retryAfterSeconds'),
  };
  if (options.readModels.marketSet !== options.marketSet) throw new Error('build: readModels must be built on the same market set');

  const app = Fastify({
    ...loggerOptions(options.logger),
    // No log line per request on the hot path; errors worth a log are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: positiveInteger(options.bodyLimitBytes ?? GATEWAY_DEFAULTS.bodyLimitBytes, 'bodyLimitBytes'),
    // While closing, requests still get API.md's error body: the pipeline reports 'stopping'.
    return503OnClosing: false,
    // No coercion: a JSON number where a decimal string belongs must fail, and path and query
    // numbers are digit strings with patterns (see schemas.ts). Unknown fields fail, never vanish.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, toApiError(error));
    },
    clientErrorHandler,
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500 && apiError.code === ErrorCode.Internal) {
      request.log.error({ err: error, url: request.url, method: request.method }, 'unexpected error');
    }
    return sendError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new ApiError(404, ErrorCode.NotFound, `no route for ${request.method} ${request.url.split('?')[0]}`));
  });

  if (options.docs !== false) await registerDocs(app);
  registerPublicRoutes(app, context);
  registerAccountRoutes(app, context, options.adminToken);
  registerOrderRoutes(app, context);
  registerMethodNotAllowed(app);
  // Not ready()-ed: the server entry may still add hooks (onClose) before listen(); inject readies it.
  return app;
}
