/**
 * Binary slot codecs for every message the pipeline's rings carry: one message per slot, a u32 tag
 * first, fields at fixed offsets, written and read in place in the ring's shared memory.
 *
 * Which ring carries what (DESIGN.md):
 *   G→S, S→W, W→M   Command
 *   M→T             Command, then its Trade / OrderDone / Level / CancelReject events, then CommandEnd
 *   T→G             Accepted (in place of the Command: the gateway kept the command it submitted),
 *                   the events as on M→T, the command's Balance changes (one per account and
 *                   asset it touched, with their final values), then CommandEnd (and Durable for health)
 *   S→G             Reject (pre-check refusals: no seq, never logged)
 *   T→S             Credit, OrderClosed
 *
 * Encoders validate every value before writing it and decoders validate every value after reading
 * it (pair assertions, STYLE.md): a bad value is an InvariantError at the boundary, never a wrong
 * number downstream. An encoder checks everything before it writes anything, so when it throws the
 * slot is untouched and the producer can `unclaim()` it. Money, ids, seqs and timestamps are non-negative safe integers (≤ 2^53 − 1)
 * stored in Float64 fields, which hold every such integer exactly; account, asset and market ids
 * and the request id are u32; enums and flags are u8. Decoders fill caller-provided objects, so
 * the hot path allocates nothing except a clientOrderId string that differs from the one already
 * in the target object.
 *
 * Every slot is MESSAGE_SLOT_BYTES = 128 bytes. Layouts (byte offsets within the slot; gaps and
 * unused tails are padding that decoders ignore):
 *
 *   Command (124 bytes)        0 u32 tag=1   4 u32 requestId
 *                              8 u8 type  9 u8 side  10 u8 orderType  11 u8 timeInForce
 *                             12 u8 postOnly (0/1)  13 u8 clientOrderId length (0..36)
 *                             16 u32 accountId  20 u32 assetId  24 u32 marketId
 *                             32 f64 seq  40 f64 timestampMs  48 f64 amountUnits  56 f64 priceTicks
 *                             64 f64 qtySteps  72 f64 quoteQtyUnits  80 f64 orderId
 *                             88..123 clientOrderId, ASCII [A-Za-z0-9_-]
 *   Trade (96 bytes)           0 u32 tag=2  4 u32 marketId  8 u32 takerAccountId  12 u32 makerAccountId
 *                             16 u8 takerSide
 *                             24 f64 tradeId  32 f64 seq  40 f64 timestampMs  48 f64 takerOrderId
 *                             56 f64 makerOrderId  64 f64 priceTicks  72 f64 qtySteps
 *                             80 f64 makerRemainingSteps  88 f64 takerRemainingSteps
 *   OrderDone (40 bytes)       0 u32 tag=3  4 u32 marketId  8 u32 accountId  12 u8 side  13 u8 reason
 *                             16 f64 orderId  24 f64 remainingSteps  32 f64 seq
 *   Level (32 bytes)           0 u32 tag=4  4 u32 marketId  8 u8 side  16 f64 priceTicks  24 f64 qtySteps
 *   CancelReject (24 bytes)    0 u32 tag=5  4 u32 accountId  8 f64 orderId  16 f64 seq
 *   CommandEnd (16 bytes)      0 u32 tag=6  4 u32 requestId  8 f64 seq
 *   Reject (24 bytes)          0 u32 tag=7  4 u32 requestId  8 u8 code  16 f64 duplicateOrderId
 *   Credit (24 bytes)          0 u32 tag=8  4 u32 accountId  8 u32 assetId  16 f64 amountUnits
 *   OrderClosed (16 bytes)     0 u32 tag=9  8 f64 orderId
 *   Balance (32 bytes)         0 u32 tag=10  4 u32 accountId  8 u32 assetId
 *                             16 f64 availableUnits  24 f64 lockedUnits
 *   Durable (16 bytes)         0 u32 tag=11  8 f64 durableSeq
 *   Accepted (24 bytes)        0 u32 tag=12  4 u32 requestId  8 f64 seq  16 f64 timestampMs
 */
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import {
  CLIENT_ORDER_ID_LENGTH_MAX,
  isClientOrderIdChar,
  CommandType,
  OrderType,
  Side,
  TimeInForce,
  createCommand,
} from '../domain/commands.ts';
import type { CancelRejectEvent, LevelEvent, OrderDoneEvent, TradeEvent } from '../domain/events.ts';
import { DoneReason } from '../domain/events.ts';
import { RejectCode } from '../domain/reject_codes.ts';
import { CHAR_CODE_SCRATCH } from '../domain/ascii.ts';

