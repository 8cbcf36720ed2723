/**
 * The recent trades of one market for GET /markets/{symbol}/trades: a fixed-capacity ring,
 * allocated once, that overwrites its oldest entry when full. Columns are typed arrays, so
 * recording a trade allocates nothing.
 */
import { invariantBroken } from '../domain/assert.ts';
import type { Side } from '../domain/commands.ts';

export interface TradeRecord {
  tradeId: number;
  priceTicks: number;
  qtySteps: number;
  takerSide: Side;
  seq: number;
  timestampMs: number;
}

export class TradeHistory {
  readonly capacity: number;
  private readonly tradeIds: Float64Array;
  private readonly prices: Float64Array;
  private readonly qtys: Float64Array;
  private readonly seqs: Float64Array;
  private readonly times: Float64Array;
  private readonly takerSides: Uint8Array;
  /** Index the next trade is written to. */
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 1)) invariantBroken(`TradeHistory: capacity ${capacity} must be a positive integer`);
    this.capacity = capacity;
    this.tradeIds = new Float64Array(capacity);
    this.prices = new Float64Array(capacity);
    this.qtys = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.takerSides = new Uint8Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(trade: Readonly<TradeRecord>): void {
    const index = this.next;
    this.tradeIds[index] = trade.tradeId;
    this.prices[index] = trade.priceTicks;
    this.qtys[index] = trade.qtySteps;
    this.seqs[index] = trade.seq;
    this.times[index] = trade.timestampMs;
    this.takerSides[index] = trade.takerSide;
    this.next = index + 1 === this.capacity ? 0 : index + 1;
    if (this.count < this.capacity) this.count += 1;
  }

  /** Up to `limit` trades, newest first. */
  newest(limit: number): TradeRecord[] {
    const shown = Math.min(limit, this.count);
    const trades: TradeRecord[] = new Array<TradeRecord>(shown);
    let index = this.next;
    for (let i = 0; i < shown; i += 1) {
      index = index === 0 ? this.capacity - 1 : index - 1;
      trades[i] = {
        tradeId: this.tradeIds[index]!,
        priceTicks: this.prices[index]!,
        qtySteps: this.qtys[index]!,
        takerSide: this.takerSides[index]! as Side,
        seq: this.seqs[index]!,
        timestampMs: this.times[index]!,
      };
    }
    return trades;
  }
}
