import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { ACCOUNT_ID_MAX, CLIENT_ORDER_ID_LENGTH_MAX, CommandType, OrderType, Side, TimeInForce, createCommand } from '../../src/domain/commands.ts';
import { ASSETS_MAX, MARKETS_MAX } from '../../src/domain/markets.ts';
import { BodyDecoder, RECORD_BODY_BYTES_MAX, bodyFields, writeBody } from '../../src/wal/record_body.ts';
import { commandFault } from '../../src/wal/record_codec.ts';

/** Values at every msgpack integer width boundary, and the extremes. */
const EDGE_UNITS = [
  0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 0x1_0000_0000, 2 ** 52, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER,
];
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

const units = fc.oneof(fc.constantFrom(...EDGE_UNITS), fc.maxSafeNat(), fc.nat({ max: 70_000 }));
const idRange = (max: number) => fc.oneof(fc.constantFrom(...[0, 1, 0x7f, 0x80, 0xff, 0x100, max].filter((id) => id <= max)), fc.nat({ max }));
const clientOrderId = fc.oneof(
  fc.constant(''),
  fc.constantFrom('a', 'x'.repeat(31), 'y'.repeat(32), 'Z'.repeat(CLIENT_ORDER_ID_LENGTH_MAX)),
  fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: CLIENT_ORDER_ID_LENGTH_MAX }),
);