/** The typed-array views a codec needs; an SpscRing provides them over its data region. */
export interface SlotViews {
  readonly bytes: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
}

export const MESSAGE_SLOT_BYTES = 128;

export const MessageTag = {
  Command: 1,
  Trade: 2,
  OrderDone: 3,
  Level: 4,
  CancelReject: 5,
  CommandEnd: 6,
  Reject: 7,
  Credit: 8,
  OrderClosed: 9,
  Balance: 10,
  Durable: 11,
  Accepted: 12,
} as const;
export type MessageTag = (typeof MessageTag)[keyof typeof MessageTag];

/** Bytes each message uses, from the layouts above (asserted against the slot size below). */
export const MESSAGE_BYTES: Readonly<Record<MessageTag, number>> = {
  [MessageTag.Command]: 124,
  [MessageTag.Trade]: 96,
  [MessageTag.OrderDone]: 40,
  [MessageTag.Level]: 32,
  [MessageTag.CancelReject]: 24,
  [MessageTag.CommandEnd]: 16,
  [MessageTag.Reject]: 24,
  [MessageTag.Credit]: 24,
  [MessageTag.OrderClosed]: 16,
  [MessageTag.Balance]: 32,
  [MessageTag.Durable]: 16,
  [MessageTag.Accepted]: 24,
};

// ── Message shapes not already in domain/ ────────────────────────────────────────────────────

export interface CommandMessage {
  /** Correlation id the gateway gave the waiting HTTP request; echoed in CommandEnd and Reject. */
  requestId: number;
  command: Command;
}

export interface CommandEndMessage {
  seq: number;
  requestId: number;
}

export interface RejectMessage {
  requestId: number;
  code: RejectCode;
  /** The orderId accepted before under the same clientOrderId (code DuplicateClientOrderId), else 0. */
  duplicateOrderId: number;
}

export interface CreditMessage {
  accountId: number;
  assetId: number;
  amountUnits: number;
}

export interface OrderClosedMessage {
  orderId: number;
}

export interface BalanceMessage {
  accountId: number;
  assetId: number;
  availableUnits: number;
  lockedUnits: number;
}

export interface DurableMessage {
  durableSeq: number;
}

/**
 * A command the sequencer accepted, as settlement tells the gateway: what the sequencer stamped on
 * it. The gateway kept every other field of the command it submitted under `requestId`.
 */
export interface AcceptedMessage {
  requestId: number;
  seq: number;
  timestampMs: number;
}

export function createCommandMessage(): CommandMessage {
  return { requestId: 0, command: createCommand() };
}

export function createTradeEvent(): TradeEvent {
  return {
    marketId: 0,
    tradeId: 0,
    seq: 0,
    timestampMs: 0,
    takerOrderId: 0,
    takerAccountId: 0,
    takerSide: Side.Buy,
    makerOrderId: 0,
    makerAccountId: 0,
    priceTicks: 0,
    qtySteps: 0,
    makerRemainingSteps: 0,
    takerRemainingSteps: 0,
  };
}

export function createOrderDoneEvent(): OrderDoneEvent {
  return { marketId: 0, orderId: 0, accountId: 0, side: Side.Buy, reason: DoneReason.Filled, remainingSteps: 0, seq: 0 };
}

export function createLevelEvent(): LevelEvent {
  return { marketId: 0, side: Side.Buy, priceTicks: 0, qtySteps: 0 };
}

export function createCancelRejectEvent(): CancelRejectEvent {
  return { orderId: 0, accountId: 0, seq: 0 };
}

export function createCommandEndMessage(): CommandEndMessage {
  return { seq: 0, requestId: 0 };
}

export function createRejectMessage(): RejectMessage {
  return { requestId: 0, code: RejectCode.Validation, duplicateOrderId: 0 };
}

export function createCreditMessage(): CreditMessage {
  return { accountId: 0, assetId: 0, amountUnits: 0 };
}

export function createOrderClosedMessage(): OrderClosedMessage {
  return { orderId: 0 };
}

export function createBalanceMessage(): BalanceMessage {
  return { accountId: 0, assetId: 0, availableUnits: 0, lockedUnits: 0 };
}

export function createDurableMessage(): DurableMessage {
  return { durableSeq: 0 };
}

export function createAcceptedMessage(): AcceptedMessage {
  return { requestId: 0, seq: 0, timestampMs: 0 };
}

