/**
 * Seeded command flows: the realistic mixed traffic that property tests, the core benchmark and
 * the pipeline tests share. Deterministic for a given seed (mulberry32), so every run and every
 * comparison sees exactly the same commands.
 */
import type { Command } from '../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce, resetCommand } from '../src/domain/commands.ts';
import type { MarketSet } from '../src/domain/markets.ts';
import { notionalFloor } from '../src/domain/markets.ts';

export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FlowOptions {
  seed: number;
  accounts: number;
  /** Probabilities of each kind of command (the rest are limit orders). */
  depositShare: number;
  withdrawShare: number;
  cancelShare: number;
  marketShare: number;
  /** Open orders the flow aims to keep resting; above it, it cancels more. */
  bookTarget: number;
  /** Only the markets with these ids (default: all). */
  marketIds?: number[];
  /** Scales the opening deposits (1,000,000 USDT and 1,000 of every other asset per account: 1,000 accounts stay below 2^53 units of USDT supply). */
  fundingScale?: number;
}

export const MIXED_FLOW: Readonly<Omit<FlowOptions, 'seed'>> = {
  accounts: 1000,
  depositShare: 0.01,
  withdrawShare: 0.005,
  cancelShare: 0.3,
  marketShare: 0.05,
  bookTarget: 20_000,
};

/** Mid prices in ticks per market id: BTC-USDT near 65000.00, ETH-USDT near 3000.00. */
const MID_TICKS = [6_500_000, 300_000];

/**
 * Generates commands one at a time into a reusable Command. Call `accepted(command)` after a
 * place was sequenced so later cancels can target it.
 */
export class FlowGenerator {
  private readonly random: () => number;
  private readonly openIds: number[] = [];
  private readonly ownerBySeq = new Map<number, number>();
  private funded = 0;
  private readonly marketIds: number[];

  constructor(
    private readonly marketSet: MarketSet,
    private readonly options: FlowOptions,
  ) {
    this.random = mulberry32(options.seed);
    this.marketIds = options.marketIds ?? marketSet.markets.map((m) => m.id);
  }

  private int(maxExclusive: number): number {
    return Math.floor(this.random() * maxExclusive);
  }

  private account(): number {
    return 1 + this.int(this.options.accounts);
  }

  next(command: Command): Command {
    const fresh = resetCommand(command);
    // Fund every account with every asset first, generously, so most orders pass the pre-check.
    if (this.funded < this.options.accounts * this.marketSet.assets.length) {
      const accountIndex = Math.floor(this.funded / this.marketSet.assets.length);
      const asset = this.marketSet.assets[this.funded % this.marketSet.assets.length]!;
      this.funded += 1;
      const wholeUnits = (asset.symbol === 'USDT' ? 1_000_000 : 1_000) * (this.options.fundingScale ?? 1);
      return this.deposit(fresh, 1 + accountIndex, asset.id, Math.round(10 ** asset.decimals * wholeUnits));
    }
    const roll = this.random();
    const { depositShare, withdrawShare, cancelShare, marketShare, bookTarget } = this.options;
    if (roll < depositShare) {
      const asset = this.marketSet.assets[this.int(this.marketSet.assets.length)]!;
      return this.deposit(fresh, this.account(), asset.id, (1 + this.int(100)) * 10 ** asset.decimals);
    }
    if (roll < depositShare + withdrawShare) {
      const asset = this.marketSet.assets[this.int(this.marketSet.assets.length)]!;
      fresh.type = CommandType.Withdraw;
      fresh.accountId = this.account();
      fresh.assetId = asset.id;
      fresh.amountUnits = (1 + this.int(10)) * 10 ** asset.decimals;
      return fresh;
    }
    const cancelBoost = this.openIds.length > bookTarget ? 0.25 : 0;
    if (roll < depositShare + withdrawShare + cancelShare + cancelBoost && this.openIds.length > 0) {
      return this.cancel(fresh);
    }
    if (roll < depositShare + withdrawShare + cancelShare + cancelBoost + marketShare) return this.marketOrder(fresh);
    return this.limitOrder(fresh);
  }

  /** Tell the generator which seq a place got, so cancels can name it. */
  accepted(command: Readonly<Command>): void {
    if (command.type === CommandType.Place && command.orderType === OrderType.Limit && command.timeInForce === TimeInForce.GTC) {
      this.openIds.push(command.seq);
      this.ownerBySeq.set(command.seq, command.accountId);
    }
  }

  private deposit(command: Command, accountId: number, assetId: number, amountUnits: number): Command {
    command.type = CommandType.Deposit;
    command.accountId = accountId;
    command.assetId = assetId;
    command.amountUnits = amountUnits;
    return command;
  }

  private cancel(command: Command): Command {
    const index = this.int(this.openIds.length);
    const orderId = this.openIds[index]!;
    this.openIds[index] = this.openIds[this.openIds.length - 1]!;
    this.openIds.pop();
    command.type = CommandType.Cancel;
    command.orderId = orderId;
    const owner = this.ownerBySeq.get(orderId) ?? 1;
    command.accountId = owner;
    this.ownerBySeq.delete(orderId);
    // Now and then name an order of someone else: the sequencer must refuse it, and the order stays
    // open, so the flow keeps it as a later cancel target (otherwise the book grows without bound).
    if (this.random() < 0.02) {
      command.accountId = this.account();
      if (command.accountId !== owner) {
        this.openIds.push(orderId);
        this.ownerBySeq.set(orderId, owner);
      }
    }
    return command;
  }

  private market(): number {
    return this.marketIds[this.int(this.marketIds.length)]!;
  }

  private limitOrder(command: Command): Command {
    const marketId = this.market();
    const side = this.random() < 0.5 ? Side.Buy : Side.Sell;
    const mid = MID_TICKS[marketId] ?? 100_000;
    // Prices around the mid: buys mostly below, sells mostly above, with some crossing.
    const offset = this.int(200) - 20;
    command.type = CommandType.Place;
    command.accountId = this.account();
    command.marketId = marketId;
    command.side = side;
    command.orderType = OrderType.Limit;
    command.priceTicks = side === Side.Buy ? mid - offset : mid + offset;
    command.qtySteps = 1 + this.int(50);
    const tif = this.random();
    command.timeInForce = tif < 0.85 ? TimeInForce.GTC : tif < 0.95 ? TimeInForce.IOC : TimeInForce.FOK;
    command.postOnly = command.timeInForce === TimeInForce.GTC && this.random() < 0.1;
    if (this.random() < 0.2) command.clientOrderId = `c${this.options.seed}-${this.int(1e9)}`;
    return command;
  }

  private marketOrder(command: Command): Command {
    const marketId = this.market();
    command.type = CommandType.Place;
    command.accountId = this.account();
    command.marketId = marketId;
    command.orderType = OrderType.Market;
    command.timeInForce = TimeInForce.IOC;
    if (this.random() < 0.5) {
      command.side = Side.Sell;
      command.qtySteps = 1 + this.int(30);
    } else {
      // A budget the size of the flow's other orders: the notional of 1–30 steps at the mid.
      command.side = Side.Buy;
      const market = this.marketSet.markets[marketId]!;
      command.quoteQtyUnits = notionalFloor(market, MID_TICKS[marketId] ?? 100_000, 1 + this.int(30));
    }
    return command;
  }
}
