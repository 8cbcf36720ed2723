/**
 * What a restarted server must show through its API, checked against the model and the WAL check:
 *
 * - health: up, and its seq is exactly where the log ends;
 * - in-flight clientOrderId places retried (two copies at once): 200 with the logged orderId when
 *   the order made it into the log, otherwise exactly one new order — never a second one;
 * - orders: every order of this cycle's log and a sample of older ones (all of them when `full`)
 *   is there, is the order that was sent ("whole"), and honours every bound a client was told;
 * - balances: never negative; per asset, the sum over all accounts equals the acknowledged plus
 *   the applied in-flight deposits minus withdrawals (conservation); locked equals what the open
 *   orders reserve (a sell its remaining base, a buy the ceiling of price × remaining);
 * - books: exactly the open orders, aggregated, best first, never crossed.
 */
import { expect } from 'vitest';
import { Prng } from '../../matching/support/prng.ts';
import type { HttpClient, HttpResponse } from './http_client.ts';
import { inParallel, send } from './load.ts';
import type { ExchangeModel, KnownOrder, PlaceOp } from './model.ts';
import { clientKey, sameOrder } from './model.ts';
import type { AssetSymbol } from './units.ts';
import { ASSET_DECIMALS, ASSETS, MARKETS, buyReservationUnits, formatUnits, marketInfo, qtyToBaseUnits, toUnits } from './units.ts';
import type { WalCheck } from './wal_oracle.ts';

export interface VerifyOptions {
  http: HttpClient;
  model: ExchangeModel;
  wal: WalCheck;
  /** Check every known order and retry every clientOrderId (the end of a test). */
  full: boolean;
  seed: number;
  /** Older orders looked up when not `full`. */
  oldOrderSample?: number;
  /** clientOrderId retries of answered orders when not `full`. */
  retrySample?: number;
}

export interface VerifyReport {
  ordersChecked: number;
  inFlightRetried: number;
  retriesOfAnswered: number;
  accounts: number;
  openOrders: number;
  totals: Record<AssetSymbol, string>;
}

const PARALLEL = 16;

async function must(http: HttpClient, path: string): Promise<HttpResponse> {
  const response = await http.get(path);
  if (response.status >= 500) throw new Error(`GET ${path} answered ${response.status}: ${response.text}`);
  return response;
}

function pick<T>(prng: Prng, items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(prng.int(0, items.length - 1));
  return [...chosen].map((index) => items[index]!);
}

export async function verifyServer(options: VerifyOptions): Promise<VerifyReport> {
  const { http, model, wal } = options;
  const prng = new Prng(options.seed);
  const health = await must(http, '/health');
  expect(health.status, `health after restart: ${health.text}`).toBe(200);
  if (health.json.seq !== wal.lastSeq || health.json.durableSeq !== wal.lastSeq) {
    model.violation(`restarted at seq ${health.json.seq} (durable ${health.json.durableSeq}), the WAL ends at ${wal.lastSeq}`);
  }
  const inFlightRetried = await retryInFlight(http, model, wal);
  const ordersChecked = await checkOrders(options, prng);
  const retriesOfAnswered = await retryAnswered(options, prng);
  const { accounts, openOrders, totals } = await checkBalancesAndBooks(http, model);
  return { ordersChecked, inFlightRetried, retriesOfAnswered, accounts, openOrders, totals };
}

/** Every in-flight place with a clientOrderId, retried as two identical requests at once. */
async function retryInFlight(http: HttpClient, model: ExchangeModel, wal: WalCheck): Promise<number> {
  const byKey = new Map<string, PlaceOp>();
  for (const op of model.cycle.inFlight) {
    if (op.kind === 'place' && op.body.clientOrderId !== undefined) byKey.set(clientKey(op.body.accountId, op.body.clientOrderId), op);
  }
  await inParallel([...byKey], PARALLEL / 2, async ([key, op]) => {
    const logged = wal.keyToSeq.get(key);
    const copies = [0, 1].map(() => ({ kind: 'place' as const, serial: model.nextSerial(), body: op.body }));
    const responses = await Promise.all(copies.map((copy) => send(http, model, copy)));
    const statuses = responses.map((response) => response?.status);
    if (responses.some((response) => response === null)) throw new Error(`retry of ${key} got no answer from a running server`);
    const orderIds = new Set(responses.filter((r) => r!.status < 300).map((r) => r!.json.orderId as string));
    if (orderIds.size > 1) model.violation(`DOUBLE PLACE on retry of ${key}: orderIds ${[...orderIds].join(', ')}`);
    if (logged !== undefined) {
      if (!statuses.every((status) => status === 200) || !orderIds.has(String(logged))) {
        model.violation(`retry of ${key}, logged as ${logged}, answered ${statuses.join('/')} ${[...orderIds].join(',')}`);
      }
    } else if (statuses.filter((status) => status === 201).length > 1) {
      model.violation(`retry of ${key} (not logged) created ${statuses.filter((status) => status === 201).length} orders`);
    }
  });
  return byKey.size;
}

