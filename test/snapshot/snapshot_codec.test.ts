/**
 * The snapshot body codec on its own: every field of every table comes back exactly, at the edges
 * of its column (empty tables, the largest account id, the largest safe integer, dropped fills,
 * megabytes of clientOrderIds), and a value that does not fit its column is refused, never wrapped.
 */
import { Decoder, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import type { CoreState } from '../../src/core/core_state.ts';
import { InvariantError } from '../../src/domain/assert.ts';
import { OrderType, Side, TimeInForce } from '../../src/domain/commands.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import { Sequencer } from '../../src/sequencer/sequencer.ts';
import { ETH_USDT, USDT, deposit, limit } from '../sequencer/command_builders.ts';
import type { ReadModelsState } from '../../src/gateway/read_models.ts';
import { FILLS_DROPPED, ORDER_STATUS_CODES } from '../../src/gateway/read_models.ts';
import type { SnapshotContent } from '../../src/snapshot/snapshot_codec.ts';
import { decodeSnapshotBody, encodeSnapshotBody } from '../../src/snapshot/snapshot_codec.ts';

const BIG = Number.MAX_SAFE_INTEGER;
const ACCOUNT_MAX = 4_294_967_295;

function core(clientOrderIds: [number, string, number][] = []): CoreState {
  return {
    lastSeq: BIG - 1,
    sequencer: {
      nextSeq: BIG,
      lastTimestampMs: 1_700_000_000_123,
      supplyUnits: [BIG, 0, 7],
      accounts: [
        { accountId: 1, spendableUnits: [1, 2, 3] },
        { accountId: ACCOUNT_MAX, spendableUnits: [BIG, 0, 0] },
      ],
      openOrders: [[BIG - 2, ACCOUNT_MAX]],
      clientOrderIds,
    },
    ledger: {
      lastSeq: BIG - 1,
      supplyUnits: [BIG, 0, 7],
      accounts: [{ accountId: ACCOUNT_MAX, availableUnits: [0, 5, 6], lockedUnits: [BIG, 0, 1] }],
      orders: [{ orderId: BIG - 2, accountId: ACCOUNT_MAX, marketId: 1, side: Side.Sell, isMarket: false, priceTicks: 3, remainingSteps: 4, reservedUnits: BIG }],
    },
    engine: { tradeIdLast: BIG, orders: [{ orderId: BIG - 2, accountId: ACCOUNT_MAX, marketId: 1, side: Side.Sell, priceTicks: 3, remainingSteps: 4, filledSteps: 9 }] },
  };
}

function readModels(): ReadModelsState {
  const order = {
    orderId: 5,
    accountId: ACCOUNT_MAX,
    marketId: 1,
    side: Side.Buy,
    orderType: OrderType.Limit,
    timeInForce: TimeInForce.GTC,
    postOnly: true,
    priceTicks: 300_000,
    qtySteps: 10,
    quoteQtyUnits: 0,
    clientOrderId: 'abc-DEF_123',
    timestampMs: 1_700_000_000_000,
    status: 'partially_filled' as const,
    filledSteps: 4,
    remainingSteps: 6,
    closedSeq: 0,
    fills: [{ tradeId: 1, priceTicks: 300_000, qtySteps: 4, makerOrderId: 2 }],
  };
  return {
    lastSeq: 9,
    cancelRejects: 3,
    orders: [
      { ...order, orderId: 2, clientOrderId: '', status: 'filled', closedSeq: 5, fills: null },
      { ...order, orderId: 3, status: 'cancelled', closedSeq: 7, fills: [] },
      order,
    ],
    closedOrderIds: [2, 3],
    closedFillsDropped: 1,
    clientOrderIds: [[ACCOUNT_MAX, 'abc-DEF_123', 5]],
    balances: [{ accountId: ACCOUNT_MAX, units: [1, 2, 3, 4, 5, BIG] }],
    fundingResults: [[1, 10, 0]],
    books: [[[299_999, 6]], [], [], []],
    trades: [[], [{ tradeId: 1, priceTicks: 300_000, qtySteps: 4, takerSide: Side.Buy, seq: 5, timestampMs: 1_700_000_000_000 }]],
  };
}

/** The state as rows: the decoder gives the sequencer's clientOrderIds as columns (raw bytes). */
function asRows(state: CoreState): CoreState {
  const { clientOrderIdColumns: columns, ...sequencer } = state.sequencer;
  if (columns === undefined) return state;
  const rows: [number, string, number][] = [];
  let at = 0;
  for (let i = 0; i < columns.accountIds.length; i += 1) {
    const length = columns.lengths[i]!;
    rows.push([columns.accountIds[i]!, String.fromCharCode(...columns.bytes.subarray(at, at + length)), columns.orderIds[i]!]);
    at += length;
  }
  expect(sequencer.clientOrderIds).toEqual([]);
  return { ...state, sequencer: { ...sequencer, clientOrderIds: rows } };
}

/** The read models with their orders as objects: the decoder gives them as columns. */
function ordersAsObjects(state: ReadModelsState | null): ReadModelsState | null {
  if (state === null || state.orderColumns === undefined) return state;
  const { orderColumns: columns, ...rest } = state;
  expect(rest.orders).toEqual([]);
  const orders: ReadModelsState['orders'] = [];
  let fillAt = 0;
  for (let row = 0; row < columns.orderId.length; row += 1) {
    const count = columns.fillCount[row]!;
    const fills = count === FILLS_DROPPED ? null : Array.from({ length: count }, (_, offset) => ({
      tradeId: columns.fillTradeId[fillAt + offset]!,
      priceTicks: columns.fillPriceTicks[fillAt + offset]!,
      qtySteps: columns.fillQtySteps[fillAt + offset]!,
      makerOrderId: columns.fillMakerOrderId[fillAt + offset]!,
    }));
    if (fills !== null) fillAt += count;
    orders.push({
      orderId: columns.orderId[row]!,
      accountId: columns.accountId[row]!,
      marketId: columns.marketId[row]!,
      side: columns.side[row] as Side,
      orderType: columns.orderType[row] as OrderType,
      timeInForce: columns.timeInForce[row] as TimeInForce,
      postOnly: columns.postOnly[row] === 1,
      priceTicks: columns.priceTicks[row]!,
      qtySteps: columns.qtySteps[row]!,
      quoteQtyUnits: columns.quoteQtyUnits[row]!,
      clientOrderId: columns.clientOrderId[row]!,
      timestampMs: columns.timestampMs[row]!,
      status: ORDER_STATUS_CODES[columns.status[row]!]!,
      filledSteps: columns.filledSteps[row]!,
      remainingSteps: columns.remainingSteps[row]!,
      closedSeq: columns.closedSeq[row]!,
      fills,
    });
  }
  return { ...rest, orders };
}

function content(state: CoreState, models: ReadModelsState | null): SnapshotContent {
  const digest = { digest: 'ab'.repeat(32), lastSeq: state.lastSeq, tradeIdLast: state.engine.tradeIdLast, accounts: 1, openOrders: 1 };
  const walPosition = models === null ? null : { segment: '00000000000000000001.wal', recordOffset: 32, nextOffset: 99 };
  return { seq: state.lastSeq, walChainCrc: 0xffffffff, lastTimestampMs: 17, walPosition, markets: 'm', digest, core: state, readModels: models };
}

describe('the snapshot body codec', () => {
  it('gives back every field at the edges of its column', () => {
    const original = content(core([[1, 'x', 3]]), readModels());
    const decoded = decodeSnapshotBody(encodeSnapshotBody(original));
    const { core: _core, readModels: _models, ...meta } = original;
    expect(decoded.meta).toEqual(meta);
    expect(asRows(decoded.core())).toEqual(original.core);
    expect(ordersAsObjects(decoded.readModels())).toEqual(original.readModels);
  });

  it('handles empty tables and a snapshot without read models', () => {
    const empty = core();
    empty.sequencer.accounts = [];
    empty.sequencer.openOrders = [];
    empty.ledger.accounts = [];
    empty.ledger.orders = [];
    empty.engine.orders = [];
    const decoded = decodeSnapshotBody(encodeSnapshotBody(content(empty, null)));
    expect(asRows(decoded.core())).toEqual(empty);
    expect(decoded.readModels()).toBeNull();
  });

  it('carries megabytes of clientOrderIds', () => {
    const ids: [number, string, number][] = [];
    for (let i = 0; i < 32_000; i += 1) ids.push([1 + (i % 1000), `${'k'.repeat(30)}${String(i).padStart(6, '0')}`, i + 1]);
    const decoded = decodeSnapshotBody(encodeSnapshotBody(content(core(ids), null)));
    expect(asRows(decoded.core()).sequencer.clientOrderIds).toEqual(ids);
  });

  it("carries a sequencer's clientOrderIds exported as columns, and refuses ones that are not clientOrderIds", () => {
    const sequencer = new Sequencer(defaultMarketSet(), DEFAULT_CORE_LIMITS);
    expect(sequencer.submit(deposit(7, USDT, 1_000_000_000), 1)).toBe(RejectCode.None);
    sequencer.credit(7, USDT, 1_000_000_000);
    const ids = ['a', 'B-_9', 'z'.repeat(36)];
    for (const clientOrderId of ids) expect(sequencer.submit(limit(7, ETH_USDT, Side.Buy, 100, 1, { clientOrderId }), 2)).toBe(RejectCode.None);
    const state = core();
    state.sequencer = { ...sequencer.exportState({ clientOrderIdColumns: true }) };
    expect(state.sequencer.clientOrderIds).toEqual([]);
    const decoded = decodeSnapshotBody(encodeSnapshotBody(content(state, null))).core().sequencer;
    expect(asRows({ ...state, sequencer: decoded }).sequencer.clientOrderIds).toEqual(sequencer.exportState().clientOrderIds);
    const restored = Sequencer.fromState(defaultMarketSet(), DEFAULT_CORE_LIMITS, decoded);
    for (const [index, clientOrderId] of ids.entries()) expect(restored.orderIdForClientOrderId(7, clientOrderId)).toBe(2 + index);
    // A byte that no clientOrderId holds (a codec that disagrees with itself) is refused on restore.
    decoded.clientOrderIdColumns!.bytes[0] = ':'.charCodeAt(0);
    expect(() => Sequencer.fromState(defaultMarketSet(), DEFAULT_CORE_LIMITS, decoded)).toThrow(/holds byte 58/);
  });

  it('reads format 1, whose sequencer clientOrderIds were a string column, to the same state', () => {
    const ids: [number, string, number][] = [[1, 'x', 3], [ACCOUNT_MAX, 'z'.repeat(36), BIG - 2]];
    const models = readModels();
    models.clientOrderIds = ids;
    const current = encodeSnapshotBody(content(core(ids), models));
    // Format 1 wrote the sequencer's pairs as the read models still write theirs: that very table.
    const body = new Decoder().decode(current) as Record<string, unknown>;
    const coreBody = new Decoder().decode(body['core'] as Uint8Array) as Record<string, Record<string, unknown>>;
    const modelsBody = new Decoder().decode(body['readModels'] as Uint8Array) as Record<string, unknown>;
    expect(coreBody['sequencer']!['clientOrderIdBytes']).toBeInstanceOf(Uint8Array);
    delete coreBody['sequencer']!['clientOrderIdBytes'];
    coreBody['sequencer']!['clientOrderIds'] = modelsBody['clientOrderIds'];
    const formatOne = encode({ ...body, format: 1, core: encode(coreBody) });
    const decoded = decodeSnapshotBody(formatOne);
    expect(decoded.core().sequencer.clientOrderIdColumns).toBeUndefined();
    expect(decoded.core()).toEqual(asRows(decodeSnapshotBody(current).core()));
    expect(decoded.core().sequencer.clientOrderIds).toEqual(ids);
    // A format this build does not know is refused, naming the formats it reads.
    expect(() => decodeSnapshotBody(encode({ ...body, format: 3 }))).toThrow(/unsupported snapshot body format 3 \(this build reads 1 and 2\)/);
  });

  it('refuses a value that does not fit its column instead of wrapping it', () => {
    const tooBig = core();
    tooBig.engine.orders[0]!.accountId = ACCOUNT_MAX + 1;
    expect(() => encodeSnapshotBody(content(tooBig, null))).toThrow(InvariantError);
    const fraction = core();
    fraction.ledger.orders[0]!.priceTicks = 1.5;
    expect(() => encodeSnapshotBody(content(fraction, null))).toThrow(/not a safe integer/);
  });
});
