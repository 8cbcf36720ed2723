/**
 * Order routes: place (POST /orders), read (GET /orders/{id}), cancel (DELETE /orders/{id}) and an
 * account's open orders. Writes answer only once the pipeline reports the command durable, matched
 * and settled, and build their reply from the read models, which already hold its results.
 */
import type { FastifyInstance } from 'fastify';
import { RejectCode } from '../domain/reject_codes.ts';
import { ApiError, ErrorCode, rejectError } from './api_error.ts';
import type { PlaceOrderBody } from './command_builder.ts';
import { buildCancelCommand, buildPlaceCommand } from './command_builder.ts';
import type { GatewayContext } from './gateway_context.ts';
import { parseAccountId, parseOrderId, submit } from './gateway_context.ts';
import type { OrderState } from './read_models.ts';
import { accountOrdersRoute, cancelOrderRoute, getOrderRoute, placeOrderRoute } from './schemas.ts';
import type { OrderView } from './views.ts';
import { orderView } from './views.ts';

function orderNotFound(orderId: string): ApiError {
  return new ApiError(404, ErrorCode.OrderNotFound, `order ${orderId} not found`);
}

function orderNotOpen(orderId: number): ApiError {
  return new ApiError(409, ErrorCode.OrderNotOpen, `order ${orderId} is not open (already filled, expired or cancelled)`);
}

function currentView(context: GatewayContext, order: OrderState, fills: boolean): OrderView {
  return orderView(context.readModels, context.scales, order, { fills, asOfPlacement: false });
}

/**
 * The 200 of an idempotent retry: the earlier order's current state. The sequencer may refuse the
 * duplicate before the earlier order's results reached the main thread, so wait for them first.
 */
async function duplicateView(context: GatewayContext, orderId: number, body: Readonly<PlaceOrderBody>): Promise<OrderView | object> {
  await context.readModels.waitForSeq(orderId);
  const order = context.readModels.order(orderId);
  if (order !== undefined) return currentView(context, order, true);
  // Closed so long ago that the read model no longer holds it: all that is known is its identity.
  return { orderId: String(orderId), clientOrderId: body.clientOrderId, seq: orderId, accountId: body.accountId };
}

export function registerOrderRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { readModels } = context;

  app.post<{ Body: PlaceOrderBody }>('/orders', { schema: placeOrderRoute() }, async (request, reply) => {
    const body = request.body;
    const command = buildPlaceCommand(context.marketSet, context.scales, body, context.command);
    if (body.clientOrderId !== undefined) {
      const earlier = readModels.orderByClientOrderId(body.accountId, body.clientOrderId);
      if (earlier !== undefined) return reply.code(200).send(currentView(context, earlier, true));
    }
    const result = await submit(context, command);
    if (result.status === 'rejected') {
      if (result.code !== RejectCode.DuplicateClientOrderId) throw rejectError(result.code);
      return reply.code(200).send(await duplicateView(context, result.duplicateOrderId, body));
    }
    const order = readModels.order(result.seq);
    if (order === undefined) {
      // Only possible when more than closedOrdersMax orders closed before this reply was built.
      return reply.code(201).send({ orderId: String(result.seq), seq: result.seq, accountId: body.accountId });
    }
    return reply.code(201).send(orderView(readModels, context.scales, order, { fills: true, asOfPlacement: true }));
  });

  app.get<{ Params: { orderId: string } }>('/orders/:orderId', { schema: getOrderRoute() }, async (request) => {
    const orderId = parseOrderId(request.params.orderId);
    const order = readModels.order(orderId);
    if (order === undefined) throw orderNotFound(request.params.orderId);
    return currentView(context, order, false);
  });

  app.delete<{ Params: { orderId: string }; Querystring: { accountId: string } }>(
    '/orders/:orderId',
    { schema: cancelOrderRoute() },
    async (request) => {
      const orderId = parseOrderId(request.params.orderId);
      const accountId = parseAccountId(request.query.accountId);
      const order = readModels.order(orderId);
      // Someone else's order answers exactly like one that does not exist.
      if (order === undefined || order.accountId !== accountId) throw orderNotFound(request.params.orderId);
      if (order.closedSeq !== 0) throw orderNotOpen(orderId);
      const result = await submit(context, buildCancelCommand(accountId, orderId, context.command));
      if (result.status === 'rejected') {
        // The read model saw this account's open order, so a sequencer that no longer knows it
        // has seen it close (filled or expired) in the meantime.
        if (result.code === RejectCode.OrderNotFound || result.code === RejectCode.OrderNotOpen) throw orderNotOpen(orderId);
        throw rejectError(result.code);
      }
      // Accepted and sequenced; the order may still have filled or expired in between (cancel reject).
      const after = readModels.order(orderId);
      if (after === undefined || after.status !== 'cancelled' || after.closedSeq !== result.seq) throw orderNotOpen(orderId);
      return currentView(context, after, false);
    },
  );

  app.get<{ Params: { accountId: string }; Querystring: { status?: 'open' } }>(
    '/accounts/:accountId/orders',
    { schema: accountOrdersRoute() },
    async (request) => {
      const accountId = parseAccountId(request.params.accountId);
      if (!readModels.hasAccount(accountId)) {
        throw new ApiError(404, ErrorCode.AccountNotFound, `account ${accountId} not found`);
      }
      return { orders: readModels.openOrders(accountId).map((order) => currentView(context, order, false)) };
    },
  );
}
