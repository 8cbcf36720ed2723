/**
 * WAL record codec: one sequenced Command per record, a fixed little-endian binary header and a
 * msgpack body. The writer encodes into its preallocated batch buffer; the reader verifies and
 * decodes into a caller's reusable Command. Both sides run the same validation (commandFault), so a
 * record is checked right before it is written and again right after it is read back.
 *
 * Record header (RECORD_HEADER_BYTES = 32, little-endian):
 *
 *   offset  size  field
 *        0     4  bodyBytes    u32, 1..RECORD_BODY_BYTES_MAX
 *        4     4  crc          u32, CRC-32 of bytes [8, 32 + bodyBytes), seeded with the previous
 *                              record's crc (0 for the first record of the log): a chain, so a
 *                              reordered or misplaced record fails as well as a flipped bit
 *        8     8  seq          u64 holding a safe integer (low word first)
 *       16     8  timestampMs  u64 holding a safe integer (low word first)
 *       24     1  type         u8, a CommandType
 *       25     7  padding      zero
 *
 * Body: a msgpack array of only the fields the command type uses, written and read by hand for
 * speed, byte for byte what @msgpack/msgpack writes (record_body.ts has the layout).
 *
 * The writer encodes straight into its batch buffer and the reader decodes straight from its read
 * buffer: no view, copy or array per record.
 *
 * Fields a type does not use decode to their createCommand() defaults.
 */
import { InvariantError, assert } from '../domain/assert.ts';
import type { Command } from '../domain/commands.ts';
import {
  ACCOUNT_ID_MAX,
  CLIENT_ORDER_ID_LENGTH_MAX,
  isClientOrderIdChar,
  CommandType,
  OrderType,
  Side,
  TimeInForce,
  createCommand,
  resetCommand,
} from '../domain/commands.ts';
import { ASSETS_MAX, MARKETS_MAX } from '../domain/markets.ts';
import { crc32Range } from './crc32.ts';
import { BodyDecoder, RECORD_BODY_BYTES_MAX, writeBody } from './record_body.ts';

export { crc32, crc32Range } from './crc32.ts';
export { RECORD_BODY_BYTES_MAX } from './record_body.ts';

export const RECORD_BODY_BYTES_OFFSET = 0;
export const RECORD_CRC_OFFSET = 4;
export const RECORD_SEQ_OFFSET = 8;
export const RECORD_TIMESTAMP_OFFSET = 16;
export const RECORD_TYPE_OFFSET = 24;
export const RECORD_PADDING_OFFSET = 25;
export const RECORD_PADDING_BYTES = 7;
export const RECORD_HEADER_BYTES = 32;
/** The checksum covers everything after its own field: the rest of the header and the body. */
export const RECORD_CRC_COVERED_FROM = RECORD_SEQ_OFFSET;
export const RECORD_BYTES_MAX = RECORD_HEADER_BYTES + RECORD_BODY_BYTES_MAX;

assert(RECORD_CRC_OFFSET === RECORD_BODY_BYTES_OFFSET + 4, 'record header: crc follows the body length');
assert(RECORD_SEQ_OFFSET === RECORD_CRC_OFFSET + 4, 'record header: seq follows the crc');
assert(RECORD_TIMESTAMP_OFFSET === RECORD_SEQ_OFFSET + 8, 'record header: timestamp follows seq');
assert(RECORD_TYPE_OFFSET === RECORD_TIMESTAMP_OFFSET + 8, 'record header: type follows the timestamp');
assert(RECORD_PADDING_OFFSET === RECORD_TYPE_OFFSET + 1, 'record header: padding follows the type');
assert(RECORD_HEADER_BYTES === RECORD_PADDING_OFFSET + RECORD_PADDING_BYTES, 'record header size matches its layout');
assert(RECORD_HEADER_BYTES % 8 === 0, 'record header keeps 8-byte alignment');
assert(RECORD_TYPE_OFFSET + 8 === RECORD_HEADER_BYTES && RECORD_PADDING_BYTES === 7, 'record header: type and padding are the last two words');

const TWO_POW_32 = 4294967296;
/** High word of Number.MAX_SAFE_INTEGER: a u64 above it is not an exact JavaScript number. */
const SAFE_HIGH_WORD_MAX = 0x1fffff;

// ---------------------------------------------------------------------------------------------
// Validation, shared by the encoder (assertion) and the decoder (corruption check).