// ── Module-load checks ───────────────────────────────────────────────────────────────────────

const TAG_MAX = MessageTag.Accepted;
export const COMMAND_CLIENT_ORDER_ID_BYTE = 88;

assert(MESSAGE_SLOT_BYTES % 8 === 0, 'messages: slot size is a multiple of 8');
for (const tag of Object.values(MessageTag)) {
  assert(tag >= 1, 'messages: tag 0 is reserved so that a zeroed slot never decodes');
  assert(tag <= TAG_MAX, 'messages: TAG_MAX is the largest tag');
  assert(MESSAGE_BYTES[tag] <= MESSAGE_SLOT_BYTES, 'messages: every message fits one slot');
}
assert(
  COMMAND_CLIENT_ORDER_ID_BYTE + CLIENT_ORDER_ID_LENGTH_MAX === MESSAGE_BYTES[MessageTag.Command],
  'messages: the clientOrderId ends the Command layout',
);
assert(CLIENT_ORDER_ID_LENGTH_MAX <= 255, 'messages: the clientOrderId length fits a u8');

/** Call once when a stage attaches a ring: a smaller slot would overlap the next one silently. */
export function assertRingFitsMessages(ring: { readonly slotBytes: number }): void {
  assert(ring.slotBytes >= MESSAGE_SLOT_BYTES, 'messages: ring slotBytes is smaller than MESSAGE_SLOT_BYTES');
}

// ── Value checks (no allocation unless they fail) ────────────────────────────────────────────

const U32_MAX = 0xffffffff;

function fail(field: string, value: unknown, expected: string): never {
  throw new InvariantError(`ring message: ${field} must be ${expected}, got ${String(value)}`);
}

function enumTable(values: readonly number[]): Uint8Array {
  const table = new Uint8Array(256);
  for (const value of values) {
    assert(Number.isInteger(value) && value >= 0 && value <= 255, 'messages: enum values fit a u8');
    table[value] = 1;
  }
  return table;
}

const COMMAND_TYPES = enumTable(Object.values(CommandType));
const SIDES = enumTable(Object.values(Side));
const ORDER_TYPES = enumTable(Object.values(OrderType));
const TIMES_IN_FORCE = enumTable(Object.values(TimeInForce));
const DONE_REASONS = enumTable(Object.values(DoneReason));
const REJECT_CODES = enumTable(Object.values(RejectCode));

/** A non-negative safe integer (money, ids, seqs, timestamps). */
function checkUnits(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) fail(field, value, 'an integer from 0 to 2^53-1');
  return value;
}

function checkU32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) fail(field, value, 'an integer from 0 to 2^32-1');
  return value;
}

function checkEnum(value: number, table: Uint8Array, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 255 || table[value] !== 1) fail(field, value, 'a known value');
  return value;
}

/** The slot lies inside the data views, 8-byte aligned (a typed array ignores writes past its end). */
function checkSlot(views: SlotViews, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || (offset & 7) !== 0) fail('slot offset', offset, 'a non-negative multiple of 8');
  if (offset + MESSAGE_SLOT_BYTES > views.bytes.length) fail('slot offset', offset, 'a whole slot inside the data views');
}

function checkTag(views: SlotViews, offset: number, expected: MessageTag): void {
  checkSlot(views, offset);
  const tag = views.u32[offset >>> 2];
  if (tag !== expected) fail('tag', tag, `${expected}`);
}


/** Reads the tag of the slot at `offset` (validated), for dispatch before decoding. */
export function readTag(views: SlotViews, offset: number): MessageTag {
  checkSlot(views, offset);
  const tag = views.u32[offset >>> 2] ?? 0;
  if (tag < 1 || tag > TAG_MAX) fail('tag', tag, `1..${TAG_MAX}`);
  return tag as MessageTag;
}

// ── Command ──────────────────────────────────────────────────────────────────────────────

function checkClientOrderId(clientOrderId: string): void {
  if (typeof clientOrderId !== 'string') fail('command.clientOrderId', clientOrderId, 'a string');
  const length = clientOrderId.length;
  if (length > CLIENT_ORDER_ID_LENGTH_MAX) fail('command.clientOrderId', clientOrderId, 'at most 36 characters');
  for (let i = 0; i < length; i++) {
    if (!isClientOrderIdChar(clientOrderId.charCodeAt(i))) fail('command.clientOrderId', clientOrderId, 'ASCII [A-Za-z0-9_-]');
  }
}

