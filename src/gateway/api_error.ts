/**
 * The gateway's one error type and the error codes of API.md. Handlers throw an ApiError; the
 * app's single error handler turns it (and every framework error) into
 * `{"error":{"code","message"}}` with the right status.
 */
import type { RejectCode } from '../domain/reject_codes.ts';
import { REJECT_INFO } from '../domain/reject_codes.ts';

export const ErrorCode = {
  ValidationFailed: 'VALIDATION_FAILED',
  UnknownSymbol: 'UNKNOWN_SYMBOL',
  UnknownAsset: 'UNKNOWN_ASSET',
  InvalidPrice: 'INVALID_PRICE',
  InvalidQty: 'INVALID_QTY',
  AmountTooLarge: 'AMOUNT_TOO_LARGE',
  Unauthorized: 'UNAUTHORIZED',
  AccountNotFound: 'ACCOUNT_NOT_FOUND',
  OrderNotFound: 'ORDER_NOT_FOUND',
  OrderNotOpen: 'ORDER_NOT_OPEN',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  InsufficientBalance: 'INSUFFICIENT_BALANCE',
  Overloaded: 'OVERLOADED',
  ShuttingDown: 'SHUTTING_DOWN',
  Recovering: 'RECOVERING',
  /** Not in API.md's table: a path that no route serves, or a method a path does not allow. */
  NotFound: 'NOT_FOUND',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.headers = headers;
  }
}

export function badRequest(code: ErrorCode, message: string): ApiError {
  return new ApiError(400, code, message);
}

const REJECT_MESSAGES: Readonly<Record<string, string>> = {
  INSUFFICIENT_BALANCE: 'insufficient available balance',
  ACCOUNT_NOT_FOUND: 'account not found (an account exists from its first deposit)',
  ORDER_NOT_FOUND: 'order not found',
  ORDER_NOT_OPEN: 'order is not open (already filled, expired or cancelled)',
  AMOUNT_TOO_LARGE: 'amount too large for exact arithmetic',
  UNKNOWN_SYMBOL: 'unknown symbol',
  UNKNOWN_ASSET: 'unknown asset',
  INVALID_PRICE: 'invalid price',
  INVALID_QTY: 'invalid quantity',
  TOO_MANY_OPEN_ORDERS: 'the exchange holds its maximum number of open orders',
  TOO_MANY_ACCOUNTS: 'the exchange holds its maximum number of accounts',
  VALIDATION_FAILED: 'request failed validation',
};

/** The error for a command the sequencer refused (never DuplicateClientOrderId: that is a 200). */
export function rejectError(code: RejectCode): ApiError {
  const info = REJECT_INFO[code];
  return new ApiError(info.status, info.code, REJECT_MESSAGES[info.code] ?? info.code.toLowerCase());
}
