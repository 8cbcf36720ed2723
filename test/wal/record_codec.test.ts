import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import type { Command } from '../../src/domain/commands.ts';
import { ACCOUNT_ID_MAX, CLIENT_ORDER_ID_PATTERN, CommandType, OrderType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import { bodyFields } from '../../src/wal/record_body.ts';
import {
  RECORD_BODY_BYTES_MAX,
  RECORD_BYTES_MAX,
  RECORD_CRC_COVERED_FROM,
  RECORD_HEADER_BYTES,
  RecordDecoder,
  RecordEncoder,
  RecordFault,
  commandFault,
  crc32,
  readSafeU64,
  readU32,
  writeSafeU64,
  writeU32,
} from '../../src/wal/record_codec.ts';
import { recordFields, sampleCommand } from './wal_test_helpers.ts';

function encodeOne(command: Readonly<Command>, prevCrc = 0): { bytes: Uint8Array; crc: number } {
  const encoder = new RecordEncoder();
  const target = new Uint8Array(RECORD_BYTES_MAX);
  const size = encoder.encode(command, prevCrc, target, 0);
  return { bytes: target.slice(0, size), crc: encoder.crc };
}

function decodeOne(bytes: Uint8Array, prevCrc = 0): { result: number; command: Command } {
  const command = createCommand();
  const result = new RecordDecoder().decode(bytes, 0, bytes.length, prevCrc, command);
  return { result, command };
}

/** A record with a valid chained checksum around any header values and msgpack body. */
function craftRecord(type: number, seq: number, timestampMs: number, body: unknown): Uint8Array {
  const bodyBytes = msgpackEncode(body);
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + bodyBytes.length);
  writeU32(bytes, 0, bodyBytes.length);
  writeSafeU64(bytes, 8, seq);
  writeSafeU64(bytes, 16, timestampMs);
  bytes[24] = type;
  bytes.set(bodyBytes, RECORD_HEADER_BYTES);
  writeU32(bytes, 4, crc32(bytes.subarray(RECORD_CRC_COVERED_FROM), 0));
  return bytes;
}

function extremePlace(): Command {
  const command = createCommand();
  command.type = CommandType.Place;
  command.seq = Number.MAX_SAFE_INTEGER;
  command.timestampMs = Number.MAX_SAFE_INTEGER;
  command.accountId = ACCOUNT_ID_MAX;
  command.marketId = 255;
  command.side = Side.Sell;
  command.orderType = OrderType.Limit;
  command.timeInForce = TimeInForce.FOK;
  command.postOnly = true;
  command.priceTicks = Number.MAX_SAFE_INTEGER;
  command.qtySteps = Number.MAX_SAFE_INTEGER - 1;
  command.quoteQtyUnits = 2 ** 32;
  command.clientOrderId = 'A'.repeat(36);
  return command;
}