async function checkOrders(options: VerifyOptions, prng: Prng): Promise<number> {
  const { http, model, wal } = options;
  const fresh = new Set<number>(wal.newPlaceSeqs);
  // Orders placed by the retries just now.
  for (const order of model.orders.values()) if (order.orderId > wal.lastSeq) fresh.add(order.orderId);
  let targets: KnownOrder[];
  if (options.full) targets = [...model.orders.values()];
  else {
    const older = [...model.orders.values()].filter((order) => !fresh.has(order.orderId));
    targets = [...fresh].map((orderId) => model.orders.get(orderId)).filter((order): order is KnownOrder => order !== undefined);
    targets.push(...pick(prng, older, options.oldOrderSample ?? 300));
  }
  await inParallel(targets, PARALLEL, async (order) => {
    const response = await must(http, `/orders/${order.orderId}`);
    if (response.status !== 200) {
      model.violation(`LOST: order ${order.orderId} (${order.told ? 'acknowledged' : 'in the WAL'}) answers ${response.status} ${response.text}`);
      return;
    }
    if (!sameOrder(order.body, response.json) || response.json.orderId !== String(order.orderId)) {
      model.violation(`order ${order.orderId} is not whole: ${response.text} vs sent ${JSON.stringify(order.body)}`);
    }
    model.observe(order, response.json, true, 'after restart');
  });
  return targets.length;
}

/** clientOrderId retries of orders clients were already answered for: 200, same orderId. */
async function retryAnswered(options: VerifyOptions, prng: Prng): Promise<number> {
  const { http, model } = options;
  const all = [...model.orders.values()].filter((order) => order.body.clientOrderId !== undefined);
  const targets = options.full ? all : pick(prng, all, options.retrySample ?? 100);
  await inParallel(targets, PARALLEL, async (order) => {
    const response = await send(http, model, { kind: 'place', serial: model.nextSerial(), body: order.body });
    if (response === null) throw new Error(`retry of order ${order.orderId} got no answer from a running server`);
    if (response.status !== 200 || response.json.orderId !== String(order.orderId)) {
      model.violation(`retry of order ${order.orderId} (${order.body.clientOrderId}) answered ${response.status} ${response.text}`);
    }
  });
  return targets.length;
}

type Levels = Map<string, bigint>;

