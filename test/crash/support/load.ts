/**
 * Seeded HTTP load for the crash tests: `clients` virtual clients, each on its own keep-alive
 * connection, each a loop of one request at a time (a real client's pace): limit orders
 * (GTC/IOC/FOK, post-only) and market orders on both markets, with and without clientOrderId,
 * idempotent retries (also several copies at once), cancels of their own open orders, deposits,
 * withdrawals and reads. Every request goes through the model before and after.
 *
 * A client stops when `stop.stopped` is set or when its connection fails (the server died): a
 * request without an answer is recorded as in flight, its outcome unknown.
 */
import { Prng } from '../../matching/support/prng.ts';
import type { HttpClient, HttpResponse } from './http_client.ts';
import { HttpConnectionError } from './http_client.ts';
import type { ExchangeModel, FundingOp, Op, PlaceBody } from './model.ts';
import type { AssetSymbol, MarketInfo } from './units.ts';
import { ASSET_DECIMALS, ASSETS, MARKETS, formatSteps, formatTicks, formatUnits } from './units.ts';

export interface LoadMix {
  limit: number;
  market: number;
  cancel: number;
  /** Re-send an earlier place with a clientOrderId, unchanged. */
  retry: number;
  deposit: number;
  withdraw: number;
  read: number;
  /** Share of places that carry a clientOrderId. */
  clientOrderIdShare: number;
  /** Share of places with a clientOrderId sent as 2-3 identical copies at once. */
  duplicateShare: number;
}

export const DEFAULT_MIX: LoadMix = {
  limit: 45, market: 8, cancel: 18, retry: 5, deposit: 6, withdraw: 6, read: 12, clientOrderIdShare: 0.6, duplicateShare: 0.05,
};

export interface StopFlag {
  stopped: boolean;
}

export interface LoadOptions {
  http: HttpClient;
  model: ExchangeModel;
  seed: number;
  clients: number;
  mix?: LoadMix;
  stop: StopFlag;
  /** Prefix making clientOrderIds unique across the whole test. */
  tag: string;
}

/** Initial balances of every account. */
export const FUNDING: Readonly<Record<AssetSymbol, string>> = { BTC: '4.00000000', ETH: '60.00000000', USDT: '300000.000000' };

/** Sends one request through the model; false when the connection failed (the server is gone). */
export async function send(http: HttpClient, model: ExchangeModel, op: Op): Promise<HttpResponse | null> {
  let response: HttpResponse;
  const sentAt = model.begin(op);
  try {
    response = await http.request(...requestOf(op));
  } catch (error) {
    if (!(error instanceof HttpConnectionError)) throw error;
    model.lost(op);
    return null;
  }
  model.settle(op, response, sentAt);
  return response;
}

export function requestOf(op: Op): [string, string, { body?: unknown }] {
  switch (op.kind) {
    case 'place':
      return ['POST', '/orders', { body: op.body }];
    case 'cancel':
      return ['DELETE', `/orders/${op.orderId}?accountId=${op.accountId}`, {}];
    case 'deposit':
      return ['POST', `/accounts/${op.accountId}/deposits`, { body: { asset: op.asset, amount: op.amount } }];
    case 'withdraw':
      return ['POST', `/accounts/${op.accountId}/withdrawals`, { body: { asset: op.asset, amount: op.amount } }];
    case 'read':
      return ['GET', op.path, {}];
  }
}

/** Deposits FUNDING into every account, a few at a time; the outcomes are in the model. */
export async function fundAccounts(http: HttpClient, model: ExchangeModel, accounts: readonly number[], parallel = 16): Promise<void> {
  const ops: FundingOp[] = [];
  for (const accountId of accounts) {
    for (const asset of ASSETS) ops.push({ kind: 'deposit', serial: model.nextSerial(), accountId, asset, amount: FUNDING[asset] });
  }
  await inParallel(ops, parallel, async (op) => {
    await send(http, model, op);
  });
}

