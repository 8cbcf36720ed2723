/**
 * The clients' side of the story: every request the crash tests send and what became of it.
 *
 * An answer (2xx) is an acknowledgement the server must honour forever; a 4xx or a 503 means the
 * command was not applied; no answer at all (the connection died with the server) leaves the
 * outcome unknown, to be learned after the restart from the WAL and the API. Observations give
 * lower bounds: an order's filledQty never goes back below what a client was told, a terminal
 * status told to a client never changes. Anything that contradicts the history is recorded as a
 * violation (with enough detail to reproduce), and the tests assert that there are none.
 */
import type { AssetSymbol, MarketSymbol } from './units.ts';
import { ASSET_DECIMALS, marketInfo, toUnits } from './units.ts';
import type { HttpResponse } from './http_client.ts';

export interface PlaceBody {
  accountId: number;
  symbol: MarketSymbol;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  price?: string;
  qty?: string;
  quoteQty?: string;
  timeInForce?: 'GTC' | 'IOC' | 'FOK';
  postOnly?: boolean;
  clientOrderId?: string;
}

export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'expired' | 'cancelled';
const TERMINAL: ReadonlySet<string> = new Set(['filled', 'expired', 'cancelled']);
const STATUSES: ReadonlySet<string> = new Set(['new', 'partially_filled', 'filled', 'expired', 'cancelled']);

export type Op =
  | { kind: 'place'; serial: number; body: PlaceBody }
  | { kind: 'cancel'; serial: number; accountId: number; orderId: number }
  | { kind: 'deposit' | 'withdraw'; serial: number; accountId: number; asset: AssetSymbol; amount: string }
  | { kind: 'read'; serial: number; path: string };

/** When a request was sent and when its answer came back (performance.now()). */
export interface Timing {
  sentAt: number;
  receivedAt: number;
}

export type FundingOp = Extract<Op, { kind: 'deposit' | 'withdraw' }>;
export type CancelOp = Extract<Op, { kind: 'cancel' }>;
export type PlaceOp = Extract<Op, { kind: 'place' }>;

export interface KnownOrder {
  orderId: number;
  accountId: number;
  body: PlaceBody;
  /** A client was told the order exists (201, or 200 to a retry): it must exist forever. */
  told: boolean;
  /**
   * Lower bound of filledQty (quantity units of the market) and when the answer that set it came
   * back: it binds every request sent after that moment (requests that overlap it may see less).
   */
  bound: Bound;
  /** The same, only from observations that cannot reflect commands after the latest acknowledged one. */
  boundStrict: Bound;
  /** A terminal status a client was told, filledQty with it, and when. */
  terminal: { status: OrderStatus; filled: bigint; strict: boolean; at: number } | null;
  /** A cancel was sent for it (answered or not): only then may it show up cancelled. */
  cancelRequested: boolean;
  /** Last status seen, for choosing cancel targets. */
  lastStatus: OrderStatus;
  /** Seen resting (new or partially filled) at least once. */
  everOpen: boolean;
}

export interface Bound {
  filled: bigint;
  /** performance.now() when the answer arrived. */
  at: number;
}

/** A fresh order's bounds. */
export function noBounds(): Pick<KnownOrder, 'bound' | 'boundStrict' | 'terminal'> {
  return { bound: { filled: 0n, at: 0 }, boundStrict: { filled: 0n, at: 0 }, terminal: null };
}

export interface FundingRecord {
  seq: number;
  type: 'deposit' | 'withdraw';
  accountId: number;
  asset: AssetSymbol;
  amountUnits: bigint;
  /** Acknowledged (200), or learned after a crash from the WAL (an in-flight request that made it). */
  acked: boolean;
}

export interface CycleHistory {
  /** Requests without an answer: in flight when the server died. */
  inFlight: Op[];
  /** Every cancel sent this cycle with what came back (a 409 may still have been sequenced). */
  cancels: { op: CancelOp; outcome: 'cancelled' | 'not-open' | 'unknown' | 'refused' }[];
}

