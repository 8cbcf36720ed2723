/**
 * The realistic mixed flow (bench/flows.ts, MIXED_FLOW), recorded once through a single-thread
 * ExchangeCore so that the timed runs replay it without generating anything.
 *
 * A cancel must name the seq of an accepted place, and only a core knows which places it accepts,
 * so the flow is generated against a core: every command, its reject code and the seq it got are
 * kept. A cancel also keeps the flow index of the place it names, so a driver whose seqs differ
 * from the recording (the threaded pipeline's pre-check may see credits later) can translate it.
 *
 * Stored as columns of typed arrays rather than millions of Command objects: compact, and no
 * large old generation for the collector to trace while a benchmark runs. That holds for the
 * clientOrderIds too: their bytes are kept in one arena, and `read` makes the string afresh, as the
 * gateway's JSON parser does for a request. Kept as a string per command (an array of millions of
 * slots, a million strings), they made some 60 MB of the pipeline benchmark's heap: the server's
 * main thread shares that heap, and its full collections paused it 20-30 ms instead of 6-10.
 */
import { ExchangeCore } from '../src/core/exchange_core.ts';
import { assert } from '../src/domain/assert.ts';
import type { Command } from '../src/domain/commands.ts';
import { CLIENT_ORDER_ID_LENGTH_MAX, CommandType, OrderType, TimeInForce, createCommand, resetCommand } from '../src/domain/commands.ts';
import type { CoreLimits } from '../src/domain/limits.ts';
import { DEFAULT_CORE_LIMITS } from '../src/domain/limits.ts';
import { defaultMarketSet } from '../src/domain/markets.ts';
import { RejectCode } from '../src/domain/reject_codes.ts';
import { FlowGenerator, MIXED_FLOW } from './flows.ts';
import { CHAR_CODE_SCRATCH } from '../src/domain/ascii.ts';

export const RECORDED_FLOW_SEED = 20_240_601;

/**
 * MIXED_FLOW with its opening deposits halved: at full scale, 1,000 accounts × 10,000,000 USDT is
 * 10^16 units, past the 2^53 − 1 supply bound, so the last ~100 accounts would get no USDT
 * (AMOUNT_TOO_LARGE) and every buy of theirs would be refused for want of funds.
 */
export const BENCH_FLOW = { ...MIXED_FLOW, fundingScale: 0.5 };
/** The synthetic clock of the recording: a thousand commands per millisecond. */
const COMMANDS_PER_MS = 1000;
const CLOCK_BASE_MS = 1_700_000_000_000;

export function clockMsAt(index: number): number {
  return CLOCK_BASE_MS + Math.floor(index / COMMANDS_PER_MS);
}

/**
 * The mixed flow against one core, with the book kept at the flow's target. FlowGenerator forgets
 * an order when it names it in a cancel; when that cancel is one of the 2% that name someone
 * else's order, the sequencer refuses it and the order stays open, untracked: over millions of
 * commands those orders pile up (about 80,000 after 10M), far from the mid, never filled. Here
 * such an order is handed back to the generator, so the book stays bounded as MIXED_FLOW intends.
 */
export class BoundedFlowSource {
  readonly core: ExchangeCore;
  private readonly generator: FlowGenerator;
  /** Owner of every open limit order, kept from the core's own events. */
  private readonly ownerOfOpen = new Map<number, number>();
  private readonly returned: Command = createCommand();
  /** Foreign cancels whose order was handed back to the generator. */
  ordersHandedBack = 0;

  constructor(seed: number, limits: CoreLimits) {
    const marketSet = defaultMarketSet();
    const ownerOfOpen = this.ownerOfOpen;
    this.core = new ExchangeCore(marketSet, limits, {
      // A place is seen before its matching events, so an order that closes at once is never kept.
      onCommand: (command) => {
        if (command.type === CommandType.Place && command.orderType === OrderType.Limit) ownerOfOpen.set(command.seq, command.accountId);
      },
      onOrderDone: (event) => void ownerOfOpen.delete(event.orderId),
    });
    this.generator = new FlowGenerator(marketSet, { seed, ...BENCH_FLOW });
  }

  /** Generates the next command into `command` and submits it; returns the core's answer. */
  next(command: Command, nowMs: number): RejectCode {
    this.generator.next(command);
    const code = this.core.submit(command, nowMs);
    if (code === RejectCode.None) {
      this.generator.accepted(command);
    } else if (command.type === CommandType.Cancel) {
      const owner = this.ownerOfOpen.get(command.orderId);
      if (owner !== undefined && owner !== command.accountId) this.handBack(command.orderId, owner);
    }
    return code;
  }