describe('record codec', () => {
  it('round-trips every command type', () => {
    const types = new Set<number>();
    for (let seq = 1; seq <= 24; seq++) {
      const original = sampleCommand(seq);
      types.add(original.type);
      const { bytes, crc } = encodeOne(original, 0x1234_5678);
      const { result, command } = decodeOne(bytes, 0x1234_5678);
      expect(result).toBe(bytes.length);
      expect(recordFields(command)).toEqual(recordFields(original));
      expect(crc).toBe(readU32(bytes, 4));
    }
    expect([...types].sort()).toEqual([CommandType.Deposit, CommandType.Withdraw, CommandType.Place, CommandType.Cancel]);
  });

  it('round-trips the extremes of every field exactly (u64 seq and timestamp, 36-char clientOrderId)', () => {
    const original = extremePlace();
    const { bytes } = encodeOne(original);
    expect(bytes.length).toBeLessThanOrEqual(RECORD_BYTES_MAX);
    const { result, command } = decodeOne(bytes);
    expect(result).toBe(bytes.length);
    expect(command).toEqual(original);
  });

  it('lays the header out as documented, little-endian, with a real msgpack body', () => {
    const original = sampleCommand(3);
    original.seq = 2 ** 40 + 7;
    original.timestampMs = 1_700_000_000_123;
    const { bytes } = encodeOne(original);
    expect(readU32(bytes, 0)).toBe(bytes.length - RECORD_HEADER_BYTES);
    expect(readSafeU64(bytes, 8)).toBe(original.seq);
    expect(bytes[8]).toBe(7); // low byte first
    expect(readSafeU64(bytes, 16)).toBe(original.timestampMs);
    expect(bytes[24]).toBe(CommandType.Place);
    expect([...bytes.subarray(25, 32)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(readU32(bytes, 4)).toBe(crc32(bytes.subarray(RECORD_CRC_COVERED_FROM), 0));
    expect(original.clientOrderId).toBe('client-3');
    const body = msgpackDecode(bytes.subarray(RECORD_HEADER_BYTES));
    const flags = original.side | (original.orderType << 1) | (original.timeInForce << 2) | (original.postOnly ? 16 : 0);
    expect(body).toEqual([
      original.accountId,
      original.marketId,
      flags,
      original.priceTicks,
      original.qtySteps,
      original.quoteQtyUnits,
      original.clientOrderId,
    ]);
    // Without a clientOrderId the field is left out.
    const anonymous = sampleCommand(2);
    expect(anonymous.clientOrderId).toBe('');
    expect(msgpackDecode(encodeOne(anonymous).bytes.subarray(RECORD_HEADER_BYTES))).toHaveLength(6);
  });

  it('fills every field of a reused Command: fields the type does not use get their defaults', () => {
    const command = extremePlace();
    const deposit = sampleCommand(6);
    const { bytes } = encodeOne(deposit);
    expect(new RecordDecoder().decode(bytes, 0, bytes.length, 0, command)).toBe(bytes.length);
    const expected = createCommand();
    Object.assign(expected, recordFields(deposit));
    expect(command).toEqual(expected);
  });

  it('chains checksums: the wrong seed fails, as a reordered record would', () => {
    const first = encodeOne(sampleCommand(1));
    const second = encodeOne(sampleCommand(2), first.crc);
    expect(decodeOne(second.bytes, first.crc).result).toBe(second.bytes.length);
    expect(decodeOne(second.bytes, 0).result).toBe(RecordFault.Checksum);
    expect(decodeOne(first.bytes, second.crc).result).toBe(RecordFault.Checksum);
  });

  it('asks for more bytes when the record is cut, and rejects impossible lengths', () => {
    const { bytes } = encodeOne(sampleCommand(2));
    for (let end = 0; end < bytes.length; end++) {
      const command = createCommand();
      expect(new RecordDecoder().decode(bytes, 0, end, 0, command)).toBe(RecordFault.NeedMore);
    }
    const zero = new Uint8Array(64);
    expect(decodeOne(zero).result).toBe(RecordFault.BadLength);
    const long = bytes.slice();
    writeU32(long, 0, RECORD_BODY_BYTES_MAX + 1);
    expect(decodeOne(long).result).toBe(RecordFault.BadLength);
  });

  it('refuses to encode invalid commands and leaves nothing behind (the writer side of the pair)', () => {
    const cases: Array<(command: Command) => void> = [
      (c) => (c.seq = 0),
      (c) => (c.seq = 2 ** 53),
      (c) => (c.seq = 1.5),
      (c) => (c.timestampMs = -1),
      (c) => (c.accountId = 0),
      (c) => (c.accountId = ACCOUNT_ID_MAX + 1),
      (c) => (c.type = 9 as CommandType),
      (c) => (c.marketId = 256),
      (c) => (c.side = 2 as Side),
      (c) => (c.timeInForce = 3 as TimeInForce),
      (c) => (c.postOnly = 1 as unknown as boolean),
      (c) => (c.priceTicks = Number.NaN),
      (c) => (c.qtySteps = -1),
      (c) => (c.clientOrderId = 'has space'),
      (c) => (c.clientOrderId = 'x'.repeat(37)),
    ];
    for (const mutate of cases) {
      const command = sampleCommand(3);
      mutate(command);
      expect(() => encodeOne(command)).toThrow(InvariantError);
    }
    const deposit = sampleCommand(6);
    deposit.amountUnits = Number.MAX_SAFE_INTEGER + 1;
    expect(() => encodeOne(deposit)).toThrow(/amountUnits/);
    const cancel = sampleCommand(5);
    cancel.orderId = 0;
    expect(() => encodeOne(cancel)).toThrow(/orderId/);
  });

  it('rejects a checksum-valid record whose header or body is not a valid command (the reader side)', () => {
    const good = craftRecord(CommandType.Deposit, 5, 1000, [7, 1, 100]);
    expect(decodeOne(good).result).toBe(good.length);
    expect(decodeOne(craftRecord(CommandType.Deposit, 5, 1000, [7, 1])).result).toBe(RecordFault.BadBody);
    expect(decodeOne(craftRecord(CommandType.Deposit, 5, 1000, [7, 1, -3])).result).toBe(RecordFault.BadBody);
    expect(decodeOne(craftRecord(CommandType.Deposit, 5, 1000, [7, 1, 1.5])).result).toBe(RecordFault.BadBody);
    expect(decodeOne(craftRecord(CommandType.Deposit, 5, 1000, { a: 1 })).result).toBe(RecordFault.BadBody);
    expect(decodeOne(craftRecord(CommandType.Cancel, 5, 1000, [7, 'x'])).result).toBe(RecordFault.BadBody);
    expect(decodeOne(craftRecord(CommandType.Deposit, 0, 1000, [7, 1, 100])).result).toBe(RecordFault.BadBody);
    expect(decodeOne(craftRecord(9, 5, 1000, [7, 1, 100])).result).toBe(RecordFault.BadHeader);
    const decoder = new RecordDecoder();
    const place = (fields: unknown[]): number => {
      const record = craftRecord(CommandType.Place, 5, 1000, fields);
      return decoder.decode(record, 0, record.length, 0, createCommand());
    };
    expect(place([7, 0, 0b10110, 100, 1, 0])).toBeGreaterThan(0);
    expect(place([7, 0, 0b10110, 100, 1, 0, 'id-1'])).toBeGreaterThan(0);
    expect(place([7, 0, 0, 100, 1, 0, 'bad id!'])).toBe(RecordFault.BadBody);
    expect(decoder.bodyFault).toMatch(/clientOrderId/);
    expect(place([7, 0, 0, 100, 1, 0, ''])).toBe(RecordFault.BadBody);
    expect(place([7, 0, 0b01100, 100, 1, 0])).toBe(RecordFault.BadBody); // timeInForce 3
    expect(decoder.bodyFault).toMatch(/timeInForce/);
    expect(place([7, 0, 32, 100, 1, 0])).toBe(RecordFault.BadBody);
    expect(place([7, 0, true, 100, 1, 0])).toBe(RecordFault.BadBody);
    expect(place([7, 0, 0, 100, 1])).toBe(RecordFault.BadBody);
    const padded = craftRecord(CommandType.Deposit, 5, 1000, [7, 1, 100]);
    padded[30] = 1;
    writeU32(padded, 4, crc32(padded.subarray(RECORD_CRC_COVERED_FROM), 0));
    expect(decodeOne(padded).result).toBe(RecordFault.BadHeader);
    const trailing = craftRecord(CommandType.Deposit, 5, 1000, [7, 1, 100]);
    const withExtra = new Uint8Array(trailing.length + 1);
    withExtra.set(trailing);
    writeU32(withExtra, 0, trailing.length + 1 - RECORD_HEADER_BYTES);
    writeU32(withExtra, 4, crc32(withExtra.subarray(RECORD_CRC_COVERED_FROM), 0));
    expect(decodeOne(withExtra).result).toBe(RecordFault.BadBody);
  });

  it('encodes several records back to back into one buffer, each chained to the one before', () => {
    const encoder = new RecordEncoder();
    const target = new Uint8Array(RECORD_BYTES_MAX * 10);
    let offset = 0;
    let crc = 0;
    for (let seq = 1; seq <= 10; seq++) {
      offset += encoder.encode(sampleCommand(seq), crc, target, offset);
      crc = encoder.crc;
    }
    const decoder = new RecordDecoder();
    const command = createCommand();
    let at = 0;
    crc = 0;
    for (let seq = 1; seq <= 10; seq++) {
      const size = decoder.decode(target, at, offset, crc, command);
      expect(size).toBeGreaterThan(0);
      expect(recordFields(command)).toEqual(recordFields(sampleCommand(seq)));
      at += size;
      crc = decoder.crc;
    }
    expect(at).toBe(offset);
  });

  it('writes bodies that @msgpack/msgpack decodes to the documented fields, for every type and the extremes', () => {
    const commands = [...Array.from({ length: 24 }, (_, index) => sampleCommand(index + 1)), extremePlace()];
    for (const original of commands) {
      const { bytes } = encodeOne(original);
      const body = bytes.subarray(RECORD_HEADER_BYTES);
      expect(body).toEqual(msgpackEncode(bodyFields(original)));
      expect(msgpackDecode(body)).toEqual(bodyFields(original));
    }
  });

  it('writes the whole header into a reused buffer: stale bytes under the padding never leak into a record', () => {
    const target = new Uint8Array(RECORD_BYTES_MAX * 4).fill(0xff);
    const encoder = new RecordEncoder();
    const size = encoder.encode(sampleCommand(3), 0, target, RECORD_BYTES_MAX);
    expect([...target.subarray(RECORD_BYTES_MAX + 25, RECORD_BYTES_MAX + 32)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    const { result, command } = decodeOne(target.slice(RECORD_BYTES_MAX, RECORD_BYTES_MAX + size));
    expect(result).toBe(size);
    expect(recordFields(command)).toEqual(recordFields(sampleCommand(3)));
    expect(target.subarray(0, RECORD_BYTES_MAX).every((byte) => byte === 0xff)).toBe(true);
  });

  it('refuses a record that does not fit the target, touching nothing before its offset', () => {
    const place = extremePlace();
    const fits = encodeOne(place).bytes.length;
    const target = new Uint8Array(10 + fits - 1).fill(0xee);
    expect(() => new RecordEncoder().encode(place, 0, target, 10)).toThrow(/does not fit/);
    expect(target.subarray(0, 10).every((byte) => byte === 0xee)).toBe(true);
    expect(new RecordEncoder().encode(place, 0, new Uint8Array(10 + fits), 10)).toBe(fits);
  });

  it('checks clientOrderId characters exactly as CLIENT_ORDER_ID_PATTERN does', () => {
    const command = sampleCommand(3);
    for (let code = 0; code < 0x3000; code++) {
      const char = String.fromCharCode(code);
      for (const id of [char, `ab${char}`, `${char}`.repeat(36)]) {
        command.clientOrderId = id;
        expect(commandFault(command) === null).toBe(CLIENT_ORDER_ID_PATTERN.test(id));
      }
    }
    command.clientOrderId = 'x'.repeat(37);
    expect(commandFault(command)).toMatch(/too long/);
    command.clientOrderId = '\u{1F600}';
    expect(commandFault(command)).toMatch(/bad characters/);
  });

  it('encodes into views at any byte offset of their buffer, and into a different target each call', () => {
    const encoder = new RecordEncoder();
    const expected = encodeOne(sampleCommand(3), 0x55).bytes;
    const buffer = new Uint8Array(RECORD_BYTES_MAX * 3).fill(0xaa);
    for (const target of [buffer.subarray(7), new Uint8Array(RECORD_BYTES_MAX), buffer.subarray(13, 13 + RECORD_BYTES_MAX * 2)]) {
      const size = encoder.encode(sampleCommand(3), 0x55, target, 5);
      expect(target.slice(5, 5 + size)).toEqual(expected);
    }
    expect(buffer.subarray(0, 7).every((byte) => byte === 0xaa)).toBe(true);
  });
});
