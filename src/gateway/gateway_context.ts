/**
 * What the route handlers share: the pipeline, the read models, the market set with its print
 * scales, one scratch command, and the mapping from a SubmitResult to API.md's answers.
 */
import type { Command } from '../domain/commands.ts';
import { ACCOUNT_ID_MAX } from '../domain/commands.ts';
import type { MarketSet } from '../domain/markets.ts';
import type { RejectCode } from '../domain/reject_codes.ts';
import type { PipelineHandle, PipelinePhase } from '../pipeline/pipeline_handle.ts';
import { ApiError, ErrorCode, badRequest } from './api_error.ts';
import type { MarketScale } from './decimal_codec.ts';
import type { ReadModels } from './read_models.ts';

export interface GatewayContext {
  readonly pipeline: PipelineHandle;
  readonly readModels: ReadModels;
  readonly marketSet: MarketSet;
  readonly scales: readonly MarketScale[];
  /**
   * Filled by a handler and handed to `pipeline.submit`, which copies it before returning: filling
   * and submitting happen in one synchronous stretch, so one object serves every request.
   */
  readonly command: Command;
  readonly bookDepthMax: number;
  readonly tradesLimitMax: number;
  readonly retryAfterSeconds: number;
}

export type Settled =
  | { readonly status: 'accepted'; readonly seq: number }
  | { readonly status: 'rejected'; readonly code: RejectCode; readonly duplicateOrderId: number };

export function unavailableError(phase: PipelinePhase): ApiError {
  return phase === 'recovering'
    ? new ApiError(503, ErrorCode.Recovering, 'the server is recovering from its log; retry shortly')
    : new ApiError(503, ErrorCode.ShuttingDown, 'the server is shutting down');
}

/** Submits the command; overload and unavailability become 503s, the rest is the caller's to map. */
export async function submit(context: GatewayContext, command: Readonly<Command>): Promise<Settled> {
  const result = await context.pipeline.submit(command);
  switch (result.status) {
    case 'accepted':
    case 'rejected':
      return result;
    case 'overloaded':
      throw new ApiError(503, ErrorCode.Overloaded, 'the exchange is at capacity; retry shortly', {
        'retry-after': String(context.retryAfterSeconds),
      });
    case 'unavailable':
      throw unavailableError(result.phase);
  }
}

/** A path or query account id: digits only (the schema checked), 1 to 4294967295. */
export function parseAccountId(text: string): number {
  const accountId = Number(text);
  if (!Number.isSafeInteger(accountId) || accountId < 1 || accountId > ACCOUNT_ID_MAX) {
    throw badRequest(ErrorCode.ValidationFailed, `accountId must be an integer from 1 to ${ACCOUNT_ID_MAX}`);
  }
  return accountId;
}

/** A path order id: digits only (the schema checked); one beyond the exact range cannot exist. */
export function parseOrderId(text: string): number {
  const orderId = Number(text);
  if (!Number.isSafeInteger(orderId) || orderId < 1) throw new ApiError(404, ErrorCode.OrderNotFound, `order ${text} not found`);
  return orderId;
}

/** An optional small integer from the query, 1 to max. */
export function parseBoundedInteger(text: string | undefined, fallback: number, max: number, name: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw badRequest(ErrorCode.ValidationFailed, `${name} must be an integer from 1 to ${max}`);
  }
  return value;
}