  private handBack(orderId: number, owner: number): void {
    const place = resetCommand(this.returned);
    place.type = CommandType.Place;
    place.orderType = OrderType.Limit;
    place.timeInForce = TimeInForce.GTC;
    place.seq = orderId;
    place.accountId = owner;
    this.generator.accepted(place);
    this.ordersHandedBack += 1;
  }
}

export class RecordedFlow {
  readonly length: number;
  /** The opening deposits (every account, every asset): a driver lets them settle before timing. */
  fundingCount = 0;
  acceptedCount = 0;
  readonly rejectsByCode = new Map<number, number>();
  readonly countsByType = new Map<number, number>();
  openOrdersAtEnd = 0;

  readonly type: Uint8Array;
  readonly accountId: Float64Array;
  readonly assetId: Uint8Array;
  readonly amountUnits: Float64Array;
  readonly marketId: Uint8Array;
  readonly side: Uint8Array;
  readonly orderType: Uint8Array;
  readonly timeInForce: Uint8Array;
  readonly postOnly: Uint8Array;
  readonly priceTicks: Float64Array;
  readonly qtySteps: Float64Array;
  readonly quoteQtyUnits: Float64Array;
  /** ClientOrderIds: bytes [clientOrderIdStart, + clientOrderIdLength) of the arena (length 0: none). */
  private readonly clientOrderIdStart: Uint32Array;
  private readonly clientOrderIdLength: Uint8Array;
  private clientOrderIdArena = new Uint8Array(1 << 16);
  private clientOrderIdArenaUsed = 0;
  /** Cancel: the seq it names in the recording. */
  readonly orderId: Float64Array;
  /** Cancel: the flow index of the place it names; -1 otherwise. */
  readonly targetIndex: Int32Array;
  /**
   * What the recording core answered. Accepted commands got consecutive seqs in flow order and the
   * timestamp clockMsAt(index) (the clock never goes back), so neither needs a column.
   */
  readonly code: Uint8Array;

  constructor(length: number) {
    this.length = length;
    this.type = new Uint8Array(length);
    this.accountId = new Float64Array(length);
    this.assetId = new Uint8Array(length);
    this.amountUnits = new Float64Array(length);
    this.marketId = new Uint8Array(length);
    this.side = new Uint8Array(length);
    this.orderType = new Uint8Array(length);
    this.timeInForce = new Uint8Array(length);
    this.postOnly = new Uint8Array(length);
    this.priceTicks = new Float64Array(length);
    this.qtySteps = new Float64Array(length);
    this.quoteQtyUnits = new Float64Array(length);
    this.clientOrderIdStart = new Uint32Array(length);
    this.clientOrderIdLength = new Uint8Array(length);
    this.orderId = new Float64Array(length);
    this.targetIndex = new Int32Array(length).fill(-1);
    this.code = new Uint8Array(length);
  }

  /** The command as the gateway would submit it: unsequenced (seq and timestamp 0). */
  read(index: number, into: Command): Command {
    into.type = this.type[index] as Command['type'];
    into.seq = 0;
    into.timestampMs = 0;
    into.accountId = this.accountId[index]!;
    into.assetId = this.assetId[index]!;
    into.amountUnits = this.amountUnits[index]!;
    into.marketId = this.marketId[index]!;
    into.side = this.side[index] as Command['side'];
    into.orderType = this.orderType[index] as Command['orderType'];
    into.timeInForce = this.timeInForce[index] as Command['timeInForce'];
    into.postOnly = this.postOnly[index] === 1;
    into.priceTicks = this.priceTicks[index]!;
    into.qtySteps = this.qtySteps[index]!;
    into.quoteQtyUnits = this.quoteQtyUnits[index]!;
    into.clientOrderId = this.clientOrderIdAt(index);
    into.orderId = this.orderId[index]!;
    return into;
  }

  /** The command as the recording core sequenced it (the WAL's record), given its seq. */
  readSequenced(index: number, seq: number, into: Command): Command {
    this.read(index, into);
    into.seq = seq;
    into.timestampMs = clockMsAt(index);
    return into;
  }

  /** The clientOrderId of a command, a new string ('' for none). */
  clientOrderIdAt(index: number): string {
    const length = this.clientOrderIdLength[index]!;
    if (length === 0) return '';
    const scratch = CHAR_CODE_SCRATCH[length]!;
    const start = this.clientOrderIdStart[index]!;
    const arena = this.clientOrderIdArena;
    for (let i = 0; i < length; i++) scratch[i] = arena[start + i]!;
    return String.fromCharCode.apply(null, scratch);
  }