export interface ModelStats {
  requests: number;
  acked: number;
  refused: number;
  unknown: number;
  placesAcked: number;
  retriesAnswered200: number;
  cancelsAcked: number;
  fundingAcked: number;
  unavailable503: number;
}

/** Statuses a load request may legitimately get besides 2xx. */
const REFUSALS: Readonly<Record<string, readonly string[]>> = {
  place: ['404:ACCOUNT_NOT_FOUND', '422:INSUFFICIENT_BALANCE', '503:OVERLOADED', '503:SHUTTING_DOWN'],
  cancel: ['409:ORDER_NOT_OPEN', '503:OVERLOADED', '503:SHUTTING_DOWN'],
  deposit: ['503:OVERLOADED', '503:SHUTTING_DOWN'],
  withdraw: ['404:ACCOUNT_NOT_FOUND', '422:INSUFFICIENT_BALANCE', '503:OVERLOADED', '503:SHUTTING_DOWN'],
  read: ['404:ACCOUNT_NOT_FOUND', '404:ORDER_NOT_FOUND', '503:SHUTTING_DOWN'],
};

/** The orderId of a `/orders/{id}` path, or 0. */
function orderIdOfPath(path: string): number {
  const match = /^\/orders\/(\d+)$/.exec(path);
  return match === null ? 0 : Number(match[1]);
}

export function clientKey(accountId: number, clientOrderId: string): string {
  return `${accountId}:${clientOrderId}`;
}

function describe(op: Op): string {
  return JSON.stringify(op);
}

export class ExchangeModel {
  readonly orders = new Map<number, KnownOrder>();
  /** (account, clientOrderId) → the one orderId every answer must carry. */
  readonly clientKeys = new Map<string, number>();
  readonly funding = new Map<number, FundingRecord>();
  readonly violations: string[] = [];
  readonly stats: ModelStats = {
    requests: 0, acked: 0, refused: 0, unknown: 0, placesAcked: 0, retriesAnswered200: 0, cancelsAcked: 0, fundingAcked: 0, unavailable503: 0,
  };
  cycle: CycleHistory = { inFlight: [], cancels: [] };
  /** Largest seq a client was told about (places, funding). */
  maxAckedSeq = 0;
  /**
   * Which observations bound later ones: 'all', or only 'strict' ones when a test cuts the
   * unacknowledged tail of the log (a live view may reflect commands from that tail).
   */
  boundsFrom: 'all' | 'strict' = 'all';
  /** Per account: orders last seen resting with no cancel sent yet (cancel targets). */
  readonly openByAccount = new Map<number, Set<number>>();
  /** The latest orderIds told to clients (read targets), bounded. */
  readonly recentOrderIds: number[] = [];
  private serial = 0;

  constructor(readonly accounts: readonly number[]) {}

  nextSerial(): number {
    this.serial += 1;
    return this.serial;
  }

  beginCycle(): void {
    this.cycle = { inFlight: [], cancels: [] };
  }

  violation(message: string): void {
    if (this.violations.length < 200) this.violations.push(message);
  }

  /** Net acknowledged-or-applied funding per asset: what the balances must sum to. */
  fundingNet(): Record<AssetSymbol, bigint> {
    const net: Record<AssetSymbol, bigint> = { BTC: 0n, ETH: 0n, USDT: 0n };
    for (const record of this.funding.values()) net[record.asset] += record.type === 'deposit' ? record.amountUnits : -record.amountUnits;
    return net;
  }

  /** The request is about to be sent; returns the moment, for `settle`. */
  begin(op: Op): number {
    // A cancel may take effect before its answer comes back: from now on "cancelled" is allowed.
    if (op.kind === 'cancel') this.markCancelRequested(op.orderId);
    return performance.now();
  }

  /** The request got no answer: outcome unknown. */
  lost(op: Op): void {
    this.stats.requests += 1;
    this.stats.unknown += 1;
    if (op.kind === 'read') return;
    this.cycle.inFlight.push(op);
    if (op.kind === 'cancel') {
      this.cycle.cancels.push({ op, outcome: 'unknown' });
      this.markCancelRequested(op.orderId);
    }
  }

