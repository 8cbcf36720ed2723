/**
 * Slot codecs: every message type survives a round trip through ring memory exactly (including
 * the largest values and a 36-character clientOrderId); encoders refuse what the layout cannot
 * hold without touching the slot; decoders refuse slots that do not hold what they expect.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../src/domain/commands.ts';
import type { CancelRejectEvent, LevelEvent, OrderDoneEvent, TradeEvent } from '../../src/domain/events.ts';
import { DoneReason } from '../../src/domain/events.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import type { CommandMessage, SlotViews } from '../../src/ring/messages.ts';
import {
  MESSAGE_BYTES,
  MESSAGE_SLOT_BYTES,
  MessageTag,
  assertRingFitsMessages,
  createAcceptedMessage,
  createBalanceMessage,
  createCancelRejectEvent,
  createCommandEndMessage,
  createCommandMessage,
  createCreditMessage,
  createDurableMessage,
  createLevelEvent,
  createOrderClosedMessage,
  createOrderDoneEvent,
  createRejectMessage,
  createTradeEvent,
  decodeAccepted,
  decodeBalance,
  decodeCancelReject,
  decodeCommand,
  decodeCommandEnd,
  decodeCredit,
  decodeDurable,
  decodeLevel,
  decodeOrderClosed,
  decodeOrderDone,
  decodeReject,
  decodeTrade,
  encodeAccepted,
  encodeBalance,
  encodeCancelReject,
  encodeCommand,
  encodeCommandOf,
  encodeCommandEnd,
  encodeCredit,
  encodeDurable,
  encodeLevel,
  encodeOrderClosed,
  encodeOrderDone,
  encodeReject,
  encodeTrade,
  readTag,
} from '../../src/ring/messages.ts';
import { SpscRing } from '../../src/ring/spsc_ring.ts';

const MAX = Number.MAX_SAFE_INTEGER;
const U32_MAX = 0xffffffff;
const ID_36 = 'Abc-123_xyz-456_DEF-789_ghi-012_JK-9';

function views(slots = 4): SlotViews {
  const buffer = new SharedArrayBuffer(slots * MESSAGE_SLOT_BYTES);
  return { bytes: new Uint8Array(buffer), u32: new Uint32Array(buffer), f64: new Float64Array(buffer) };
}

function maxPlace(): CommandMessage {
  const message = createCommandMessage();
  const command = message.command;
  message.requestId = U32_MAX;
  command.type = CommandType.Place;
  command.seq = MAX;
  command.timestampMs = MAX - 1;
  command.accountId = U32_MAX;
  command.assetId = U32_MAX - 1;
  command.amountUnits = MAX - 2;
  command.marketId = U32_MAX - 2;
  command.side = Side.Sell;
  command.orderType = OrderType.Market;
  command.timeInForce = TimeInForce.FOK;
  command.postOnly = true;
  command.priceTicks = MAX - 3;
  command.qtySteps = MAX - 4;
  command.quoteQtyUnits = MAX - 5;
  command.clientOrderId = ID_36;
  command.orderId = MAX - 6;
  return message;
}

function maxTrade(): TradeEvent {
  return {
    marketId: U32_MAX,
    tradeId: MAX,
    seq: MAX - 1,
    timestampMs: MAX - 2,
    takerOrderId: MAX - 3,
    takerAccountId: U32_MAX - 1,
    takerSide: Side.Sell,
    makerOrderId: MAX - 4,
    makerAccountId: U32_MAX - 2,
    priceTicks: MAX - 5,
    qtySteps: MAX - 6,
    makerRemainingSteps: MAX - 7,
    takerRemainingSteps: MAX - 8,
  };
}

describe('message layout', () => {
  it('fits every message into one slot and refuses rings with smaller slots', () => {
    for (const tag of Object.values(MessageTag)) expect(MESSAGE_BYTES[tag]).toBeLessThanOrEqual(MESSAGE_SLOT_BYTES);
    expect(MESSAGE_SLOT_BYTES).toBe(128);
    expect(() => assertRingFitsMessages(SpscRing.create(8, 64))).toThrow(InvariantError);
    assertRingFitsMessages(SpscRing.create(8, MESSAGE_SLOT_BYTES));
  });
});

describe('message round trips', () => {
  it('carries a Command with every field at its maximum and a 36-character clientOrderId', () => {
    const slots = views();
    const sent = maxPlace();
    encodeCommand(slots, MESSAGE_SLOT_BYTES, sent);
    expect(readTag(slots, MESSAGE_SLOT_BYTES)).toBe(MessageTag.Command);
    const received = decodeCommand(slots, MESSAGE_SLOT_BYTES, createCommandMessage());
    expect(received).toEqual(sent);
    // Decoding into an object that already holds other values overwrites all of them.
    const minimal = createCommandMessage();
    minimal.command.type = CommandType.Cancel;
    minimal.command.orderId = 1;
    encodeCommand(slots, 0, minimal);
    expect(decodeCommand(slots, 0, received)).toEqual(minimal);
  });

  it('carries any valid Command exactly (seeded property)', () => {
    const commandArbitrary = fc.record({
      type: fc.constantFrom(...Object.values(CommandType)),
      seq: fc.maxSafeNat(),
      timestampMs: fc.maxSafeNat(),
      accountId: fc.nat({ max: U32_MAX }),
      assetId: fc.nat({ max: U32_MAX }),
      amountUnits: fc.maxSafeNat(),
      marketId: fc.nat({ max: U32_MAX }),
      side: fc.constantFrom(...Object.values(Side)),
      orderType: fc.constantFrom(...Object.values(OrderType)),
      timeInForce: fc.constantFrom(...Object.values(TimeInForce)),
      postOnly: fc.boolean(),
      priceTicks: fc.maxSafeNat(),
      qtySteps: fc.maxSafeNat(),
      quoteQtyUnits: fc.maxSafeNat(),
      clientOrderId: fc.stringMatching(/^[A-Za-z0-9_-]{0,36}$/),
      orderId: fc.maxSafeNat(),
    }) as fc.Arbitrary<Command>;
    const slots = views(1);
    const into = createCommandMessage();
    fc.assert(
      fc.property(fc.nat({ max: U32_MAX }), commandArbitrary, (requestId, command) => {
        const sent: CommandMessage = { requestId, command };
        encodeCommand(slots, 0, sent);
        expect(decodeCommand(slots, 0, into)).toEqual(sent);
      }),
      { seed: 20240601, numRuns: 2_000 },
    );
  });

  it('carries the four matching events', () => {
    const slots = views();
    const trade = maxTrade();
    encodeTrade(slots, 0, trade);
    expect(readTag(slots, 0)).toBe(MessageTag.Trade);
    expect(decodeTrade(slots, 0, createTradeEvent())).toEqual(trade);

    const done: OrderDoneEvent = {
      marketId: U32_MAX,
      orderId: MAX,
      accountId: U32_MAX,
      side: Side.Sell,
      reason: DoneReason.Cancelled,
      remainingSteps: MAX - 1,
      seq: MAX - 2,
    };
    encodeOrderDone(slots, 128, done);
    expect(readTag(slots, 128)).toBe(MessageTag.OrderDone);
    expect(decodeOrderDone(slots, 128, createOrderDoneEvent())).toEqual(done);

    const level: LevelEvent = { marketId: 7, side: Side.Sell, priceTicks: MAX, qtySteps: 0 };
    encodeLevel(slots, 256, level);
    expect(readTag(slots, 256)).toBe(MessageTag.Level);
    expect(decodeLevel(slots, 256, createLevelEvent())).toEqual(level);

    const cancelReject: CancelRejectEvent = { orderId: MAX, accountId: U32_MAX, seq: MAX - 1 };
    encodeCancelReject(slots, 384, cancelReject);
    expect(readTag(slots, 384)).toBe(MessageTag.CancelReject);
    expect(decodeCancelReject(slots, 384, createCancelRejectEvent())).toEqual(cancelReject);
  });

  it('carries the control messages', () => {
    const slots = views();
    encodeCommandEnd(slots, 0, { seq: MAX, requestId: U32_MAX });
    expect(readTag(slots, 0)).toBe(MessageTag.CommandEnd);
    expect(decodeCommandEnd(slots, 0, createCommandEndMessage())).toEqual({ seq: MAX, requestId: U32_MAX });

    const duplicate = { requestId: U32_MAX, code: RejectCode.DuplicateClientOrderId, duplicateOrderId: MAX };
    encodeReject(slots, 128, duplicate);
    expect(readTag(slots, 128)).toBe(MessageTag.Reject);
    expect(decodeReject(slots, 128, createRejectMessage())).toEqual(duplicate);
    const refusal = { requestId: 5, code: RejectCode.InsufficientBalance, duplicateOrderId: 0 };
    encodeReject(slots, 128, refusal);
    expect(decodeReject(slots, 128, createRejectMessage())).toEqual(refusal);

    encodeCredit(slots, 256, { accountId: U32_MAX, assetId: 63, amountUnits: MAX });
    expect(readTag(slots, 256)).toBe(MessageTag.Credit);
    expect(decodeCredit(slots, 256, createCreditMessage())).toEqual({ accountId: U32_MAX, assetId: 63, amountUnits: MAX });

    encodeOrderClosed(slots, 384, { orderId: MAX });
    expect(readTag(slots, 384)).toBe(MessageTag.OrderClosed);
    expect(decodeOrderClosed(slots, 384, createOrderClosedMessage())).toEqual({ orderId: MAX });

    const balance = { accountId: U32_MAX, assetId: 2, availableUnits: MAX, lockedUnits: MAX - 1 };
    encodeBalance(slots, 0, balance);
    expect(readTag(slots, 0)).toBe(MessageTag.Balance);
    expect(decodeBalance(slots, 0, createBalanceMessage())).toEqual(balance);

    encodeDurable(slots, 128, { durableSeq: MAX });
    expect(readTag(slots, 128)).toBe(MessageTag.Durable);
    expect(decodeDurable(slots, 128, createDurableMessage())).toEqual({ durableSeq: MAX });

    const accepted = { requestId: U32_MAX, seq: MAX, timestampMs: MAX - 1 };
    encodeAccepted(slots, 256, accepted);
    expect(readTag(slots, 256)).toBe(MessageTag.Accepted);
    expect(decodeAccepted(slots, 256, createAcceptedMessage())).toEqual(accepted);
  });

  it('encodes a command held apart from its request id exactly as the message would be', () => {
    const slots = views(2);
    const message = maxPlace();
    encodeCommand(slots, 0, message);
    encodeCommandOf(slots, 128, message.requestId, message.command);
    expect(Array.from(slots.bytes.subarray(128, 256))).toEqual(Array.from(slots.bytes.subarray(0, 128)));
    expect(() => encodeCommandOf(slots, 0, -1, message.command)).toThrow(InvariantError);
  });

  it('goes through a ring in place, across its wrap-around', () => {
    const producer = SpscRing.create(4, MESSAGE_SLOT_BYTES);
    const consumer = SpscRing.attach(producer.buffer);
    const sent = maxPlace();
    const received = createCommandMessage();
    const end = createCommandEndMessage();
    for (let seq = 1; seq <= 50; seq++) {
      sent.command.seq = seq;
      sent.command.clientOrderId = seq % 3 === 0 ? '' : `id-${seq % 2}`;
      encodeCommand(producer, producer.claim(), sent);
      encodeCommandEnd(producer, producer.claim(), { seq, requestId: seq });
      producer.publish();
      expect(consumer.available()).toBe(2);
      expect(readTag(consumer, consumer.readOffset(0))).toBe(MessageTag.Command);
      expect(decodeCommand(consumer, consumer.readOffset(0), received)).toEqual(sent);
      expect(decodeCommandEnd(consumer, consumer.readOffset(1), end)).toEqual({ seq, requestId: seq });
      consumer.release(2);
    }
  });
});

describe('encoders refuse what the layout cannot hold', () => {
  const badUnits = [-1, 0.5, MAX + 1, 2 ** 53, NaN, Infinity, -Infinity];
  const badU32 = [-1, 1.5, U32_MAX + 1, NaN];

  it('refuses out-of-range numbers in a Command and leaves the slot untouched', () => {
    const slots = views(1);
    const unitFields = ['seq', 'timestampMs', 'amountUnits', 'priceTicks', 'qtySteps', 'quoteQtyUnits', 'orderId'] as const;
    const u32Fields = ['accountId', 'assetId', 'marketId'] as const;
    for (const field of unitFields) {
      for (const value of badUnits) {
        const message = maxPlace();
        message.command[field] = value;
        expect(() => encodeCommand(slots, 0, message), `${field} = ${value}`).toThrow(InvariantError);
      }
    }
    for (const field of u32Fields) {
      for (const value of badU32) {
        const message = maxPlace();
        message.command[field] = value;
        expect(() => encodeCommand(slots, 0, message), `${field} = ${value}`).toThrow(InvariantError);
      }
    }
    for (const value of badU32) {
      const message = maxPlace();
      message.requestId = value;
      expect(() => encodeCommand(slots, 0, message)).toThrow(InvariantError);
    }
    expect(slots.bytes.every((byte) => byte === 0)).toBe(true);
  });

  it('refuses bad enums, flags and clientOrderIds in a Command', () => {
    const slots = views(1);
    const cases: Array<(command: Command) => void> = [
      (command) => (command.type = 0 as CommandType),
      (command) => (command.type = 5 as CommandType),
      (command) => (command.side = 2 as Side),
      (command) => (command.orderType = 2 as OrderType),
      (command) => (command.timeInForce = 3 as TimeInForce),
      (command) => (command.postOnly = 1 as unknown as boolean),
      (command) => (command.clientOrderId = `${ID_36}x`),
      (command) => (command.clientOrderId = 'has space'),
      (command) => (command.clientOrderId = 'dot.ted'),
      (command) => (command.clientOrderId = 'é'),
      (command) => (command.clientOrderId = undefined as unknown as string),
    ];
    for (const mutate of cases) {
      const message = maxPlace();
      mutate(message.command);
      expect(() => encodeCommand(slots, 0, message), mutate.toString()).toThrow(InvariantError);
    }
    expect(slots.bytes.every((byte) => byte === 0)).toBe(true);
  });

  it('refuses out-of-range values in events and control messages', () => {
    const slots = views(1);
    for (const value of badUnits) {
      expect(() => encodeTrade(slots, 0, { ...maxTrade(), qtySteps: value })).toThrow(InvariantError);
      expect(() => encodeOrderDone(slots, 0, { ...createOrderDoneEvent(), orderId: value })).toThrow(InvariantError);
      expect(() => encodeLevel(slots, 0, { ...createLevelEvent(), priceTicks: value })).toThrow(InvariantError);
      expect(() => encodeCancelReject(slots, 0, { ...createCancelRejectEvent(), seq: value })).toThrow(InvariantError);
      expect(() => encodeCommandEnd(slots, 0, { seq: value, requestId: 1 })).toThrow(InvariantError);
      expect(() => encodeCredit(slots, 0, { accountId: 1, assetId: 1, amountUnits: value })).toThrow(InvariantError);
      expect(() => encodeOrderClosed(slots, 0, { orderId: value })).toThrow(InvariantError);
      expect(() => encodeBalance(slots, 0, { ...createBalanceMessage(), lockedUnits: value })).toThrow(InvariantError);
      expect(() => encodeDurable(slots, 0, { durableSeq: value })).toThrow(InvariantError);
    }
    for (const value of badU32) {
      expect(() => encodeTrade(slots, 0, { ...maxTrade(), makerAccountId: value })).toThrow(InvariantError);
      expect(() => encodeCredit(slots, 0, { accountId: value, assetId: 1, amountUnits: 1 })).toThrow(InvariantError);
      expect(() => encodeReject(slots, 0, { requestId: value, code: RejectCode.Validation, duplicateOrderId: 0 })).toThrow(
        InvariantError,
      );
    }
    expect(() => encodeTrade(slots, 0, { ...maxTrade(), takerSide: 2 as Side })).toThrow(InvariantError);
    expect(() => encodeOrderDone(slots, 0, { ...createOrderDoneEvent(), reason: 0 as DoneReason })).toThrow(InvariantError);
    expect(() => encodeReject(slots, 0, { requestId: 1, code: 99 as RejectCode, duplicateOrderId: 0 })).toThrow(InvariantError);
    expect(() => encodeReject(slots, 0, { requestId: 1, code: RejectCode.None, duplicateOrderId: 0 })).toThrow(InvariantError);
    expect(() => encodeReject(slots, 0, { requestId: 1, code: RejectCode.Validation, duplicateOrderId: 3 })).toThrow(
      InvariantError,
    );
    expect(slots.bytes.every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a slot offset that is misaligned or not a whole slot inside the views', () => {
    const slots = views(2);
    const end = createCommandEndMessage();
    for (const offset of [-8, 4, 129, 2 * MESSAGE_SLOT_BYTES, 2 * MESSAGE_SLOT_BYTES - 8, 0.5]) {
      expect(() => encodeCommandEnd(slots, offset, end), `offset ${offset}`).toThrow(InvariantError);
      expect(() => readTag(slots, offset), `offset ${offset}`).toThrow(InvariantError);
    }
  });
});

describe('decoders refuse slots that do not hold what they expect', () => {
  it('refuses an empty (zeroed) slot and a slot of another type', () => {
    const slots = views(1);
    expect(() => readTag(slots, 0)).toThrow(/tag/);
    expect(() => decodeCommand(slots, 0, createCommandMessage())).toThrow(InvariantError);
    encodeCommandEnd(slots, 0, { seq: 1, requestId: 1 });
    expect(() => decodeCommand(slots, 0, createCommandMessage())).toThrow(/tag/);
    expect(() => decodeTrade(slots, 0, createTradeEvent())).toThrow(/tag/);
    slots.u32[0] = 99;
    expect(() => readTag(slots, 0)).toThrow(/tag/);
  });

  it('refuses a corrupted number, enum, flag or clientOrderId in a Command', () => {
    const slots = views(1);
    const corruptions: Array<(s: SlotViews) => void> = [
      (s) => (s.f64[4] = 1.5), // seq
      (s) => (s.f64[5] = -1), // timestampMs
      (s) => (s.f64[6] = NaN), // amountUnits
      (s) => (s.f64[10] = 2 ** 53), // orderId
      (s) => (s.bytes[8] = 9), // type
      (s) => (s.bytes[9] = 2), // side
      (s) => (s.bytes[10] = 7), // orderType
      (s) => (s.bytes[11] = 3), // timeInForce
      (s) => (s.bytes[12] = 2), // postOnly
      (s) => (s.bytes[13] = 37), // clientOrderId length
      (s) => (s.bytes[88 + 5] = 0x2e), // '.' inside the clientOrderId
      (s) => (s.bytes[88 + 35] = 0xc3), // a non-ASCII byte
    ];
    for (const corrupt of corruptions) {
      encodeCommand(slots, 0, maxPlace());
      corrupt(slots);
      expect(() => decodeCommand(slots, 0, createCommandMessage()), corrupt.toString()).toThrow(InvariantError);
    }
  });

  it('refuses corrupted events and control messages', () => {
    const slots = views(1);
    encodeTrade(slots, 0, maxTrade());
    slots.f64[11] = 0.25; // takerRemainingSteps
    expect(() => decodeTrade(slots, 0, createTradeEvent())).toThrow(InvariantError);
    encodeOrderDone(slots, 0, createOrderDoneEvent());
    slots.bytes[13] = 4; // reason
    expect(() => decodeOrderDone(slots, 0, createOrderDoneEvent())).toThrow(InvariantError);
    encodeLevel(slots, 0, createLevelEvent());
    slots.bytes[8] = 3; // side
    expect(() => decodeLevel(slots, 0, createLevelEvent())).toThrow(InvariantError);
    encodeReject(slots, 0, { requestId: 1, code: RejectCode.Validation, duplicateOrderId: 0 });
    slots.f64[2] = 5; // a duplicateOrderId without the duplicate code
    expect(() => decodeReject(slots, 0, createRejectMessage())).toThrow(InvariantError);
    encodeReject(slots, 0, { requestId: 1, code: RejectCode.Validation, duplicateOrderId: 0 });
    slots.bytes[8] = 0; // None
    expect(() => decodeReject(slots, 0, createRejectMessage())).toThrow(InvariantError);
    encodeBalance(slots, 0, createBalanceMessage());
    slots.f64[3] = -0.5;
    expect(() => decodeBalance(slots, 0, createBalanceMessage())).toThrow(InvariantError);
    encodeDurable(slots, 0, { durableSeq: 1 });
    slots.f64[1] = Infinity;
    expect(() => decodeDurable(slots, 0, createDurableMessage())).toThrow(InvariantError);
    encodeAccepted(slots, 0, { requestId: 1, seq: 1, timestampMs: 1 });
    slots.f64[2] = -1; // timestampMs
    expect(() => decodeAccepted(slots, 0, createAcceptedMessage())).toThrow(InvariantError);
    expect(() => encodeAccepted(slots, 0, { requestId: 1, seq: 0.5, timestampMs: 1 })).toThrow(InvariantError);
  });
});