function checkCommand(command: Readonly<Command>): void {
  checkEnum(command.type, COMMAND_TYPES, 'command.type');
  checkEnum(command.side, SIDES, 'command.side');
  checkEnum(command.orderType, ORDER_TYPES, 'command.orderType');
  checkEnum(command.timeInForce, TIMES_IN_FORCE, 'command.timeInForce');
  if (typeof command.postOnly !== 'boolean') fail('command.postOnly', command.postOnly, 'a boolean');
  checkU32(command.accountId, 'command.accountId');
  checkU32(command.assetId, 'command.assetId');
  checkU32(command.marketId, 'command.marketId');
  checkUnits(command.seq, 'command.seq');
  checkUnits(command.timestampMs, 'command.timestampMs');
  checkUnits(command.amountUnits, 'command.amountUnits');
  checkUnits(command.priceTicks, 'command.priceTicks');
  checkUnits(command.qtySteps, 'command.qtySteps');
  checkUnits(command.quoteQtyUnits, 'command.quoteQtyUnits');
  checkUnits(command.orderId, 'command.orderId');
  checkClientOrderId(command.clientOrderId);
}

export function encodeCommand(views: SlotViews, offset: number, message: Readonly<CommandMessage>): void {
  encodeCommandOf(views, offset, message.requestId, message.command);
}

/** `encodeCommand` of a command and a request id held apart (the gateway encodes the caller's command as it is). */
export function encodeCommandOf(views: SlotViews, offset: number, requestId: number, command: Readonly<Command>): void {
  checkSlot(views, offset);
  checkU32(requestId, 'requestId');
  checkCommand(command);
  views.u32[offset >>> 2] = MessageTag.Command;
  views.u32[(offset >>> 2) + 1] = requestId;
  writeCommandBody(views, offset, command);
}

/**
 * The command's fields in the command slot layout (everything after the tag and requestId words:
 * bytes 8..13, u32 words 4..7, f64 words 4..10, the clientOrderId from COMMAND_CLIENT_ORDER_ID_BYTE).
 * Shared with the WAL read ring's record slot (src/wal/record_slot.ts), which has its own tag, its own
 * checks and its own decoder. The caller has checked the slot and the command.
 */
export function writeCommandBody(views: SlotViews, offset: number, command: Readonly<Command>): void {
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  const clientOrderId = command.clientOrderId;
  const length = clientOrderId.length;
  bytes[offset + 8] = command.type;
  bytes[offset + 9] = command.side;
  bytes[offset + 10] = command.orderType;
  bytes[offset + 11] = command.timeInForce;
  bytes[offset + 12] = command.postOnly ? 1 : 0;
  bytes[offset + 13] = length;
  u32[w + 4] = command.accountId;
  u32[w + 5] = command.assetId;
  u32[w + 6] = command.marketId;
  u32[w + 7] = 0;
  f64[d + 4] = command.seq;
  f64[d + 5] = command.timestampMs;
  f64[d + 6] = command.amountUnits;
  f64[d + 7] = command.priceTicks;
  f64[d + 8] = command.qtySteps;
  f64[d + 9] = command.quoteQtyUnits;
  f64[d + 10] = command.orderId;
  const idStart = offset + COMMAND_CLIENT_ORDER_ID_BYTE;
  for (let i = 0; i < length; i++) bytes[idStart + i] = clientOrderId.charCodeAt(i);
}

export function decodeCommand(views: SlotViews, offset: number, into: CommandMessage): CommandMessage {
  checkTag(views, offset, MessageTag.Command);
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  const command = into.command;
  into.requestId = u32[w + 1] ?? 0;
  command.type = checkEnum(bytes[offset + 8] ?? 0, COMMAND_TYPES, 'command.type') as CommandType;
  command.side = checkEnum(bytes[offset + 9] ?? 0xff, SIDES, 'command.side') as Side;
  command.orderType = checkEnum(bytes[offset + 10] ?? 0xff, ORDER_TYPES, 'command.orderType') as OrderType;
  command.timeInForce = checkEnum(bytes[offset + 11] ?? 0xff, TIMES_IN_FORCE, 'command.timeInForce') as TimeInForce;
  const postOnly = bytes[offset + 12] ?? 0xff;
  if (postOnly > 1) fail('command.postOnly', postOnly, '0 or 1');
  command.postOnly = postOnly === 1;
  command.accountId = u32[w + 4] ?? 0;
  command.assetId = u32[w + 5] ?? 0;
  command.marketId = u32[w + 6] ?? 0;
  command.seq = checkUnits(f64[d + 4] ?? NaN, 'command.seq');
  command.timestampMs = checkUnits(f64[d + 5] ?? NaN, 'command.timestampMs');
  command.amountUnits = checkUnits(f64[d + 6] ?? NaN, 'command.amountUnits');
  command.priceTicks = checkUnits(f64[d + 7] ?? NaN, 'command.priceTicks');
  command.qtySteps = checkUnits(f64[d + 8] ?? NaN, 'command.qtySteps');
  command.quoteQtyUnits = checkUnits(f64[d + 9] ?? NaN, 'command.quoteQtyUnits');
  command.orderId = checkUnits(f64[d + 10] ?? NaN, 'command.orderId');
  command.clientOrderId = readClientOrderId(bytes, offset, command.clientOrderId);
  return into;
}