/** Valid commands of every type (commandFault accepts them), with edge values weighted in. */
const validCommand: fc.Arbitrary<Command> = fc
  .record({
    type: fc.constantFrom(CommandType.Deposit, CommandType.Withdraw, CommandType.Place, CommandType.Cancel),
    seq: fc.oneof(fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    timestampMs: units,
    accountId: fc.oneof(fc.constantFrom(1, 0x7f, 0x80, 0xffff, 0x10000, ACCOUNT_ID_MAX), fc.integer({ min: 1, max: ACCOUNT_ID_MAX })),
    assetId: idRange(ASSETS_MAX - 1),
    amountUnits: units,
    marketId: idRange(MARKETS_MAX - 1),
    side: fc.constantFrom(Side.Buy, Side.Sell),
    orderType: fc.constantFrom(OrderType.Limit, OrderType.Market),
    timeInForce: fc.constantFrom(TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
    postOnly: fc.boolean(),
    priceTicks: units,
    qtySteps: units,
    quoteQtyUnits: units,
    clientOrderId,
    orderId: fc.oneof(fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  })
  .map((fields) => {
    const command = Object.assign(createCommand(), fields);
    expect(commandFault(command)).toBeNull();
    return command;
  });

function written(command: Readonly<Command>): Uint8Array {
  const target = new Uint8Array(RECORD_BODY_BYTES_MAX);
  return target.slice(0, writeBody(command, target, 0));
}

/** Reads a body into a fresh Command of `type`; the fault (or null) and the command. */
function readBody(type: CommandType, body: Uint8Array, reference = false): { fault: string | null; command: Command } {
  const command = createCommand();
  command.type = type;
  const decoder = new BodyDecoder();
  const fault = reference ? decoder.readReference(body, 0, body.length, command) : decoder.read(body, 0, body.length, command);
  return { fault, command };
}

function edgeCommands(): Command[] {
  const commands: Command[] = [];
  for (const [index, value] of EDGE_UNITS.entries()) {
    const other = EDGE_UNITS[EDGE_UNITS.length - 1 - index]!;
    for (const type of [CommandType.Deposit, CommandType.Withdraw, CommandType.Place, CommandType.Cancel]) {
      for (const id of ['', 'a', 'x'.repeat(31), 'y'.repeat(32), 'A-z_9'.repeat(7).slice(0, CLIENT_ORDER_ID_LENGTH_MAX)]) {
        const command = createCommand();
        command.type = type;
        command.seq = Math.max(1, value);
        command.accountId = Math.min(ACCOUNT_ID_MAX, Math.max(1, value));
        command.assetId = index % ASSETS_MAX;
        command.amountUnits = value;
        command.marketId = Math.min(MARKETS_MAX - 1, other);
        command.side = (index & 1) as Side;
        command.orderType = ((index >> 1) & 1) as OrderType;
        command.timeInForce = (index % 3) as TimeInForce;
        command.postOnly = index % 4 === 0;
        command.priceTicks = value;
        command.qtySteps = other;
        command.quoteQtyUnits = value;
        command.orderId = Math.max(1, other);
        command.clientOrderId = type === CommandType.Place ? id : '';
        commands.push(command);
      }
    }
  }
  return commands;
}

describe('record body codec', () => {
  it('writes exactly the bytes of @msgpack/msgpack for every type and every integer width, and reads them back', () => {
    const commands = edgeCommands();
    expect(commands.length).toBeGreaterThan(200);
    for (const command of commands) {
      const body = written(command);
      expect(body).toEqual(msgpackEncode(bodyFields(command)));
      expect(msgpackDecode(body)).toEqual(bodyFields(command));
      const { fault, command: read } = readBody(command.type, body);
      expect(fault).toBeNull();
      expect(bodyFields(read)).toEqual(bodyFields(command));
    }
  });

  it('round-trips random valid commands, byte-identical to the library (property)', () => {
    fc.assert(
      fc.property(validCommand, (command) => {
        const body = written(command);
        expect(body).toEqual(msgpackEncode(bodyFields(command)));
        expect(body.length).toBeLessThanOrEqual(RECORD_BODY_BYTES_MAX);
        const { fault, command: read } = readBody(command.type, body);
        expect(fault).toBeNull();
        expect(bodyFields(read)).toEqual(bodyFields(command));
        if (command.type === CommandType.Place) {
          expect([read.side, read.orderType, read.timeInForce, read.postOnly, read.clientOrderId]).toEqual([
            command.side,
            command.orderType,
            command.timeInForce,
            command.postOnly,
            command.clientOrderId,
          ]);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('lays out a place as documented: fixarray, smallest uints, flags byte, fixstr or str 8 id', () => {
    const command = createCommand();
    command.type = CommandType.Place;
    command.accountId = 200;
    command.marketId = 3;
    command.side = Side.Sell;
    command.timeInForce = TimeInForce.IOC;
    command.postOnly = true;
    command.priceTicks = 70_000;
    command.qtySteps = 2 ** 40;
    command.quoteQtyUnits = 0;
    command.clientOrderId = 'ab';
    expect([...written(command)]).toEqual([
      0x97,
      0xcc, 200,
      3,
      0b10101,
      0xce, 0x00, 0x01, 0x11, 0x70,
      0xcf, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
      0,
      0xa2, 0x61, 0x62,
    ]); // prettier-ignore
    command.clientOrderId = 'q'.repeat(36);
    const long = written(command);
    expect([...long.subarray(long.length - 38, long.length - 36)]).toEqual([0xd9, 36]);
    command.clientOrderId = '';
    expect(written(command)[0]).toBe(0x96);
  });

  it('reads any other valid msgpack of the right shape as the library does (non-minimal ints, floats that hold integers)', () => {
    const deposit = Uint8Array.of(0x93, 0xcf, 0, 0, 0, 0, 0, 0, 0, 7, 0xcd, 0, 1, 0xce, 0, 0, 0, 100);
    expect(readBody(CommandType.Deposit, deposit)).toEqual(readBody(CommandType.Deposit, deposit, true));
    const { fault, command } = readBody(CommandType.Deposit, deposit);
    expect(fault).toBeNull();
    expect([command.accountId, command.assetId, command.amountUnits]).toEqual([7, 1, 100]);
    const floats = msgpackEncode([7, 0, 3, 100, 2, 0], { forceIntegerToFloat: true });
    expect(floats[1]).toBe(0xcb);
    const place = readBody(CommandType.Place, floats);
    expect(place.fault).toBeNull();
    expect(bodyFields(place.command)).toEqual([7, 0, 3, 100, 2, 0]);
    // A non-ASCII id is read (and then refused by commandFault, as before).
    const accented = readBody(CommandType.Place, msgpackEncode([7, 0, 0, 100, 1, 0, 'é']));
    expect(accented.fault).toBeNull();
    expect(accented.command.clientOrderId).toBe('é');
    expect(commandFault(Object.assign(accented.command, { seq: 1, accountId: 7 }))).toMatch(/clientOrderId/);
  });

  it('refuses malformed bodies: cut at every byte, a byte too many, wrong shapes and empty ids', () => {
    const command = createCommand();
    command.type = CommandType.Place;
    command.accountId = 9;
    command.priceTicks = Number.MAX_SAFE_INTEGER;
    command.qtySteps = 1;
    command.clientOrderId = 'id-1';
    const body = written(command);
    for (let end = 0; end < body.length; end++) expect(readBody(CommandType.Place, body.subarray(0, end)).fault).not.toBeNull();
    const extra = new Uint8Array(body.length + 1);
    extra.set(body);
    expect(readBody(CommandType.Place, extra).fault).toBe('body is not valid msgpack');
    expect(readBody(CommandType.Cancel, body).fault).toMatch(/wrong number of fields/);
    expect(readBody(CommandType.Deposit, msgpackEncode('abc')).fault).toBe('body is not an array');
    expect(readBody(CommandType.Deposit, msgpackEncode({ a: 1 })).fault).toBe('body is not valid msgpack'); // maps are refused
    expect(readBody(CommandType.Place, msgpackEncode([7, 0, 32, 100, 1, 0])).fault).toBe('place flags out of range');
    expect(readBody(CommandType.Place, msgpackEncode([7, 0, 0, 100, 1, 0, ''])).fault).toMatch(/empty/);
  });

  it('agrees with the library-only reading on mutated and random bodies (fuzz)', () => {
    const types = [CommandType.Deposit, CommandType.Withdraw, CommandType.Place, CommandType.Cancel];
    fc.assert(
      fc.property(
        validCommand,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat({ max: 3 }),
        fc.uint8Array({ maxLength: 24 }),
        (command, flips, typeIndex, noise) => {
          const body = written(command);
          for (const [at, value] of flips) body[at % body.length] = value;
          for (const bytes of [body, noise]) {
            const type = types[typeIndex]!;
            const fast = readBody(type, bytes);
            const reference = readBody(type, bytes, true);
            expect(fast.fault === null).toBe(reference.fault === null);
            if (fast.fault === null) expect(fast.command).toEqual(reference.command);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