  private markCancelRequested(orderId: number): void {
    const order = this.orders.get(orderId);
    if (order === undefined) return;
    order.cancelRequested = true;
    this.openByAccount.get(order.accountId)?.delete(orderId);
  }

  /** The request got an answer: check it against the history and learn from it. */
  settle(op: Op, response: HttpResponse, sentAt: number): void {
    this.stats.requests += 1;
    const { status } = response;
    if (status >= 200 && status < 300) {
      this.stats.acked += 1;
      this.acknowledged(op, response, { sentAt, receivedAt: performance.now() });
      return;
    }
    this.stats.refused += 1;
    if (status === 503) this.stats.unavailable503 += 1;
    const code = response.json?.error?.code;
    if (op.kind === 'cancel') {
      this.cycle.cancels.push({ op, outcome: status === 409 ? 'not-open' : 'refused' });
      this.markCancelRequested(op.orderId);
      const order = this.orders.get(op.orderId);
      if (status === 404 && order !== undefined && order.accountId === op.accountId) {
        this.violation(`cancel of known order ${op.orderId} of account ${op.accountId} answered 404: ${response.text}`);
      }
    }
    if (op.kind === 'read' && status === 404 && this.orders.get(orderIdOfPath(op.path))?.told === true) {
      this.violation(`LOST: order ${orderIdOfPath(op.path)} was acknowledged but GET answers 404`);
    }
    if (!(REFUSALS[op.kind] ?? []).includes(`${status}:${code}`)) {
      this.violation(`unexpected answer ${status} ${response.text.slice(0, 300)} to ${describe(op)}`);
    }
  }

  private acknowledged(op: Op, response: HttpResponse, timing: Timing): void {
    switch (op.kind) {
      case 'place':
        this.placeAnswered(op, response, timing);
        break;
      case 'cancel':
        this.cancelAnswered(op, response, timing);
        break;
      case 'deposit':
      case 'withdraw':
        this.fundingAnswered(op, response);
        break;
      case 'read': {
        if (response.status !== 200) this.violation(`read ${op.path} answered ${response.status}`);
        const order = this.orders.get(orderIdOfPath(op.path));
        if (order !== undefined) this.observe(order, response.json, false, 'read', timing);
        break;
      }
    }
  }

  private placeAnswered(op: PlaceOp, response: HttpResponse, timing: Timing): void {
    const body = response.json;
    const orderId = Number(body?.orderId);
    if (!Number.isSafeInteger(orderId) || orderId < 1 || body?.seq !== orderId) {
      this.violation(`place answered ${response.status} without a proper orderId/seq: ${response.text} to ${describe(op)}`);
      return;
    }
    const cid = op.body.clientOrderId;
    if (response.status === 201) this.stats.placesAcked += 1;
    else if (response.status === 200) {
      this.stats.retriesAnswered200 += 1;
      if (cid === undefined) {
        this.violation(`place without clientOrderId answered 200 (a duplicate?): ${response.text} to ${describe(op)}`);
        return;
      }
    } else {
      this.violation(`place answered ${response.status}: ${response.text}`);
      return;
    }
    if (cid !== undefined) {
      const key = clientKey(op.body.accountId, cid);
      const earlier = this.clientKeys.get(key);
      if (earlier !== undefined && earlier !== orderId) {
        this.violation(`DOUBLE PLACE: (account ${op.body.accountId}, clientOrderId ${cid}) answered orderId ${orderId}, earlier ${earlier}`);
        return;
      }
      this.clientKeys.set(key, orderId);
    }
    let order = this.orders.get(orderId);
    if (order !== undefined && (order.accountId !== op.body.accountId || (response.status === 201 && order.told && cid === undefined))) {
      this.violation(`orderId ${orderId} answered twice as new: ${response.text} to ${describe(op)} (known ${JSON.stringify(order.body)})`);
      return;
    }
    if (order === undefined) {
      order = {
        orderId, accountId: op.body.accountId, body: op.body, told: true, ...noBounds(), cancelRequested: false, lastStatus: 'new', everOpen: false,
      };
      this.orders.set(orderId, order);
      if (this.recentOrderIds.length >= 256) this.recentOrderIds.shift();
      this.recentOrderIds.push(orderId);
    }
    order.told = true;
    this.maxAckedSeq = Math.max(this.maxAckedSeq, orderId);
    if (!sameOrder(op.body, body)) this.violation(`answer does not describe the order placed: ${response.text} to ${describe(op)}`);
    // A 201 is the state as of placement; a 200 is the current state, which may already reflect
    // commands whose own answers are still on their way.
    this.observe(order, body, response.status === 201, response.status === 201 ? 'placement' : 'retry', timing);
  }