/**
 * The clientOrderId of a command slot body (length byte 13, ASCII from COMMAND_CLIENT_ORDER_ID_BYTE),
 * each byte checked. Returns `previous` when the slot holds the same id (no allocation), else a new
 * string. Shared with the WAL read ring's record slot (src/wal/record_slot.ts).
 */
export function readClientOrderId(bytes: Uint8Array, offset: number, previous: string): string {
  const length = bytes[offset + 13] ?? 0xff;
  if (length > CLIENT_ORDER_ID_LENGTH_MAX) fail('command.clientOrderId length', length, 'at most 36');
  const start = offset + COMMAND_CLIENT_ORDER_ID_BYTE;
  let same = previous.length === length;
  for (let i = 0; i < length; i++) {
    const code = bytes[start + i] ?? 0;
    if (!isClientOrderIdChar(code)) fail('command.clientOrderId byte', code, 'ASCII [A-Za-z0-9_-]');
    if (same && previous.charCodeAt(i) !== code) same = false;
  }
  if (same) return previous;
  const scratch = CHAR_CODE_SCRATCH[length];
  assert(scratch !== undefined, 'messages: a scratch array exists for every clientOrderId length');
  for (let i = 0; i < length; i++) scratch[i] = bytes[start + i] ?? 0;
  return String.fromCharCode.apply(null, scratch);
}

// ── Matching events ──────────────────────────────────────────────────────────────────────────

export function encodeTrade(views: SlotViews, offset: number, event: Readonly<TradeEvent>): void {
  checkSlot(views, offset);
  checkU32(event.marketId, 'trade.marketId');
  checkU32(event.takerAccountId, 'trade.takerAccountId');
  checkU32(event.makerAccountId, 'trade.makerAccountId');
  checkEnum(event.takerSide, SIDES, 'trade.takerSide');
  checkUnits(event.tradeId, 'trade.tradeId');
  checkUnits(event.seq, 'trade.seq');
  checkUnits(event.timestampMs, 'trade.timestampMs');
  checkUnits(event.takerOrderId, 'trade.takerOrderId');
  checkUnits(event.makerOrderId, 'trade.makerOrderId');
  checkUnits(event.priceTicks, 'trade.priceTicks');
  checkUnits(event.qtySteps, 'trade.qtySteps');
  checkUnits(event.makerRemainingSteps, 'trade.makerRemainingSteps');
  checkUnits(event.takerRemainingSteps, 'trade.takerRemainingSteps');
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  u32[w] = MessageTag.Trade;
  u32[w + 1] = event.marketId;
  u32[w + 2] = event.takerAccountId;
  u32[w + 3] = event.makerAccountId;
  bytes[offset + 16] = event.takerSide;
  f64[d + 3] = event.tradeId;
  f64[d + 4] = event.seq;
  f64[d + 5] = event.timestampMs;
  f64[d + 6] = event.takerOrderId;
  f64[d + 7] = event.makerOrderId;
  f64[d + 8] = event.priceTicks;
  f64[d + 9] = event.qtySteps;
  f64[d + 10] = event.makerRemainingSteps;
  f64[d + 11] = event.takerRemainingSteps;
}

