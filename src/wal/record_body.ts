/**
 * The body of a WAL record: a msgpack array of only the fields its command type uses.
 *
 *   Deposit, Withdraw  [accountId, assetId, amountUnits]
 *   Place              [accountId, marketId, flags, priceTicks, qtySteps, quoteQtyUnits, clientOrderId?]
 *                      flags = side | orderType << 1 | timeInForce << 2 | postOnly << 4;
 *                      clientOrderId is left out when the client gave none
 *   Cancel             [accountId, orderId]
 *
 * The bodies are standard msgpack that any decoder reads. Writing and reading them through
 * `@msgpack/msgpack` was about half of the WAL's CPU time (a generic walk over a reused array, a
 * result array per record, views and copies), so the hot path is written by hand for these few
 * shapes:
 *
 * - `writeBody` writes exactly the bytes `@msgpack/msgpack`'s `encode(bodyFields(command))` writes
 *   (smallest unsigned integer format, fixstr / str 8): checked at module load and in the tests.
 * - `BodyDecoder.read` parses the bodies `writeBody` writes (and any other unsigned integer width)
 *   straight into the Command. Anything else, however unusual (a float that holds an integer, a
 *   non-ASCII string, a malformed body), goes to `@msgpack/msgpack`'s decoder, the reference that
 *   decides what a valid body is; so a body is accepted exactly when the library's reading of it is.
 *
 * Neither side checks ranges: the record codec runs commandFault on the command before it is
 * encoded and after it is decoded.
 */