  private cancelAnswered(op: CancelOp, response: HttpResponse, timing: Timing): void {
    this.cycle.cancels.push({ op, outcome: 'cancelled' });
    this.stats.cancelsAcked += 1;
    const order = this.orders.get(op.orderId);
    if (order === undefined) {
      this.violation(`cancel of unknown order ${op.orderId} answered ${response.status}`);
      return;
    }
    this.markCancelRequested(op.orderId);
    if (response.json?.status !== 'cancelled' || Number(response.json?.orderId) !== op.orderId) {
      this.violation(`cancel answered 200 without status cancelled: ${response.text}`);
      return;
    }
    this.observe(order, response.json, true, 'cancel', timing);
  }

  private fundingAnswered(op: FundingOp, response: HttpResponse): void {
    const body = response.json;
    const seq = body?.seq;
    if (!Number.isSafeInteger(seq) || seq < 1 || body?.accountId !== op.accountId || body?.asset !== op.asset) {
      this.violation(`${op.kind} answered without a proper body: ${response.text} to ${describe(op)}`);
      return;
    }
    if (this.funding.has(seq)) {
      this.violation(`seq ${seq} acknowledged twice (${op.kind}): ${response.text}`);
      return;
    }
    const decimals = ASSET_DECIMALS[op.asset];
    for (const field of ['available', 'locked']) {
      if (typeof body[field] !== 'string' || body[field].startsWith('-')) this.violation(`${op.kind} answered a bad ${field}: ${response.text}`);
    }
    this.funding.set(seq, {
      seq, type: op.kind, accountId: op.accountId, asset: op.asset, amountUnits: toUnits(op.amount, decimals), acked: true,
    });
    this.stats.fundingAcked += 1;
    this.maxAckedSeq = Math.max(this.maxAckedSeq, seq);
  }

  /**
   * Checks an order view against what clients were told and tightens the bounds.
   *
   * `strict`: the view cannot reflect any command after the latest acknowledged one (201 bodies,
   * cancels, reads after a restart), so it stays a valid bound even when the unacknowledged tail of
   * the log is cut. A bound binds only requests sent after the answer that set it arrived. A 201
   * shows the state as of placement, the earliest there is: it is never held against bounds.
   */
  observe(order: KnownOrder, view: any, strict: boolean, source: string, timing: Timing = { sentAt: performance.now(), receivedAt: performance.now() }): void {
    const market = marketInfo(order.body.symbol);
    const where = `order ${order.orderId} (${source})`;
    if (!STATUSES.has(view?.status) || typeof view?.filledQty !== 'string' || typeof view?.remainingQty !== 'string') {
      this.violation(`${where}: malformed view ${JSON.stringify(view)}`);
      return;
    }
    const status = view.status as OrderStatus;
    const filled = toUnits(view.filledQty, market.qtyDecimals);
    const remaining = toUnits(view.remainingQty, market.qtyDecimals);
    const placement = source === 'placement';
    const strictBounds = this.boundsFrom === 'strict';
    const bound = strictBounds ? order.boundStrict : order.bound;
    if (!placement && timing.sentAt > bound.at && filled < bound.filled) {
      this.violation(`${where}: filledQty ${view.filledQty} below the ${bound.filled} units a client was told`);
    }
    const terminal = order.terminal;
    if (!placement && terminal !== null && timing.sentAt > terminal.at && (!strictBounds || terminal.strict)) {
      if (status !== terminal.status || filled !== terminal.filled) {
        this.violation(`${where}: was told ${terminal.status} with ${terminal.filled} filled, now ${status} with ${view.filledQty}`);
      }
    }
    if (status === 'cancelled' && !order.cancelRequested) this.violation(`${where}: cancelled although no cancel was ever sent`);
    this.checkShape(order, view, status, filled, remaining, where, placement);
    if (filled > order.bound.filled) order.bound = { filled, at: timing.receivedAt };
    if (strict && filled > order.boundStrict.filled) order.boundStrict = { filled, at: timing.receivedAt };
    if (strict && terminal !== null && !terminal.strict) {
      // A bound from a live view may have been undone by cutting the unacknowledged tail: the
      // strict view replaces it.
      order.terminal = TERMINAL.has(status) ? { status, filled, strict, at: timing.receivedAt } : null;
    } else if (TERMINAL.has(status) && terminal === null) {
      order.terminal = { status, filled, strict, at: timing.receivedAt };
    }
    if (status === 'new' || status === 'partially_filled') order.everOpen = true;
    order.lastStatus = status;
    let open = this.openByAccount.get(order.accountId);
    if (open === undefined) {
      open = new Set();
      this.openByAccount.set(order.accountId, open);
    }
    if (TERMINAL.has(status) || order.cancelRequested) open.delete(order.orderId);
    else open.add(order.orderId);
  }

