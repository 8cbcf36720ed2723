/**
 * Why a command was refused. The sequencer refuses before the log (no seq, nothing reserved);
 * the gateway maps each code to API.md's HTTP status and error code.
 */
export const RejectCode = {
  None: 0,
  InsufficientBalance: 1,
  AccountNotFound: 2,
  OrderNotFound: 3,
  OrderNotOpen: 4,
  AmountTooLarge: 5,
  UnknownMarket: 6,
  UnknownAsset: 7,
  InvalidPrice: 8,
  InvalidQty: 9,
  /** The (accountId, clientOrderId) pair was accepted before: not an error, the gateway answers 200. */
  DuplicateClientOrderId: 10,
  TooManyOpenOrders: 11,
  TooManyAccounts: 12,
  Validation: 13,
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

export interface RejectInfo {
  readonly status: number;
  readonly code: string;
}

export const REJECT_INFO: Readonly<Record<RejectCode, RejectInfo>> = {
  [RejectCode.None]: { status: 200, code: 'OK' },
  [RejectCode.InsufficientBalance]: { status: 422, code: 'INSUFFICIENT_BALANCE' },
  [RejectCode.AccountNotFound]: { status: 404, code: 'ACCOUNT_NOT_FOUND' },
  [RejectCode.OrderNotFound]: { status: 404, code: 'ORDER_NOT_FOUND' },
  [RejectCode.OrderNotOpen]: { status: 409, code: 'ORDER_NOT_OPEN' },
  [RejectCode.AmountTooLarge]: { status: 400, code: 'AMOUNT_TOO_LARGE' },
  [RejectCode.UnknownMarket]: { status: 400, code: 'UNKNOWN_SYMBOL' },
  [RejectCode.UnknownAsset]: { status: 400, code: 'UNKNOWN_ASSET' },
  [RejectCode.InvalidPrice]: { status: 400, code: 'INVALID_PRICE' },
  [RejectCode.InvalidQty]: { status: 400, code: 'INVALID_QTY' },
  [RejectCode.DuplicateClientOrderId]: { status: 200, code: 'DUPLICATE' },
  [RejectCode.TooManyOpenOrders]: { status: 422, code: 'TOO_MANY_OPEN_ORDERS' },
  [RejectCode.TooManyAccounts]: { status: 422, code: 'TOO_MANY_ACCOUNTS' },
  [RejectCode.Validation]: { status: 400, code: 'VALIDATION_FAILED' },
};
