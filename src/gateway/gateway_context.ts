/**
 * What the route handlers share: the pipeline, the read models, the market set with its print
 * scales, one scratch command, and the mapping from a SubmitResult to API.md's answers.
 */
import type { Command } from '../domain/commands.ts';
import { ACCOUNT_ID_MAX } from '../domain/commands.ts';
import type { MarketSet } from '../domain/markets.ts';
import { RejectCode } from '../domain/reject_codes.ts';
import { SubmitStatus } from '../pipeline/pipeline_handle.ts';
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

/** The 503 of a full inbound ring. */
function overloadedError(context: GatewayContext): ApiError {
  return new ApiError(503, ErrorCode.Overloaded, 'the exchange is at capacity; retry shortly', {
    'retry-after': String(context.retryAfterSeconds),
  });
}

/** A settled command as `submitThen` reports it: rejectCode None = accepted as `seq`. */
export type SettledCallback = (seq: number, rejectCode: RejectCode, duplicateOrderId: number) => void;

/**
 * Submits the command and calls `onSettled` with its outcome, or `onError` with the 503 of an
 * overload or of unavailability (or whatever else failed, for the app's error handler). With a pipeline that offers `submitWith` (the threaded one) this
 * costs no Promise and no result object: the hot route (POST /orders) answers from the callback,
 * which runs as the result reaches the main thread, right after the read models took it in. A
 * handle with `submit` only (test harnesses) is used through its Promise. `onSettled` and `onError`
 * are called at most once in all, never before this returns when the command was queued.
 */
export function submitThen(
  context: GatewayContext,
  command: Readonly<Command>,
  onSettled: SettledCallback,
  onError: (error: Error) => void,
): void {
  const pipeline = context.pipeline;
  if (pipeline.submitWith === undefined) {
    pipeline.submit(command).then(
      (result) => {
        if (result.status === 'accepted') onSettled(result.seq, RejectCode.None, 0);
        else if (result.status === 'rejected') onSettled(0, result.code, result.duplicateOrderId);
        else onError(result.status === 'overloaded' ? overloadedError(context) : unavailableError(result.phase));
      },
      // Whatever else failed goes to the app's error handler, which logs it and answers 500.
      (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
    );
    return;
  }
  const status = pipeline.submitWith(command, (_tag, seq, rejectCode, duplicateOrderId) => onSettled(seq, rejectCode, duplicateOrderId));
  if (status === SubmitStatus.Overloaded) onError(overloadedError(context));
  else if (status === SubmitStatus.Unavailable) onError(unavailableError(pipeline.phase));
}

/** Submits the command; overload and unavailability become 503s, the rest is the caller's to map. */
export async function submit(context: GatewayContext, command: Readonly<Command>): Promise<Settled> {
  const result = await context.pipeline.submit(command);
  switch (result.status) {
    case 'accepted':
    case 'rejected':
      return result;
    case 'overloaded':
      throw overloadedError(context);
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
