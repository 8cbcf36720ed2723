/**
 * The slot codec of the WAL read ring (wal_read_thread.ts): one verified WAL record per 128-byte
 * slot, written by the reader thread, read by the thread that applies it.
 *
 * Lean on purpose: reading a slot is on the critical path of a replay, which is what the reader
 * thread exists to shorten. The record was verified where it was read (CRC chain, lengths, body,
 * `commandFault`), and the encoder asserts it is a valid command once more; the decoder checks the
 * slot's tag and request, the type, the id length and characters, and the caller checks that seqs
 * arrive +1 each. No allocation except a clientOrderId's string.
 *
 * Layout (little-endian words), the body being the pipeline's command slot body (writeCommandBody):
 *   u32[0]   tag: SLOT_RECORD or SLOT_END
 *   u32[1]   requestId
 *   u8 8..13 type, side, orderType, timeInForce, postOnly (0/1), clientOrderId length
 *   u32[4..7] accountId, assetId, marketId, 0
 *   f64[4..10] seq, timestampMs, amountUnits, priceTicks, qtySteps, quoteQtyUnits, orderId
 *   bytes 88..123 clientOrderId (ASCII)
 * An end slot holds the tag, the requestId and in f64[4] the last seq delivered.
 */
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command, CommandType, OrderType, Side, TimeInForce } from '../domain/commands.ts';
import { CLIENT_ORDER_ID_LENGTH_MAX } from '../domain/commands.ts';
import type { SlotViews } from '../ring/messages.ts';
import { COMMAND_CLIENT_ORDER_ID_BYTE, readClientOrderId, writeCommandBody } from '../ring/messages.ts';
import { assertValidCommand } from './record_codec.ts';

export const RECORD_SLOT_BYTES = 128;
export const SLOT_RECORD = 0x52574c57; // "WLWR"
export const SLOT_END = 0x45574c57; // "WLWE"
/** The body is the pipeline's command slot layout (ring/messages.ts writeCommandBody). */
const ID_BYTE = COMMAND_CLIENT_ORDER_ID_BYTE;
const TYPE_MIN = 1;
const TYPE_MAX = 4;

assert(ID_BYTE + CLIENT_ORDER_ID_LENGTH_MAX <= RECORD_SLOT_BYTES, 'record slot: the clientOrderId fits the slot');
assert(ID_BYTE >= 11 * 8, 'record slot: the clientOrderId starts after the f64 fields');
assert(RECORD_SLOT_BYTES % 8 === 0, 'record slot: slots keep f64 alignment');

function checkOffset(views: SlotViews, offset: number): void {
  if ((offset & 7) !== 0 || offset < 0 || offset + RECORD_SLOT_BYTES > views.bytes.length) {
    throw new InvariantError(`record slot: bad slot offset ${offset}`);
  }
}

export function encodeRecordSlot(views: SlotViews, offset: number, requestId: number, command: Readonly<Command>): void {
  checkOffset(views, offset);
  assertValidCommand(command);
  views.u32[offset >>> 2] = SLOT_RECORD;
  views.u32[(offset >>> 2) + 1] = requestId;
  writeCommandBody(views, offset, command);
}

export function encodeEndSlot(views: SlotViews, offset: number, requestId: number, lastSeq: number): void {
  checkOffset(views, offset);
  assert(Number.isSafeInteger(lastSeq) && lastSeq >= 0, 'record slot: the last seq is a safe integer >= 0');
  views.u32[offset >>> 2] = SLOT_END;
  views.u32[(offset >>> 2) + 1] = requestId;
  views.f64[(offset >>> 3) + 4] = lastSeq;
}

/** The slot's tag after checking it is one of the two; and that it belongs to `requestId`. */
export function slotTag(views: SlotViews, offset: number, requestId: number): number {
  checkOffset(views, offset);
  const tag = views.u32[offset >>> 2]!;
  if (tag !== SLOT_RECORD && tag !== SLOT_END) throw new InvariantError(`record slot: bad tag ${tag}`);
  if (views.u32[(offset >>> 2) + 1] !== requestId) throw new InvariantError('record slot: a slot of another request');
  return tag;
}

export function endSlotSeq(views: SlotViews, offset: number): number {
  return views.f64[(offset >>> 3) + 4]!;
}

/** Every field of `into` is written (a reused Command). */
export function decodeRecordSlot(views: SlotViews, offset: number, into: Command): void {
  const { bytes, u32, f64 } = views;
  const w = offset >>> 2;
  const d = offset >>> 3;
  const type = bytes[offset + 8]!;
  if (type < TYPE_MIN || type > TYPE_MAX) throw new InvariantError(`record slot: bad command type ${type}`);
  into.type = type as CommandType;
  into.side = bytes[offset + 9]! as Side;
  into.orderType = bytes[offset + 10]! as OrderType;
  into.timeInForce = bytes[offset + 11]! as TimeInForce;
  into.postOnly = bytes[offset + 12] === 1;
  into.accountId = u32[w + 4]!;
  into.assetId = u32[w + 5]!;
  into.marketId = u32[w + 6]!;
  into.seq = f64[d + 4]!;
  into.timestampMs = f64[d + 5]!;
  into.amountUnits = f64[d + 6]!;
  into.priceTicks = f64[d + 7]!;
  into.qtySteps = f64[d + 8]!;
  into.quoteQtyUnits = f64[d + 9]!;
  into.orderId = f64[d + 10]!;
  into.clientOrderId = readClientOrderId(bytes, offset, into.clientOrderId);
}