import { Decoder, encode as msgpackEncode } from '@msgpack/msgpack';
import { assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import { CLIENT_ORDER_ID_LENGTH_MAX, CommandType, OrderType, Side, TimeInForce, createCommand } from '../domain/commands.ts';
import { CHAR_CODE_SCRATCH } from '../domain/ascii.ts';

/** The largest body the decoder accepts (the largest real one, a place with every field at its maximum, is ~76 bytes). */
export const RECORD_BODY_BYTES_MAX = 128;

export const BODY_FIELDS_FUNDS = 3;
export const BODY_FIELDS_PLACE = 6;
export const BODY_FIELDS_PLACE_WITH_ID = 7;
export const BODY_FIELDS_CANCEL = 2;

const TWO_POW_32 = 4294967296;
/** High word of Number.MAX_SAFE_INTEGER: a u64 above it is not an exact JavaScript number. */
const SAFE_HIGH_WORD_MAX = 0x1fffff;

// msgpack format bytes (https://github.com/msgpack/msgpack/blob/master/spec.md).
const MSGPACK_POSITIVE_FIXINT_MAX = 0x7f;
const MSGPACK_FIXARRAY = 0x90;
const MSGPACK_FIXSTR = 0xa0;
const MSGPACK_FIXSTR_LENGTH_MAX = 31;
const MSGPACK_UINT8 = 0xcc;
const MSGPACK_UINT16 = 0xcd;
const MSGPACK_UINT32 = 0xce;
const MSGPACK_UINT64 = 0xcf;
const MSGPACK_STR8 = 0xd9;
const MSGPACK_STR8_LENGTH_MAX = 0xff;
const ASCII_MAX = 0x7f;
/** Longer strings (no valid body has one) go to the library. */
const ASCII_STRING_LENGTH_MAX = CLIENT_ORDER_ID_LENGTH_MAX;


// ---------------------------------------------------------------------------------------------
// Place flags: side, order type, time in force and post-only packed in one small integer (one
// msgpack byte instead of four fields, which is measurably faster to encode and decode).

const FLAG_SIDE_SHIFT = 0;
const FLAG_ORDER_TYPE_SHIFT = 1;
const FLAG_TIME_IN_FORCE_SHIFT = 2;
const FLAG_POST_ONLY_SHIFT = 4;
const PLACE_FLAGS_MAX = 0b11111;
assert(Side.Sell <= 1, 'place flags: side takes one bit');
assert(OrderType.Market <= 1, 'place flags: order type takes one bit');
assert(TimeInForce.FOK <= 3, 'place flags: time in force takes two bits');
assert(PLACE_FLAGS_MAX <= MSGPACK_POSITIVE_FIXINT_MAX, 'place flags: always one msgpack byte');

/** Only called after commandFault accepted the command, so every field is in its range. */
export function placeFlags(command: Readonly<Command>): number {
  return (
    (command.side << FLAG_SIDE_SHIFT) |
    (command.orderType << FLAG_ORDER_TYPE_SHIFT) |
    (command.timeInForce << FLAG_TIME_IN_FORCE_SHIFT) |
    ((command.postOnly ? 1 : 0) << FLAG_POST_ONLY_SHIFT)
  );
}

/** Unpacks into `command`; false for a value that no command encodes (commandFault checks the rest). */
function unpackPlaceFlags(flags: number, command: Command): boolean {
  if (!Number.isInteger(flags) || flags < 0 || flags > PLACE_FLAGS_MAX) return false;
  command.side = ((flags >>> FLAG_SIDE_SHIFT) & 1) as Side;
  command.orderType = ((flags >>> FLAG_ORDER_TYPE_SHIFT) & 1) as OrderType;
  command.timeInForce = ((flags >>> FLAG_TIME_IN_FORCE_SHIFT) & 3) as TimeInForce;
  command.postOnly = ((flags >>> FLAG_POST_ONLY_SHIFT) & 1) === 1;
  return true;
}

/** The body as a plain array: what `writeBody` encodes, for the library cross-checks (allocates). */
export function bodyFields(command: Readonly<Command>): Array<number | string> {
  switch (command.type) {
    case CommandType.Deposit:
    case CommandType.Withdraw:
      return [command.accountId, command.assetId, command.amountUnits];
    case CommandType.Place: {
      const fields: Array<number | string> = [
        command.accountId,
        command.marketId,
        placeFlags(command),
        command.priceTicks,
        command.qtySteps,
        command.quoteQtyUnits,
      ];
      if (command.clientOrderId !== '') fields.push(command.clientOrderId);
      return fields;
    }
    case CommandType.Cancel:
      return [command.accountId, command.orderId];
  }
}

// ---------------------------------------------------------------------------------------------
// Encoder

function writeU32BigEndian(target: Uint8Array, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = (value >>> 16) & 0xff;
  target[at + 2] = (value >>> 8) & 0xff;
  target[at + 3] = value & 0xff;
}

/** A safe integer >= 0 in the smallest msgpack format, as `@msgpack/msgpack` writes it; returns the end. */
function writeUint(target: Uint8Array, at: number, value: number): number {
  if (value <= MSGPACK_POSITIVE_FIXINT_MAX) {
    target[at] = value;
    return at + 1;
  }
  if (value < 0x100) {
    target[at] = MSGPACK_UINT8;
    target[at + 1] = value;
    return at + 2;
  }
  if (value < 0x10000) {
    target[at] = MSGPACK_UINT16;
    target[at + 1] = value >>> 8;
    target[at + 2] = value & 0xff;
    return at + 3;
  }
  if (value < TWO_POW_32) {
    target[at] = MSGPACK_UINT32;
    writeU32BigEndian(target, at + 1, value);
    return at + 5;
  }
  const low = value >>> 0;
  target[at] = MSGPACK_UINT64;
  writeU32BigEndian(target, at + 1, (value - low) / TWO_POW_32);
  writeU32BigEndian(target, at + 5, low);
  return at + 9;
}

/** An ASCII string (a valid clientOrderId is) as fixstr or str 8; returns the end. */
function writeAsciiString(target: Uint8Array, at: number, text: string): number {
  const length = text.length;
  assert(length <= MSGPACK_STR8_LENGTH_MAX, 'writeBody: string longer than a str 8');
  if (length <= MSGPACK_FIXSTR_LENGTH_MAX) {
    target[at] = MSGPACK_FIXSTR | length;
    at += 1;
  } else {
    target[at] = MSGPACK_STR8;
    target[at + 1] = length;
    at += 2;
  }
  let codes = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    codes |= code;
    target[at + i] = code;
  }
  assert(codes <= ASCII_MAX, 'writeBody: string is not ASCII');
  return at + length;
}

/**
 * Writes the body of a command that commandFault accepted at `target[offset..]` and returns where
 * it ends. A body that runs past the end of `target` is cut silently (typed array stores out of
 * range are ignored): the caller checks the returned end against the target's length.
 */