  /** What any single view of the order must satisfy on its own. */
  private checkShape(order: KnownOrder, view: any, status: OrderStatus, filled: bigint, remaining: bigint, where: string, placement: boolean): void {
    const body = order.body;
    const market = marketInfo(body.symbol);
    const timeInForce = body.type === 'market' ? 'IOC' : (body.timeInForce ?? 'GTC');
    if (status === 'expired' && timeInForce === 'GTC' && order.everOpen) this.violation(`${where}: a resting GTC order expired`);
    if (timeInForce !== 'GTC' && (status === 'new' || status === 'partially_filled')) {
      this.violation(`${where}: a ${timeInForce} order is ${status} (must never rest)`);
    }
    if (timeInForce === 'FOK' && status === 'expired' && filled !== 0n) this.violation(`${where}: FOK expired with a fill`);
    if (body.postOnly === true && filled !== 0n && placement) this.violation(`${where}: postOnly took liquidity`);
    if (body.qty !== undefined) {
      const qty = toUnits(body.qty, market.qtyDecimals);
      if (filled + remaining !== qty) this.violation(`${where}: filled ${view.filledQty} + remaining ${view.remainingQty} != qty ${body.qty}`);
      if (status === 'filled' && filled !== qty) this.violation(`${where}: filled but filledQty ${view.filledQty} != qty ${body.qty}`);
      if (status === 'new' && filled !== 0n) this.violation(`${where}: new with a fill`);
      if (status === 'partially_filled' && (filled === 0n || remaining === 0n)) this.violation(`${where}: partially_filled with ${view.filledQty}/${view.remainingQty}`);
    } else if (remaining !== 0n) {
      this.violation(`${where}: market buy with remainingQty ${view.remainingQty}`);
    }
  }
}

/** True when an order view (201, 200, GET) describes the order `body` asked for. */
export function sameOrder(body: PlaceBody, view: any): boolean {
  const market = marketInfo(body.symbol);
  if (view?.accountId !== body.accountId || view?.symbol !== body.symbol || view?.side !== body.side || view?.type !== body.type) return false;
  const timeInForce = body.type === 'market' ? 'IOC' : (body.timeInForce ?? 'GTC');
  if (view.timeInForce !== timeInForce) return false;
  if ((view.clientOrderId ?? undefined) !== body.clientOrderId) return false;
  const same = (a: string | undefined, b: unknown, decimals: number): boolean => {
    if (a === undefined) return b === undefined;
    return typeof b === 'string' && toUnits(a, decimals) === toUnits(b, decimals);
  };
  if (!same(body.price, view.price, market.priceDecimals)) return false;
  if (!same(body.qty, view.qty, market.qtyDecimals)) return false;
  return same(body.quoteQty, view.quoteQty, ASSET_DECIMALS[market.quote]);
}