async function checkBalancesAndBooks(
  http: HttpClient,
  model: ExchangeModel,
): Promise<{ accounts: number; openOrders: number; totals: Record<AssetSymbol, string> }> {
  const totals: Record<AssetSymbol, bigint> = { BTC: 0n, ETH: 0n, USDT: 0n };
  const levels = new Map<string, Levels>(); // `${symbol}:${side}` → price → qty units
  const funded = new Set([...model.funding.values()].map((record) => record.accountId));
  let accounts = 0;
  let openOrders = 0;
  await inParallel(model.accounts, PARALLEL / 2, async (accountId) => {
    const balances = await must(http, `/accounts/${accountId}/balances`);
    if (balances.status === 404) {
      if (funded.has(accountId)) model.violation(`LOST: account ${accountId} was funded but answers 404`);
      return;
    }
    accounts += 1;
    const locked: Record<AssetSymbol, bigint> = { BTC: 0n, ETH: 0n, USDT: 0n };
    const held = {} as Record<AssetSymbol, { available: bigint; locked: bigint }>;
    for (const asset of ASSETS) {
      const entry = balances.json.balances?.[asset];
      if (typeof entry?.available !== 'string' || typeof entry?.locked !== 'string' || entry.available.startsWith('-') || entry.locked.startsWith('-')) {
        model.violation(`account ${accountId} ${asset}: bad or negative balance ${JSON.stringify(entry)}`);
        return;
      }
      held[asset] = { available: toUnits(entry.available, ASSET_DECIMALS[asset]), locked: toUnits(entry.locked, ASSET_DECIMALS[asset]) };
      totals[asset] += held[asset].available + held[asset].locked;
    }
    const open = await must(http, `/accounts/${accountId}/orders?status=open`);
    if (open.status !== 200) {
      model.violation(`open orders of ${accountId} answered ${open.status}`);
      return;
    }
    for (const view of open.json.orders as any[]) {
      openOrders += 1;
      const orderId = Number(view.orderId);
      const order = model.orders.get(orderId);
      if (order === undefined) {
        model.violation(`INVENTED: open order ${view.orderId} of ${accountId} is unknown to every client and the WAL`);
        continue;
      }
      if (!sameOrder(order.body, view)) model.violation(`open order ${orderId} is not whole: ${JSON.stringify(view)}`);
      if (view.status !== 'new' && view.status !== 'partially_filled') model.violation(`open order ${orderId} listed as ${view.status}`);
      model.observe(order, view, true, 'open orders');
      const market = marketInfo(view.symbol);
      if (view.side === 'sell') locked[market.base] += qtyToBaseUnits(market, view.remainingQty);
      else locked[market.quote] += buyReservationUnits(market, view.price, view.remainingQty);
      const key = `${view.symbol}:${view.side}`;
      const side = levels.get(key) ?? new Map<string, bigint>();
      levels.set(key, side);
      const price = formatUnits(toUnits(view.price, market.priceDecimals), market.priceDecimals);
      side.set(price, (side.get(price) ?? 0n) + toUnits(view.remainingQty, market.qtyDecimals));
    }
    for (const asset of ASSETS) {
      if (held[asset].locked !== locked[asset]) {
        model.violation(`account ${accountId} ${asset}: locked ${held[asset].locked} units, its open orders reserve ${locked[asset]}`);
      }
    }
  });
  const net = model.fundingNet();
  for (const asset of ASSETS) {
    if (totals[asset] !== net[asset]) {
      model.violation(`CONSERVATION ${asset}: balances sum to ${totals[asset]} units, deposits - withdrawals (acknowledged + applied in flight) = ${net[asset]}`);
    }
  }
  for (const market of MARKETS) await checkBook(http, model, market.symbol, levels);
  const printed = Object.fromEntries(ASSETS.map((asset) => [asset, formatUnits(totals[asset], ASSET_DECIMALS[asset])])) as Record<AssetSymbol, string>;
  return { accounts, openOrders, totals: printed };
}

async function checkBook(http: HttpClient, model: ExchangeModel, symbol: string, levels: Map<string, Levels>): Promise<void> {
  const market = marketInfo(symbol);
  const book = await must(http, `/books/${symbol}?depth=100000`);
  if (book.status !== 200) {
    model.violation(`book ${symbol} answered ${book.status}`);
    return;
  }
  for (const side of ['bids', 'asks'] as const) {
    const rows = book.json[side] as [string, string][];
    const expected = levels.get(`${symbol}:${side === 'bids' ? 'buy' : 'sell'}`) ?? new Map<string, bigint>();
    let previous: bigint | null = null;
    for (const [price, qty] of rows) {
      const priceUnits = toUnits(price, market.priceDecimals);
      if (previous !== null && (side === 'bids' ? priceUnits >= previous : priceUnits <= previous)) {
        model.violation(`book ${symbol} ${side} out of order at ${price}`);
      }
      previous = priceUnits;
      const want = expected.get(formatUnits(priceUnits, market.priceDecimals));
      if (want !== toUnits(qty, market.qtyDecimals)) model.violation(`book ${symbol} ${side} ${price}: ${qty}, open orders there: ${want ?? 0n} units`);
    }
    if (rows.length !== expected.size) model.violation(`book ${symbol} ${side}: ${rows.length} levels, open orders make ${expected.size}`);
  }
  const bestBid = book.json.bids[0]?.[0];
  const bestAsk = book.json.asks[0]?.[0];
  if (bestBid !== undefined && bestAsk !== undefined && toUnits(bestBid, market.priceDecimals) >= toUnits(bestAsk, market.priceDecimals)) {
    model.violation(`CROSSED book ${symbol}: best bid ${bestBid} >= best ask ${bestAsk}`);
  }
}
