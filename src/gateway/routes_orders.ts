/**
 * Order routes: place (POST /orders), read (GET /orders/{id}), cancel (DELETE /orders/{id}) and an
 * account's open orders. Writes answer only once the pipeline reports the command durable, matched
 * and settled, and build their reply from the read models, which already hold its results.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RejectCode } from '../domain/reject_codes.ts';
import { ApiError, ErrorCode, rejectError } from './api_error.ts';
import type { PlaceOrderBody } from './command_builder.ts';
import { buildCancelCommand, buildPlaceCommand } from './command_builder.ts';
import type { GatewayContext } from './gateway_context.ts';
import { parseAccountId, parseOrderId, submit, submitThen } from './gateway_context.ts';
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

/** The reply to POST /orders once the pipeline settled it: 201 with the order as placed, 200 for a duplicate, or the refusal. */
function answerPlaced(
  context: GatewayContext,
  reply: FastifyReply,
  body: Readonly<PlaceOrderBody>,
  seq: number,
  rejectCode: RejectCode,
  duplicateOrderId: number,
): void {
  if (rejectCode !== RejectCode.None) {
    if (rejectCode !== RejectCode.DuplicateClientOrderId) throw rejectError(rejectCode);
    duplicateView(context, duplicateOrderId, body).then(
      (view) => reply.code(200).send(view),
      (error: unknown) => reply.send(error),
    );
    return;
  }
  const readModels = context.readModels;
  const order = readModels.order(seq);
  if (order === undefined) {
    // Only possible when more than closedOrdersMax orders closed before this reply was built.
    reply.code(201).send({ orderId: String(seq), seq, accountId: body.accountId });
    return;
  }
  reply.code(201).send(orderView(readModels, context.scales, order, { fills: true, asOfPlacement: true }));
}

export function registerOrderRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { readModels } = context;

  // Not an async handler: the reply is sent from the pipeline's result callback (submitThen), so
  // the hot route costs no Promise per order. A throw before submitting reaches Fastify's error
  // handler as from any handler; errors after it are handed to reply.send, which does the same.
  app.post<{ Body: PlaceOrderBody }>('/orders', { schema: placeOrderRoute() }, (request, reply): void => {
    const body = request.body;
    const command = buildPlaceCommand(context.marketSet, context.scales, body, context.command);
    if (body.clientOrderId !== undefined) {
      const earlier = readModels.orderByClientOrderId(body.accountId, body.clientOrderId);
      if (earlier !== undefined) {
        reply.code(200).send(currentView(context, earlier, true));
        return;
      }
    }
    submitThen(
      context,
      command,
      (seq, rejectCode, duplicateOrderId) => {
        try {
          answerPlaced(context, reply, body, seq, rejectCode, duplicateOrderId);
        } catch (error) {
          reply.send(error);
        }
      },
      (error) => reply.send(error),
    );
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