export function decodeTrade(views: SlotViews, offset: number, into: TradeEvent): TradeEvent {
  checkTag(views, offset, MessageTag.Trade);
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  into.marketId = u32[w + 1] ?? 0;
  into.takerAccountId = u32[w + 2] ?? 0;
  into.makerAccountId = u32[w + 3] ?? 0;
  into.takerSide = checkEnum(bytes[offset + 16] ?? 0xff, SIDES, 'trade.takerSide') as Side;
  into.tradeId = checkUnits(f64[d + 3] ?? NaN, 'trade.tradeId');
  into.seq = checkUnits(f64[d + 4] ?? NaN, 'trade.seq');
  into.timestampMs = checkUnits(f64[d + 5] ?? NaN, 'trade.timestampMs');
  into.takerOrderId = checkUnits(f64[d + 6] ?? NaN, 'trade.takerOrderId');
  into.makerOrderId = checkUnits(f64[d + 7] ?? NaN, 'trade.makerOrderId');
  into.priceTicks = checkUnits(f64[d + 8] ?? NaN, 'trade.priceTicks');
  into.qtySteps = checkUnits(f64[d + 9] ?? NaN, 'trade.qtySteps');
  into.makerRemainingSteps = checkUnits(f64[d + 10] ?? NaN, 'trade.makerRemainingSteps');
  into.takerRemainingSteps = checkUnits(f64[d + 11] ?? NaN, 'trade.takerRemainingSteps');
  return into;
}

export function encodeOrderDone(views: SlotViews, offset: number, event: Readonly<OrderDoneEvent>): void {
  checkSlot(views, offset);
  checkU32(event.marketId, 'orderDone.marketId');
  checkU32(event.accountId, 'orderDone.accountId');
  checkEnum(event.side, SIDES, 'orderDone.side');
  checkEnum(event.reason, DONE_REASONS, 'orderDone.reason');
  checkUnits(event.orderId, 'orderDone.orderId');
  checkUnits(event.remainingSteps, 'orderDone.remainingSteps');
  checkUnits(event.seq, 'orderDone.seq');
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  u32[w] = MessageTag.OrderDone;
  u32[w + 1] = event.marketId;
  u32[w + 2] = event.accountId;
  bytes[offset + 12] = event.side;
  bytes[offset + 13] = event.reason;
  f64[d + 2] = event.orderId;
  f64[d + 3] = event.remainingSteps;
  f64[d + 4] = event.seq;
}

export function decodeOrderDone(views: SlotViews, offset: number, into: OrderDoneEvent): OrderDoneEvent {
  checkTag(views, offset, MessageTag.OrderDone);
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  into.marketId = u32[w + 1] ?? 0;
  into.accountId = u32[w + 2] ?? 0;
  into.side = checkEnum(bytes[offset + 12] ?? 0xff, SIDES, 'orderDone.side') as Side;
  into.reason = checkEnum(bytes[offset + 13] ?? 0, DONE_REASONS, 'orderDone.reason') as DoneReason;
  into.orderId = checkUnits(f64[d + 2] ?? NaN, 'orderDone.orderId');
  into.remainingSteps = checkUnits(f64[d + 3] ?? NaN, 'orderDone.remainingSteps');
  into.seq = checkUnits(f64[d + 4] ?? NaN, 'orderDone.seq');
  return into;
}

export function encodeLevel(views: SlotViews, offset: number, event: Readonly<LevelEvent>): void {
  checkSlot(views, offset);
  checkU32(event.marketId, 'level.marketId');
  checkEnum(event.side, SIDES, 'level.side');
  checkUnits(event.priceTicks, 'level.priceTicks');
  checkUnits(event.qtySteps, 'level.qtySteps');
  const w = offset >>> 2;
  const d = offset >>> 3;
  views.u32[w] = MessageTag.Level;
  views.u32[w + 1] = event.marketId;
  views.bytes[offset + 8] = event.side;
  views.f64[d + 2] = event.priceTicks;
  views.f64[d + 3] = event.qtySteps;
}

export function decodeLevel(views: SlotViews, offset: number, into: LevelEvent): LevelEvent {
  checkTag(views, offset, MessageTag.Level);
  const d = offset >>> 3;
  into.marketId = views.u32[(offset >>> 2) + 1] ?? 0;
  into.side = checkEnum(views.bytes[offset + 8] ?? 0xff, SIDES, 'level.side') as Side;
  into.priceTicks = checkUnits(views.f64[d + 2] ?? NaN, 'level.priceTicks');
  into.qtySteps = checkUnits(views.f64[d + 3] ?? NaN, 'level.qtySteps');
  return into;
}

/**
 * The layout CancelReject and Accepted share: tag, a u32 id, then two unit values (f64 words 1
 * and 2). `names` are the fields' names for the errors: [id, first, second].
 */
