/**
 * The state digest: SHA-256 over a canonical serialization of the exchange state, so the server
 * (at graceful shutdown), the replay command and snapshot recovery can be compared byte for byte.
 *
 * Canonical order: a version tag; counters (last seq, last tradeId); every balance by account id
 * then asset id; every open order by market id, bids then asks, in priority order. Each value is
 * written as a little-endian float64 holding a safe integer, so the encoding is exact.
 */
import { createHash, type Hash } from 'node:crypto';
import { Side } from '../domain/commands.ts';
import type { RestingOrder } from '../matching/matching_engine.ts';
import type { ExchangeCore } from './exchange_core.ts';

/** What the digest reads: the in-process core, or state exported by the pipeline's workers. */
export interface DigestSource {
  readonly lastSeq: number;
  readonly tradeIdLast: number;
  readonly marketCount: number;
  /** Accounts in ascending id order, assets in id order. */
  forEachBalance(fn: (accountId: number, assetId: number, availableUnits: number, lockedUnits: number) => void): void;
  /** Priority order: best price first, FIFO within a level. */
  forEachOpenOrder(marketId: number, side: Side, fn: (order: Readonly<RestingOrder>) => void): void;
}

export function coreDigestSource(core: ExchangeCore): DigestSource {
  return {
    lastSeq: core.lastSeq,
    tradeIdLast: core.engine.tradeIdLast,
    marketCount: core.marketSet.markets.length,
    forEachBalance: (fn) => core.ledger.forEachBalance(fn),
    forEachOpenOrder: (marketId, side, fn) => core.engine.forEachOpenOrder(marketId, side, fn),
  };
}

const DIGEST_FORMAT_VERSION = 1;
const CHUNK_VALUES = 4096;

class DigestWriter {
  private readonly values = new Float64Array(CHUNK_VALUES);
  private readonly bytes = new Uint8Array(this.values.buffer);
  private count = 0;

  constructor(private readonly hash: Hash) {}

  write(value: number): void {
    this.values[this.count++] = value;
    if (this.count === CHUNK_VALUES) this.flush();
  }

  flush(): void {
    if (this.count > 0) this.hash.update(this.bytes.subarray(0, this.count * 8));
    this.count = 0;
  }
}

export interface StateSummary {
  digest: string;
  lastSeq: number;
  tradeIdLast: number;
  accounts: number;
  openOrders: number;
}

export function stateDigest(core: ExchangeCore): StateSummary {
  return digestOf(coreDigestSource(core));
}

export function digestOf(source: DigestSource): StateSummary {
  const hash = createHash('sha256');
  const writer = new DigestWriter(hash);
  writer.write(DIGEST_FORMAT_VERSION);
  writer.write(source.lastSeq);
  writer.write(source.tradeIdLast);
  const accounts = new Set<number>();
  source.forEachBalance((accountId, assetId, availableUnits, lockedUnits) => {
    accounts.add(accountId);
    writer.write(accountId);
    writer.write(assetId);
    writer.write(availableUnits);
    writer.write(lockedUnits);
  });
  let openOrders = 0;
  for (let marketId = 0; marketId < source.marketCount; marketId++) {
    for (const side of [Side.Buy, Side.Sell]) {
      writer.write(-1 - side); // a separator, so orders cannot shift between books unnoticed
      source.forEachOpenOrder(marketId, side, (order) => {
        openOrders += 1;
        writer.write(order.orderId);
        writer.write(order.accountId);
        writer.write(order.priceTicks);
        writer.write(order.remainingSteps);
        writer.write(order.filledSteps);
      });
    }
  }
  writer.flush();
  return {
    digest: hash.digest('hex'),
    lastSeq: source.lastSeq,
    tradeIdLast: source.tradeIdLast,
    accounts: accounts.size,
    openOrders,
  };
}