  /** Bytes held by the columns and the clientOrderId arena. */
  get bytes(): number {
    const columns = [this.type, this.accountId, this.assetId, this.amountUnits, this.marketId, this.side, this.orderType, this.clientOrderIdStart];
    const more = [this.timeInForce, this.postOnly, this.priceTicks, this.qtySteps, this.quoteQtyUnits, this.orderId, this.targetIndex, this.code];
    return [...columns, ...more, this.clientOrderIdLength, this.clientOrderIdArena].reduce((sum, column) => sum + column.byteLength, 0);
  }

  private storeClientOrderId(index: number, clientOrderId: string): void {
    const length = clientOrderId.length;
    assert(length <= CLIENT_ORDER_ID_LENGTH_MAX, 'recorded flow: a clientOrderId is at most 36 characters');
    if (length === 0) return;
    if (this.clientOrderIdArenaUsed + length > this.clientOrderIdArena.length) {
      const grown = new Uint8Array(this.clientOrderIdArena.length * 2);
      grown.set(this.clientOrderIdArena);
      this.clientOrderIdArena = grown;
    }
    const start = this.clientOrderIdArenaUsed;
    for (let i = 0; i < length; i++) {
      const code = clientOrderId.charCodeAt(i);
      assert(code < 0x80, 'recorded flow: clientOrderIds are ASCII');
      this.clientOrderIdArena[start + i] = code;
    }
    this.clientOrderIdStart[index] = start;
    this.clientOrderIdLength[index] = length;
    this.clientOrderIdArenaUsed += length;
  }

  private store(index: number, command: Readonly<Command>, code: RejectCode): void {
    this.type[index] = command.type;
    this.accountId[index] = command.accountId;
    this.assetId[index] = command.assetId;
    this.amountUnits[index] = command.amountUnits;
    this.marketId[index] = command.marketId;
    this.side[index] = command.side;
    this.orderType[index] = command.orderType;
    this.timeInForce[index] = command.timeInForce;
    this.postOnly[index] = command.postOnly ? 1 : 0;
    this.priceTicks[index] = command.priceTicks;
    this.qtySteps[index] = command.qtySteps;
    this.quoteQtyUnits[index] = command.quoteQtyUnits;
    this.storeClientOrderId(index, command.clientOrderId);
    this.orderId[index] = command.orderId;
    this.code[index] = code;
  }

  static record(length: number, limits: CoreLimits = DEFAULT_CORE_LIMITS, onProgress?: (done: number) => void): RecordedFlow {
    const flow = new RecordedFlow(length);
    const source = new BoundedFlowSource(RECORDED_FLOW_SEED, limits);
    flow.fundingCount = BENCH_FLOW.accounts * source.core.marketSet.assets.length;
    // Flow index of each accepted seq (seqs are gap-free from 1, at most one per command).
    const indexOfSeq = new Int32Array(length + 1).fill(-1);
    const command = createCommand();
    for (let index = 0; index < length; index += 1) {
      const code = source.next(command, clockMsAt(index));
      if (command.type === CommandType.Cancel) flow.targetIndex[index] = indexOfSeq[command.orderId] ?? -1;
      if (code === RejectCode.None) {
        assert(command.seq === flow.acceptedCount + 1, 'recorded flow: seqs must be consecutive');
        assert(command.timestampMs === clockMsAt(index), 'recorded flow: the timestamp must be the clock');
        indexOfSeq[command.seq] = index;
        flow.acceptedCount += 1;
      } else {
        flow.rejectsByCode.set(code, (flow.rejectsByCode.get(code) ?? 0) + 1);
      }
      flow.countsByType.set(command.type, (flow.countsByType.get(command.type) ?? 0) + 1);
      flow.store(index, command, code);
      if (onProgress !== undefined && (index + 1) % 500_000 === 0) onProgress(index + 1);
    }
    flow.openOrdersAtEnd = source.core.engine.openOrderCount;
    return flow;
  }

  /** Share of each command type and of refusals, for the report. */
  describe(): string {
    const share = (count: number): string => `${((count / this.length) * 100).toFixed(1)}%`;
    const typeNames: Record<number, string> = {
      [CommandType.Deposit]: 'deposit',
      [CommandType.Withdraw]: 'withdraw',
      [CommandType.Place]: 'place',
      [CommandType.Cancel]: 'cancel',
    };
    const types = [...this.countsByType].map(([type, count]) => `${typeNames[type]} ${share(count)}`).join(', ');
    const refused = this.length - this.acceptedCount;
    return (
      `${this.length.toLocaleString('en-US')} commands (${types}); refused by the pre-check ${share(refused)}; ` +
      `${this.openOrdersAtEnd.toLocaleString('en-US')} open orders at the end`
    );
  }
}
