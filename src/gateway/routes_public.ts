/**
 * Public read routes: markets, books and trades (market data), and health and metrics
 * (operations). All are answered from the read models and the pipeline's counters on the main
 * thread; none crosses a thread.
 */
import type { FastifyInstance } from 'fastify';
import { Side } from '../domain/commands.ts';
import { ApiError, ErrorCode } from './api_error.ts';
import type { MarketScale } from './decimal_codec.ts';
import type { GatewayContext } from './gateway_context.ts';
import { parseBoundedInteger, unavailableError } from './gateway_context.ts';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';
import { RuntimeMetrics } from './runtime_metrics.ts';
import { bookRoute, healthRoute, marketsRoute, metricsRoute, tradesRoute } from './schemas.ts';
import { bookSideView, tradesView } from './views.ts';

export const BOOK_DEPTH_DEFAULT = 20;
export const TRADES_LIMIT_DEFAULT = 100;

function scaleOf(context: GatewayContext, symbol: string): MarketScale {
  const market = context.marketSet.marketBySymbol.get(symbol);
  const scale = market === undefined ? undefined : context.scales[market.id];
  if (scale === undefined) throw new ApiError(404, ErrorCode.UnknownSymbol, `unknown symbol ${symbol}`);
  return scale;
}

export function registerPublicRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { marketSet, readModels, pipeline } = context;
  // The market set never changes while the server runs: build the body once.
  const marketsBody = {
    markets: marketSet.markets.map((market) => ({
      symbol: market.symbol,
      base: market.base.symbol,
      quote: market.quote.symbol,
      tickSize: market.tickSize,
      stepSize: market.stepSize,
      minQty: market.minQty,
    })),
    assets: marketSet.assets.map((asset) => ({ asset: asset.symbol, decimals: asset.decimals })),
  };

  app.get('/markets', { schema: marketsRoute() }, async () => marketsBody);

  app.get<{ Params: { symbol: string }; Querystring: { depth?: string } }>(
    '/books/:symbol',
    { schema: bookRoute(context.bookDepthMax) },
    async (request) => {
      const scale = scaleOf(context, request.params.symbol);
      const depth = parseBoundedInteger(request.query.depth, Math.min(BOOK_DEPTH_DEFAULT, context.bookDepthMax), context.bookDepthMax, 'depth');
      return {
        symbol: scale.market.symbol,
        seq: readModels.lastSeq,
        bids: bookSideView(readModels, scale, Side.Buy, depth),
        asks: bookSideView(readModels, scale, Side.Sell, depth),
      };
    },
  );

  app.get<{ Params: { symbol: string }; Querystring: { limit?: string } }>(
    '/markets/:symbol/trades',
    { schema: tradesRoute(context.tradesLimitMax) },
    async (request) => {
      const scale = scaleOf(context, request.params.symbol);
      const limit = parseBoundedInteger(
        request.query.limit,
        Math.min(TRADES_LIMIT_DEFAULT, context.tradesLimitMax),
        context.tradesLimitMax,
        'limit',
      );
      return { trades: tradesView(readModels, scale, limit) };
    },
  );

  app.get('/health', { schema: healthRoute() }, async () => {
    const phase = pipeline.phase;
    if (phase !== 'running') throw unavailableError(phase);
    return { status: 'ok', seq: pipeline.lastSeq, durableSeq: pipeline.durableSeq };
  });

  // The main thread's stalls (event-loop delay, GC pauses), measured from the start of the app.
  const runtime = new RuntimeMetrics();
  runtime.start();
  app.addHook('onClose', async () => runtime.stop());
  app.get('/metrics', { schema: metricsRoute() }, async (_request, reply) => {
    return reply.type(METRICS_CONTENT_TYPE).send(renderMetrics(pipeline, readModels, runtime));
  });
}