function encodeIdTwoUnits(views: SlotViews, offset: number, tag: number, id: number, first: number, second: number, names: readonly [string, string, string]): void {
  checkSlot(views, offset);
  checkU32(id, names[0]);
  checkUnits(first, names[1]);
  checkUnits(second, names[2]);
  const d = offset >>> 3;
  views.u32[offset >>> 2] = tag;
  views.u32[(offset >>> 2) + 1] = id;
  views.f64[d + 1] = first;
  views.f64[d + 2] = second;
}

/** The id of an id-and-two-units slot whose tag was checked. */
function slotId(views: SlotViews, offset: number): number {
  return views.u32[(offset >>> 2) + 1] ?? 0;
}

/** Unit value `word` (1 or 2) of an id-and-two-units slot, checked. */
function slotUnits(views: SlotViews, offset: number, word: 1 | 2, name: string): number {
  return checkUnits(views.f64[(offset >>> 3) + word] ?? NaN, name);
}

const CANCEL_REJECT_FIELDS = ['cancelReject.accountId', 'cancelReject.orderId', 'cancelReject.seq'] as const;

export function encodeCancelReject(views: SlotViews, offset: number, event: Readonly<CancelRejectEvent>): void {
  encodeIdTwoUnits(views, offset, MessageTag.CancelReject, event.accountId, event.orderId, event.seq, CANCEL_REJECT_FIELDS);
}

export function decodeCancelReject(views: SlotViews, offset: number, into: CancelRejectEvent): CancelRejectEvent {
  checkTag(views, offset, MessageTag.CancelReject);
  into.accountId = slotId(views, offset);
  into.orderId = slotUnits(views, offset, 1, CANCEL_REJECT_FIELDS[1]);
  into.seq = slotUnits(views, offset, 2, CANCEL_REJECT_FIELDS[2]);
  return into;
}

// ── Pipeline control messages ────────────────────────────────────────────────────────────────

export function encodeCommandEnd(views: SlotViews, offset: number, message: Readonly<CommandEndMessage>): void {
  checkSlot(views, offset);
  checkU32(message.requestId, 'commandEnd.requestId');
  checkUnits(message.seq, 'commandEnd.seq');
  const w = offset >>> 2;
  views.u32[w] = MessageTag.CommandEnd;
  views.u32[w + 1] = message.requestId;
  views.f64[(offset >>> 3) + 1] = message.seq;
}

export function decodeCommandEnd(views: SlotViews, offset: number, into: CommandEndMessage): CommandEndMessage {
  checkTag(views, offset, MessageTag.CommandEnd);
  into.requestId = views.u32[(offset >>> 2) + 1] ?? 0;
  into.seq = checkUnits(views.f64[(offset >>> 3) + 1] ?? NaN, 'commandEnd.seq');
  return into;
}

/** A reject is a refusal (never None) and names an earlier order only for a duplicate clientOrderId. */
function checkRejectPair(code: number, duplicateOrderId: number): void {
  if (code === RejectCode.None) fail('reject.code', code, 'a refusal, not None');
  if (code !== RejectCode.DuplicateClientOrderId && duplicateOrderId !== 0) {
    fail('reject.duplicateOrderId', duplicateOrderId, '0 unless the code is DuplicateClientOrderId');
  }
}

export function encodeReject(views: SlotViews, offset: number, message: Readonly<RejectMessage>): void {
  checkSlot(views, offset);
  checkU32(message.requestId, 'reject.requestId');
  checkEnum(message.code, REJECT_CODES, 'reject.code');
  checkUnits(message.duplicateOrderId, 'reject.duplicateOrderId');
  checkRejectPair(message.code, message.duplicateOrderId);
  const w = offset >>> 2;
  views.u32[w] = MessageTag.Reject;
  views.u32[w + 1] = message.requestId;
  views.bytes[offset + 8] = message.code;
  views.f64[(offset >>> 3) + 2] = message.duplicateOrderId;
}

export function decodeReject(views: SlotViews, offset: number, into: RejectMessage): RejectMessage {
  checkTag(views, offset, MessageTag.Reject);
  const code = checkEnum(views.bytes[offset + 8] ?? 0xff, REJECT_CODES, 'reject.code');
  const duplicateOrderId = checkUnits(views.f64[(offset >>> 3) + 2] ?? NaN, 'reject.duplicateOrderId');
  checkRejectPair(code, duplicateOrderId);
  into.requestId = views.u32[(offset >>> 2) + 1] ?? 0;
  into.code = code as RejectCode;
  into.duplicateOrderId = duplicateOrderId;
  return into;
}