export async function inParallel<T>(items: readonly T[], parallel: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

/** Runs the load until stopped or until every client lost its connection. */
export async function runLoad(options: LoadOptions): Promise<void> {
  const mix = options.mix ?? DEFAULT_MIX;
  const accounts = options.model.accounts;
  const clients = Array.from({ length: options.clients }, (_, index) => {
    const own = accounts.filter((_, accountIndex) => accountIndex % options.clients === index % accounts.length);
    return new VirtualClient(options, mix, index, own.length > 0 ? own : [accounts[index % accounts.length]!]);
  });
  await Promise.all(clients.map((client) => client.run()));
}

class VirtualClient {
  private readonly prng: Prng;
  private counter = 0;
  /** Earlier places with a clientOrderId, for retries (bounded). */
  private readonly sentWithClientOrderId: PlaceBody[] = [];

  constructor(
    private readonly options: LoadOptions,
    private readonly mix: LoadMix,
    private readonly index: number,
    private readonly accounts: readonly number[],
  ) {
    this.prng = new Prng((options.seed * 7919 + index * 104_729) >>> 0);
  }

  async run(): Promise<void> {
    const { stop } = this.options;
    while (!stop.stopped) {
      const ops = this.nextOps();
      const results = await Promise.all(ops.map((op) => send(this.options.http, this.options.model, op)));
      if (results.some((result) => result === null)) return;
    }
  }

  private nextOps(): Op[] {
    const mix = this.mix;
    const total = mix.limit + mix.market + mix.cancel + mix.retry + mix.deposit + mix.withdraw + mix.read;
    let pick = this.prng.next() * total;
    const accountId = this.prng.pick(this.accounts);
    const model = this.options.model;
    const serial = model.nextSerial();
    if ((pick -= mix.limit) < 0) return this.place(this.limitBody(accountId));
    if ((pick -= mix.market) < 0) return this.place(this.marketBody(accountId));
    if ((pick -= mix.cancel) < 0) {
      const orderId = this.cancelTarget(accountId);
      if (orderId !== undefined) return [{ kind: 'cancel', serial, accountId, orderId }];
      return this.place(this.limitBody(accountId));
    }
    if ((pick -= mix.retry) < 0 && this.sentWithClientOrderId.length > 0) {
      return [{ kind: 'place', serial, body: this.prng.pick(this.sentWithClientOrderId) }];
    }
    if ((pick -= mix.deposit) < 0) return [this.funding('deposit', accountId, 1)];
    if ((pick -= mix.withdraw) < 0) return [this.funding('withdraw', accountId, 0.5)];
    return [{ kind: 'read', serial, path: this.readPath(accountId) }];
  }

  private place(body: PlaceBody): Op[] {
    const model = this.options.model;
    if (this.prng.chance(this.mix.clientOrderIdShare)) {
      this.counter += 1;
      body.clientOrderId = `${this.options.tag}-${this.index}-${this.counter}`;
      if (this.sentWithClientOrderId.length >= 64) this.sentWithClientOrderId.shift();
      this.sentWithClientOrderId.push(body);
      if (this.prng.chance(this.mix.duplicateShare)) {
        const copies = this.prng.int(2, 3);
        return Array.from({ length: copies }, () => ({ kind: 'place' as const, serial: model.nextSerial(), body }));
      }
    }
    return [{ kind: 'place', serial: model.nextSerial(), body }];
  }

  private market(): MarketInfo {
    return this.prng.pick(MARKETS);
  }

  private qtySteps(market: MarketInfo): number {
    // BTC: 0.0001 to 0.02; ETH: 0.001 to 0.5.
    return market.symbol === 'BTC-USDT' ? this.prng.int(100, 20_000) : this.prng.int(10, 5_000);
  }

  limitBody(accountId: number): PlaceBody {
    const market = this.market();
    const side = this.prng.chance(0.5) ? 'buy' : 'sell';
    const spread = Math.round(market.midTicks * 0.003);
    // Buys lean below the mid and sells above it, with enough overlap for steady trading.
    const lean = side === 'buy' ? -spread / 3 : spread / 3;
    const priceTicks = Math.max(1, market.midTicks + Math.round(lean) + this.prng.int(-spread, spread));
    const body: PlaceBody = {
      accountId, symbol: market.symbol, side, type: 'limit', price: formatTicks(market, priceTicks), qty: formatSteps(market, this.qtySteps(market)),
    };
    const tif = this.prng.next();
    if (tif < 0.15) body.timeInForce = 'IOC';
    else if (tif < 0.3) body.timeInForce = 'FOK';
    else if (tif < 0.5) body.timeInForce = 'GTC';
    if (body.timeInForce !== 'IOC' && body.timeInForce !== 'FOK' && this.prng.chance(0.1)) body.postOnly = true;
    return body;
  }

  private marketBody(accountId: number): PlaceBody {
    const market = this.market();
    if (this.prng.chance(0.5)) {
      const quoteUnits = BigInt(this.prng.int(10_000_000, 2_000_000_000)); // 10 to 2,000 USDT
      return { accountId, symbol: market.symbol, side: 'buy', type: 'market', quoteQty: formatUnits(quoteUnits, ASSET_DECIMALS.USDT) };
    }
    const body: PlaceBody = { accountId, symbol: market.symbol, side: 'sell', type: 'market', qty: formatSteps(market, this.qtySteps(market)) };
    if (this.prng.chance(0.3)) body.timeInForce = 'IOC';
    return body;
  }

  private cancelTarget(accountId: number): number | undefined {
    const open = this.options.model.openByAccount.get(accountId);
    if (open === undefined || open.size === 0) return undefined;
    // The oldest few: Set iteration follows insertion order.
    const candidates: number[] = [];
    for (const orderId of open) {
      candidates.push(orderId);
      if (candidates.length >= 32) break;
    }
    return this.prng.pick(candidates);
  }

  private funding(kind: 'deposit' | 'withdraw', accountId: number, scale: number): FundingOp {
    const asset = this.prng.pick(ASSETS);
    const decimals = ASSET_DECIMALS[asset];
    // Up to 1% of the initial funding, with every decimal in use.
    const maxUnits = Number((BigInt(FUNDING[asset].replace('.', '')) * BigInt(Math.round(scale * 100))) / 10_000n);
    const units = BigInt(this.prng.int(1, Math.max(1, maxUnits)));
    return { kind, serial: this.options.model.nextSerial(), accountId, asset, amount: formatUnits(units, decimals) };
  }

  private readPath(accountId: number): string {
    const roll = this.prng.next();
    if (roll < 0.4) return `/accounts/${accountId}/balances`;
    if (roll < 0.6) return `/books/${this.market().symbol}?depth=20`;
    if (roll < 0.8) return `/accounts/${accountId}/orders?status=open`;
    const orderIds = this.options.model.recentOrderIds;
    return orderIds.length === 0 ? '/health' : `/orders/${this.prng.pick(orderIds)}`;
  }
}
