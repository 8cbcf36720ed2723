/**
 * Account routes: deposits and withdrawals (admin) and balances.
 *
 * Admin rule (API.md): with an admin token configured, funding requires
 * `Authorization: Bearer <token>`; without one, funding is open, which build() allows only when the
 * server listens on a loopback address. The check runs on request, before the body is even parsed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CommandType } from '../domain/commands.ts';
import { ApiError, ErrorCode, rejectError } from './api_error.ts';
import type { FundingBody } from './command_builder.ts';
import { buildFundingCommand } from './command_builder.ts';
import type { GatewayContext } from './gateway_context.ts';
import { parseAccountId, submit } from './gateway_context.ts';
import { balancesRoute, fundingRoute } from './schemas.ts';
import { balanceView, balancesView } from './views.ts';

type AdminHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** An onRequest hook enforcing the bearer token; constant-time comparison of equal-length digests. */
export function adminAuthorization(adminToken: string | undefined): AdminHook {
  if (adminToken === undefined) return async () => {};
  const expected = digest(`Bearer ${adminToken}`);
  return async (request) => {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !timingSafeEqual(digest(header), expected)) {
      throw new ApiError(401, ErrorCode.Unauthorized, 'admin endpoint: send Authorization: Bearer <ADMIN_TOKEN>', {
        'www-authenticate': 'Bearer',
      });
    }
  };
}

export function registerAccountRoutes(app: FastifyInstance, context: GatewayContext, adminToken: string | undefined): void {
  const { readModels, marketSet } = context;
  const onRequest = adminAuthorization(adminToken);

  const funding = (type: typeof CommandType.Deposit | typeof CommandType.Withdraw) =>
    async (request: FastifyRequest<{ Params: { accountId: string }; Body: FundingBody }>) => {
      const accountId = parseAccountId(request.params.accountId);
      const command = buildFundingCommand(marketSet, type, accountId, request.body, context.command);
      const assetId = command.assetId;
      const result = await submit(context, command);
      if (result.status === 'rejected') throw rejectError(result.code);
      const asset = marketSet.assets[assetId]!;
      // The balance right after this command; the current one if it has left the retention.
      const balance = readModels.fundingResult(result.seq) ??
        readModels.balance(accountId, assetId) ?? { availableUnits: 0, lockedUnits: 0 };
      return { accountId, asset: asset.symbol, ...balanceView(asset, balance), seq: result.seq };
    };

  type FundingRoute = { Params: { accountId: string }; Body: FundingBody };
  app.post<FundingRoute>('/accounts/:accountId/deposits', { schema: fundingRoute('deposit'), onRequest }, funding(CommandType.Deposit));
  app.post<FundingRoute>('/accounts/:accountId/withdrawals', { schema: fundingRoute('withdrawal'), onRequest }, funding(CommandType.Withdraw));

  app.get<{ Params: { accountId: string } }>('/accounts/:accountId/balances', { schema: balancesRoute(marketSet) }, async (request) => {
    const accountId = parseAccountId(request.params.accountId);
    if (!readModels.hasAccount(accountId)) throw new ApiError(404, ErrorCode.AccountNotFound, `account ${accountId} not found`);
    return { accountId, balances: balancesView(readModels, marketSet, accountId) };
  });
}