export function encodeCredit(views: SlotViews, offset: number, message: Readonly<CreditMessage>): void {
  checkSlot(views, offset);
  checkU32(message.accountId, 'credit.accountId');
  checkU32(message.assetId, 'credit.assetId');
  checkUnits(message.amountUnits, 'credit.amountUnits');
  const w = offset >>> 2;
  views.u32[w] = MessageTag.Credit;
  views.u32[w + 1] = message.accountId;
  views.u32[w + 2] = message.assetId;
  views.f64[(offset >>> 3) + 2] = message.amountUnits;
}

export function decodeCredit(views: SlotViews, offset: number, into: CreditMessage): CreditMessage {
  checkTag(views, offset, MessageTag.Credit);
  const w = offset >>> 2;
  into.accountId = views.u32[w + 1] ?? 0;
  into.assetId = views.u32[w + 2] ?? 0;
  into.amountUnits = checkUnits(views.f64[(offset >>> 3) + 2] ?? NaN, 'credit.amountUnits');
  return into;
}

export function encodeOrderClosed(views: SlotViews, offset: number, message: Readonly<OrderClosedMessage>): void {
  checkSlot(views, offset);
  checkUnits(message.orderId, 'orderClosed.orderId');
  views.u32[offset >>> 2] = MessageTag.OrderClosed;
  views.f64[(offset >>> 3) + 1] = message.orderId;
}

export function decodeOrderClosed(views: SlotViews, offset: number, into: OrderClosedMessage): OrderClosedMessage {
  checkTag(views, offset, MessageTag.OrderClosed);
  into.orderId = checkUnits(views.f64[(offset >>> 3) + 1] ?? NaN, 'orderClosed.orderId');
  return into;
}

export function encodeBalance(views: SlotViews, offset: number, message: Readonly<BalanceMessage>): void {
  checkSlot(views, offset);
  checkU32(message.accountId, 'balance.accountId');
  checkU32(message.assetId, 'balance.assetId');
  checkUnits(message.availableUnits, 'balance.availableUnits');
  checkUnits(message.lockedUnits, 'balance.lockedUnits');
  const w = offset >>> 2;
  const d = offset >>> 3;
  views.u32[w] = MessageTag.Balance;
  views.u32[w + 1] = message.accountId;
  views.u32[w + 2] = message.assetId;
  views.f64[d + 2] = message.availableUnits;
  views.f64[d + 3] = message.lockedUnits;
}

export function decodeBalance(views: SlotViews, offset: number, into: BalanceMessage): BalanceMessage {
  checkTag(views, offset, MessageTag.Balance);
  const w = offset >>> 2;
  const d = offset >>> 3;
  into.accountId = views.u32[w + 1] ?? 0;
  into.assetId = views.u32[w + 2] ?? 0;
  into.availableUnits = checkUnits(views.f64[d + 2] ?? NaN, 'balance.availableUnits');
  into.lockedUnits = checkUnits(views.f64[d + 3] ?? NaN, 'balance.lockedUnits');
  return into;
}

export function encodeDurable(views: SlotViews, offset: number, message: Readonly<DurableMessage>): void {
  checkSlot(views, offset);
  checkUnits(message.durableSeq, 'durable.durableSeq');
  views.u32[offset >>> 2] = MessageTag.Durable;
  views.f64[(offset >>> 3) + 1] = message.durableSeq;
}

export function decodeDurable(views: SlotViews, offset: number, into: DurableMessage): DurableMessage {
  checkTag(views, offset, MessageTag.Durable);
  into.durableSeq = checkUnits(views.f64[(offset >>> 3) + 1] ?? NaN, 'durable.durableSeq');
  return into;
}

const ACCEPTED_FIELDS = ['accepted.requestId', 'accepted.seq', 'accepted.timestampMs'] as const;

export function encodeAccepted(views: SlotViews, offset: number, message: Readonly<AcceptedMessage>): void {
  encodeIdTwoUnits(views, offset, MessageTag.Accepted, message.requestId, message.seq, message.timestampMs, ACCEPTED_FIELDS);
}

export function decodeAccepted(views: SlotViews, offset: number, into: AcceptedMessage): AcceptedMessage {
  checkTag(views, offset, MessageTag.Accepted);
  into.requestId = slotId(views, offset);
  into.seq = slotUnits(views, offset, 1, ACCEPTED_FIELDS[1]);
  into.timestampMs = slotUnits(views, offset, 2, ACCEPTED_FIELDS[2]);
  return into;
}