export function writeBody(command: Readonly<Command>, target: Uint8Array, offset: number): number {
  let at = offset;
  switch (command.type) {
    case CommandType.Deposit:
    case CommandType.Withdraw:
      target[at] = MSGPACK_FIXARRAY | BODY_FIELDS_FUNDS;
      at = writeUint(target, at + 1, command.accountId);
      at = writeUint(target, at, command.assetId);
      return writeUint(target, at, command.amountUnits);
    case CommandType.Place: {
      const withId = command.clientOrderId !== '';
      target[at] = MSGPACK_FIXARRAY | (withId ? BODY_FIELDS_PLACE_WITH_ID : BODY_FIELDS_PLACE);
      at = writeUint(target, at + 1, command.accountId);
      at = writeUint(target, at, command.marketId);
      target[at] = placeFlags(command);
      at = writeUint(target, at + 1, command.priceTicks);
      at = writeUint(target, at, command.qtySteps);
      at = writeUint(target, at, command.quoteQtyUnits);
      return withId ? writeAsciiString(target, at, command.clientOrderId) : at;
    }
    case CommandType.Cancel:
      target[at] = MSGPACK_FIXARRAY | BODY_FIELDS_CANCEL;
      at = writeUint(target, at + 1, command.accountId);
      return writeUint(target, at, command.orderId);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoder

function readU32BigEndian(source: Uint8Array, at: number): number {
  return ((source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!) >>> 0;
}

export class BodyDecoder {
  /** Where the fast path has read up to in the current body. */
  private at = 0;
  private readonly msgpack = new Decoder({
    maxStrLength: RECORD_BODY_BYTES_MAX,
    maxBinLength: RECORD_BODY_BYTES_MAX,
    maxArrayLength: BODY_FIELDS_PLACE_WITH_ID,
    maxMapLength: 0,
    maxExtLength: 0,
  });

  /**
   * Copies the fields of the body at `source[start, end)` into `command`, whose `type` is already
   * set and whose other body fields hold their defaults. Returns why it cannot, or null.
   */
  read(source: Uint8Array, start: number, end: number, command: Command): string | null {
    if (this.readCommon(source, start, end, command)) return null;
    return this.readReference(source, start, end, command);
  }

  /** Like `read`, through `@msgpack/msgpack` alone: the reference the fast path is tested against. */
  readReference(source: Uint8Array, start: number, end: number, command: Command): string | null {
    return this.readWithLibrary(new Uint8Array(source.buffer, source.byteOffset + start, end - start), command);
  }

  /** The fast path: true when the body is one of the usual shapes and was read whole. */
  private readCommon(source: Uint8Array, start: number, end: number, command: Command): boolean {
    if (start >= end) return false;
    const head = source[start]!;
    this.at = start + 1;
    switch (command.type) {
      case CommandType.Deposit:
      case CommandType.Withdraw: {
        if (head !== (MSGPACK_FIXARRAY | BODY_FIELDS_FUNDS)) return false;
        const accountId = this.uint(source, end);
        const assetId = this.uint(source, end);
        const amountUnits = this.uint(source, end);
        if (accountId < 0 || assetId < 0 || amountUnits < 0) return false;
        command.accountId = accountId;
        command.assetId = assetId;
        command.amountUnits = amountUnits;
        return this.at === end;
      }
      case CommandType.Place:
        return this.readPlace(source, end, head, command);
      case CommandType.Cancel: {
        if (head !== (MSGPACK_FIXARRAY | BODY_FIELDS_CANCEL)) return false;
        const accountId = this.uint(source, end);
        const orderId = this.uint(source, end);
        if (accountId < 0 || orderId < 0) return false;
        command.accountId = accountId;
        command.orderId = orderId;
        return this.at === end;
      }
      default:
        return false;
    }
  }

  private readPlace(source: Uint8Array, end: number, head: number, command: Command): boolean {
    const withId = head === (MSGPACK_FIXARRAY | BODY_FIELDS_PLACE_WITH_ID);
    if (!withId && head !== (MSGPACK_FIXARRAY | BODY_FIELDS_PLACE)) return false;
    const accountId = this.uint(source, end);
    const marketId = this.uint(source, end);
    const flags = this.uint(source, end);
    const priceTicks = this.uint(source, end);
    const qtySteps = this.uint(source, end);
    const quoteQtyUnits = this.uint(source, end);
    if (accountId < 0 || marketId < 0 || priceTicks < 0 || qtySteps < 0 || quoteQtyUnits < 0) return false;
    if (!unpackPlaceFlags(flags, command)) return false;
    command.accountId = accountId;
    command.marketId = marketId;
    command.priceTicks = priceTicks;
    command.qtySteps = qtySteps;
    command.quoteQtyUnits = quoteQtyUnits;
    if (withId) {
      const clientOrderId = this.asciiString(source, end);
      if (clientOrderId === null) return false;
      command.clientOrderId = clientOrderId;
    }
    return this.at === end;
  }

  /** A msgpack unsigned integer that is a safe integer, or -1 for anything else (or too few bytes). */
  private uint(source: Uint8Array, end: number): number {
    const at = this.at;
    if (at >= end) return -1;
    const format = source[at]!;
    if (format <= MSGPACK_POSITIVE_FIXINT_MAX) {
      this.at = at + 1;
      return format;
    }
    switch (format) {
      case MSGPACK_UINT8:
        if (at + 2 > end) return -1;
        this.at = at + 2;
        return source[at + 1]!;
      case MSGPACK_UINT16:
        if (at + 3 > end) return -1;
        this.at = at + 3;
        return (source[at + 1]! << 8) | source[at + 2]!;
      case MSGPACK_UINT32:
        if (at + 5 > end) return -1;
        this.at = at + 5;
        return readU32BigEndian(source, at + 1);
      case MSGPACK_UINT64: {
        if (at + 9 > end) return -1;
        const high = readU32BigEndian(source, at + 1);
        if (high > SAFE_HIGH_WORD_MAX) return -1;
        this.at = at + 9;
        return high * TWO_POW_32 + readU32BigEndian(source, at + 5);
      }
      default:
        return -1;
    }
  }

  /** A non-empty fixstr or str 8 of ASCII characters, or null for anything else. */
  private asciiString(source: Uint8Array, end: number): string | null {
    let at = this.at;
    if (at >= end) return null;
    const format = source[at]!;
    let length: number;
    if (format > MSGPACK_FIXSTR && format <= (MSGPACK_FIXSTR | MSGPACK_FIXSTR_LENGTH_MAX)) {
      length = format - MSGPACK_FIXSTR;
      at += 1;
    } else if (format === MSGPACK_STR8 && at + 1 < end) {
      length = source[at + 1]!;
      at += 2;
    } else {
      return null;
    }
    const stringEnd = at + length;
    if (length === 0 || length > ASCII_STRING_LENGTH_MAX || stringEnd > end) return null;
    const codes = CHAR_CODE_SCRATCH[length]!;
    for (let i = 0; i < length; i++) {
      const code = source[at + i]!;
      if (code > ASCII_MAX) return null;
      codes[i] = code;
    }
    this.at = stringEnd;
    return String.fromCharCode.apply(null, codes);
  }

  /** The reference path: `@msgpack/msgpack` decodes the body, then the fields are checked for shape. */
  private readWithLibrary(body: Uint8Array, command: Command): string | null {
    let decoded: unknown;
    try {
      decoded = this.msgpack.decode(body);
    } catch {
      return 'body is not valid msgpack';
    }
    if (!Array.isArray(decoded)) return 'body is not an array';
    // The fields are `unknown` here; they are stored as they are and commandFault (run next by
    // the record decoder) rejects anything that is not of the right type and range.
    const fields = decoded as never[];
    switch (command.type) {
      case CommandType.Deposit:
      case CommandType.Withdraw:
        if (fields.length !== BODY_FIELDS_FUNDS) return 'funds body has the wrong number of fields';
        command.accountId = fields[0]!;
        command.assetId = fields[1]!;
        command.amountUnits = fields[2]!;
        return null;
      case CommandType.Place: {
        const length = fields.length;
        if (length !== BODY_FIELDS_PLACE && length !== BODY_FIELDS_PLACE_WITH_ID) return 'place body has the wrong number of fields';
        command.accountId = fields[0]!;
        command.marketId = fields[1]!;
        if (!unpackPlaceFlags(fields[2]!, command)) return 'place flags out of range';
        command.priceTicks = fields[3]!;
        command.qtySteps = fields[4]!;
        command.quoteQtyUnits = fields[5]!;
        if (length === BODY_FIELDS_PLACE_WITH_ID) {
          command.clientOrderId = fields[6]!;
          // An empty id is encoded by leaving the field out, never as '': one encoding per command.
          if (command.clientOrderId === '') return 'clientOrderId present but empty';
        }
        return null;
      }
      case CommandType.Cancel:
        if (fields.length !== BODY_FIELDS_CANCEL) return 'cancel body has the wrong number of fields';
        command.accountId = fields[0]!;
        command.orderId = fields[1]!;
        return null;
      default:
        return 'unknown command type';
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checked once at module load: the hand-written encoder writes the library's bytes for every body
// shape and every integer width, and the decoder reads them back.

function crossCheckWithLibrary(): boolean {
  const widths = [0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER];
  const target = new Uint8Array(RECORD_BODY_BYTES_MAX);
  const decoder = new BodyDecoder();
  for (let index = 0; index < widths.length; index++) {
    const value = widths[index]!;
    const other = widths[widths.length - 1 - index]!;
    for (const type of [CommandType.Deposit, CommandType.Place, CommandType.Cancel]) {
      const command = createCommand();
      command.type = type;
      command.accountId = value;
      command.assetId = other;
      command.amountUnits = value;
      command.marketId = other;
      command.side = (index & 1) as Side;
      command.timeInForce = (index % 3) as TimeInForce;
      command.priceTicks = other;
      command.qtySteps = value;
      command.quoteQtyUnits = other;
      command.orderId = value;
      command.clientOrderId = type === CommandType.Place ? 'x'.repeat(index * 4) : '';
      const expected = msgpackEncode(bodyFields(command));
      const end = writeBody(command, target, 0);
      if (end !== expected.length || expected.some((byte, at) => target[at] !== byte)) return false;
      const readBack = createCommand();
      readBack.type = type;
      if (decoder.read(target, 0, end, readBack) !== null) return false;
      if (bodyFields(readBack).join() !== bodyFields(command).join()) return false;
    }
  }
  return true;
}
assert(crossCheckWithLibrary(), 'record body: the hand-written codec agrees with @msgpack/msgpack');