function isId(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

function isUnits(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * Why a command cannot be a WAL record, or null when it can. Checks the shape of a record
 * (safe integers, known enums, ids in range), not business rules: those belong to the sequencer.
 * Returns constant strings so that the hot path allocates nothing.
 */
export function commandFault(command: Readonly<Command>): string | null {
  if (!Number.isSafeInteger(command.seq) || command.seq < 1) return 'seq is not a safe integer >= 1';
  if (!isUnits(command.timestampMs)) return 'timestampMs is not a safe integer >= 0';
  if (!Number.isInteger(command.accountId) || command.accountId < 1 || command.accountId > ACCOUNT_ID_MAX) {
    return 'accountId out of range';
  }
  switch (command.type) {
    case CommandType.Deposit:
    case CommandType.Withdraw:
      if (!isId(command.assetId, ASSETS_MAX - 1)) return 'assetId out of range';
      if (!isUnits(command.amountUnits)) return 'amountUnits is not a safe integer >= 0';
      return null;
    case CommandType.Place:
      return placeFault(command);
    case CommandType.Cancel:
      if (!Number.isSafeInteger(command.orderId) || command.orderId < 1) return 'orderId is not a safe integer >= 1';
      return null;
    default:
      return 'unknown command type';
  }
}

function placeFault(command: Readonly<Command>): string | null {
  if (!isId(command.marketId, MARKETS_MAX - 1)) return 'marketId out of range';
  if (command.side !== Side.Buy && command.side !== Side.Sell) return 'unknown side';
  if (command.orderType !== OrderType.Limit && command.orderType !== OrderType.Market) return 'unknown orderType';
  const tif = command.timeInForce;
  if (tif !== TimeInForce.GTC && tif !== TimeInForce.IOC && tif !== TimeInForce.FOK) return 'unknown timeInForce';
  if (command.postOnly !== true && command.postOnly !== false) return 'postOnly is not a boolean';
  if (!isUnits(command.priceTicks)) return 'priceTicks is not a safe integer >= 0';
  if (!isUnits(command.qtySteps)) return 'qtySteps is not a safe integer >= 0';
  if (!isUnits(command.quoteQtyUnits)) return 'quoteQtyUnits is not a safe integer >= 0';
  const clientOrderId = command.clientOrderId;
  if (typeof clientOrderId !== 'string') return 'clientOrderId is not a string';
  if (clientOrderId.length > CLIENT_ORDER_ID_LENGTH_MAX) return 'clientOrderId too long';
  for (let i = 0; i < clientOrderId.length; i++) {
    if (!isClientOrderIdChar(clientOrderId.charCodeAt(i))) return 'clientOrderId has bad characters';
  }
  return null;
}

// clientOrderIds are checked one character at a time (isClientOrderIdChar, domain/commands.ts): the
// regular expression was a tenth of the time of encoding a record that has an id.
assert(CLIENT_ORDER_ID_LENGTH_MAX === 36, 'commandFault checks the length of CLIENT_ORDER_ID_PATTERN');

export function assertValidCommand(command: Readonly<Command>): void {
  const fault = commandFault(command);
  // The message is built only on failure: a template literal argument would cost on every record.
  if (fault !== null) throw new InvariantError(`WAL record: invalid command seq=${command.seq} type=${command.type}: ${fault}`);
}

// ---------------------------------------------------------------------------------------------
// Little helpers for u32 / u64 fields in a byte array (no DataView needed over shared chunks).

export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/** Reads a u64 as a number, or -1 when it is beyond the safe integer range. */
export function readSafeU64(bytes: Uint8Array, offset: number): number {
  const high = readU32(bytes, offset + 4);
  if (high > SAFE_HIGH_WORD_MAX) return -1;
  return high * TWO_POW_32 + readU32(bytes, offset);
}

/** Writes a safe non-negative integer as a u64 (ToUint32 of an integer is its value mod 2^32). */
export function writeSafeU64(bytes: Uint8Array, offset: number, value: number): void {
  const low = value >>> 0;
  writeU32(bytes, offset, low);
  writeU32(bytes, offset + 4, (value - low) / TWO_POW_32);
}

// ---------------------------------------------------------------------------------------------
// Encoder

export class RecordEncoder {
  /** CRC of the last record encoded: the seed of the next one. */
  crc = 0;
  /** A DataView over the last target (the writer always passes its one batch buffer). */
  private view: DataView = new DataView(new ArrayBuffer(0));
  private viewTarget: Uint8Array | null = null;

  private viewOf(target: Uint8Array): DataView {
    if (target !== this.viewTarget) {
      this.view = new DataView(target.buffer, target.byteOffset, target.byteLength);
      this.viewTarget = target;
    }
    return this.view;
  }

  /**
   * Encodes `command` as one record at `target[offset..]`, chained to `prevCrc`.
   * Returns the record's size in bytes; `this.crc` holds its checksum.
   */
  encode(command: Readonly<Command>, prevCrc: number, target: Uint8Array, offset: number): number {
    assertValidCommand(command);
    const recordEnd = writeBody(command, target, offset + RECORD_HEADER_BYTES);
    const bodyBytes = recordEnd - offset - RECORD_HEADER_BYTES;
    assert(bodyBytes >= 1, 'RecordEncoder: empty body');
    assert(bodyBytes <= RECORD_BODY_BYTES_MAX, 'RecordEncoder: body larger than RECORD_BODY_BYTES_MAX');
    // writeBody cut the body short (without throwing) if it ran past the end: nothing of the
    // target before `offset` was touched, and the caller's batch ends at `offset`.
    assert(recordEnd <= target.length, 'RecordEncoder: record does not fit the target');
    // Whole-word stores through a DataView: a third of the byte stores of writeU32 / writeSafeU64.
    const view = this.viewOf(target);
    const seq = command.seq;
    const timestampMs = command.timestampMs;
    view.setUint32(offset + RECORD_BODY_BYTES_OFFSET, bodyBytes, true);
    view.setUint32(offset + RECORD_SEQ_OFFSET, seq >>> 0, true);
    view.setUint32(offset + RECORD_SEQ_OFFSET + 4, (seq - (seq >>> 0)) / TWO_POW_32, true);
    view.setUint32(offset + RECORD_TIMESTAMP_OFFSET, timestampMs >>> 0, true);
    view.setUint32(offset + RECORD_TIMESTAMP_OFFSET + 4, (timestampMs - (timestampMs >>> 0)) / TWO_POW_32, true);
    // The type and the zero padding after it, as two words: type, 0, 0, 0 | 0, 0, 0, 0.
    view.setUint32(offset + RECORD_TYPE_OFFSET, command.type, true);
    view.setUint32(offset + RECORD_TYPE_OFFSET + 4, 0, true);
    const crc = crc32Range(target, offset + RECORD_CRC_COVERED_FROM, recordEnd, prevCrc);
    view.setUint32(offset + RECORD_CRC_OFFSET, crc, true);
    this.crc = crc;
    return recordEnd - offset;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoder

/** What RecordDecoder.decode returns when it cannot return a record size. */
export const RecordFault = {
  /** The bytes end inside the header or the body (more may follow in the file, or it is torn). */
  NeedMore: -1,
  /** The body length is 0 or above RECORD_BODY_BYTES_MAX. */
  BadLength: -2,
  /** The chained CRC-32 does not match. */
  Checksum: -3,
  /** The checksum matches but the header holds an impossible value (type, padding, u64 range). */
  BadHeader: -4,
  /** The checksum matches but the body is not valid msgpack of the right shape and ranges. */
  BadBody: -5,
} as const;
export type RecordFault = (typeof RecordFault)[keyof typeof RecordFault];

export function recordFaultName(fault: number): string {
  switch (fault) {
    case RecordFault.NeedMore:
      return 'record runs past the end of the file';
    case RecordFault.BadLength:
      return 'bad record length';
    case RecordFault.Checksum:
      return 'checksum mismatch';
    case RecordFault.BadHeader:
      return 'bad record header';
    case RecordFault.BadBody:
      return 'bad record body';
    default:
      return `unknown fault ${fault}`;
  }
}

export class RecordDecoder {
  /** CRC of the last record decoded (verified): the seed of the next one. */
  crc = 0;
  /** Why the last decode returned BadBody (for the error message). */
  bodyFault = '';
  private readonly body = new BodyDecoder();

  /**
   * Verifies the record at `source[offset..end)` against the chain seed `prevCrc` and decodes it
   * into `command` (every field is written; fields the type does not use get their defaults).
   * Returns the record's size, or a negative RecordFault. Never throws on bad data.
   */
  decode(source: Uint8Array, offset: number, end: number, prevCrc: number, command: Command): number {
    if (end - offset < RECORD_HEADER_BYTES) return RecordFault.NeedMore;
    const bodyBytes = readU32(source, offset + RECORD_BODY_BYTES_OFFSET);
    if (bodyBytes < 1 || bodyBytes > RECORD_BODY_BYTES_MAX) return RecordFault.BadLength;
    const recordEnd = offset + RECORD_HEADER_BYTES + bodyBytes;
    if (recordEnd > end) return RecordFault.NeedMore;
    const crc = crc32Range(source, offset + RECORD_CRC_COVERED_FROM, recordEnd, prevCrc);
    if (crc !== readU32(source, offset + RECORD_CRC_OFFSET)) return RecordFault.Checksum;
    const fault = this.parse(source, offset, recordEnd, command);
    if (fault !== 0) return fault;
    this.crc = crc;
    return recordEnd - offset;
  }

  /**
   * Decodes a record WITHOUT verifying its checksum (its chain seed is unknown): only for telling
   * a torn tail from corruption, where a well-formed record after a bad one is evidence.
   */
  decodeUnverified(source: Uint8Array, offset: number, end: number, command: Command): number {
    if (end - offset < RECORD_HEADER_BYTES) return RecordFault.NeedMore;
    const bodyBytes = readU32(source, offset + RECORD_BODY_BYTES_OFFSET);
    if (bodyBytes < 1 || bodyBytes > RECORD_BODY_BYTES_MAX) return RecordFault.BadLength;
    const recordEnd = offset + RECORD_HEADER_BYTES + bodyBytes;
    if (recordEnd > end) return RecordFault.NeedMore;
    const fault = this.parse(source, offset, recordEnd, command);
    return fault !== 0 ? fault : recordEnd - offset;
  }

  /** Header fields and body into `command`; 0, or BadHeader / BadBody. */
  private parse(source: Uint8Array, offset: number, recordEnd: number, command: Command): number {
    if (!this.readHeader(source, offset, command)) return RecordFault.BadHeader;
    this.bodyFault = this.body.read(source, offset + RECORD_HEADER_BYTES, recordEnd, command) ?? commandFault(command) ?? '';
    return this.bodyFault === '' ? 0 : RecordFault.BadBody;
  }

  private readHeader(source: Uint8Array, offset: number, command: Command): boolean {
    for (let i = 0; i < RECORD_PADDING_BYTES; i++) {
      if (source[offset + RECORD_PADDING_OFFSET + i] !== 0) return false;
    }
    const type = source[offset + RECORD_TYPE_OFFSET]!;
    if (type < CommandType.Deposit || type > CommandType.Cancel) return false;
    const seq = readSafeU64(source, offset + RECORD_SEQ_OFFSET);
    const timestampMs = readSafeU64(source, offset + RECORD_TIMESTAMP_OFFSET);
    if (seq < 0 || timestampMs < 0) return false;
    resetCommand(command);
    command.type = type as CommandType;
    command.seq = seq;
    command.timestampMs = timestampMs;
    return true;
  }
}

/** The largest possible body must fit RECORD_BODY_BYTES_MAX: checked once at module load. */
function largestBodyBytes(): number {
  const command = createCommand();
  command.type = CommandType.Place;
  command.seq = Number.MAX_SAFE_INTEGER;
  command.timestampMs = Number.MAX_SAFE_INTEGER;
  command.accountId = ACCOUNT_ID_MAX;
  command.marketId = MARKETS_MAX - 1;
  command.timeInForce = TimeInForce.FOK;
  command.priceTicks = Number.MAX_SAFE_INTEGER;
  command.qtySteps = Number.MAX_SAFE_INTEGER;
  command.quoteQtyUnits = Number.MAX_SAFE_INTEGER;
  command.clientOrderId = 'x'.repeat(CLIENT_ORDER_ID_LENGTH_MAX);
  const target = new Uint8Array(RECORD_BYTES_MAX);
  return new RecordEncoder().encode(command, 0, target, 0) - RECORD_HEADER_BYTES;
}
assert(largestBodyBytes() <= RECORD_BODY_BYTES_MAX, 'RECORD_BODY_BYTES_MAX holds the largest possible body');
