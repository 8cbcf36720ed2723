/**
 * The WAL read ring's slot codec: a record goes through a slot unchanged, and a slot that is not a
 * record or end of the current request, or holds an impossible type or id, is refused.
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import { createCommand } from '../../src/domain/commands.ts';
import { RECORD_SLOT_BYTES, SLOT_END, SLOT_RECORD, decodeRecordSlot, encodeEndSlot, encodeRecordSlot, endSlotSeq, slotTag } from '../../src/wal/record_slot.ts';
import { sampleCommands } from './wal_test_helpers.ts';

function views(slots: number) {
  const buffer = new ArrayBuffer(slots * RECORD_SLOT_BYTES);
  return { bytes: new Uint8Array(buffer), u32: new Uint32Array(buffer), f64: new Float64Array(buffer) };
}

describe('record slots', () => {
  it('carry every field of every command shape, clientOrderIds included', () => {
    const slots = views(2);
    const into = createCommand();
    for (const command of sampleCommands(1, 40)) {
      encodeRecordSlot(slots, RECORD_SLOT_BYTES, 7, command);
      expect(slotTag(slots, RECORD_SLOT_BYTES, 7)).toBe(SLOT_RECORD);
      decodeRecordSlot(slots, RECORD_SLOT_BYTES, into);
      expect(into).toEqual(command);
    }
    encodeEndSlot(slots, 0, 7, 40);
    expect(slotTag(slots, 0, 7)).toBe(SLOT_END);
    expect(endSlotSeq(slots, 0)).toBe(40);
  });

  it('refuses a slot of another request, an unknown tag, a bad type or id byte', () => {
    const slots = views(1);
    const command = sampleCommands(1, 3).find((entry) => entry.clientOrderId !== '') ?? sampleCommands(1, 1)[0]!;
    encodeRecordSlot(slots, 0, 3, command);
    expect(() => slotTag(slots, 0, 4)).toThrow(InvariantError);
    slots.u32[0] = 12345;
    expect(() => slotTag(slots, 0, 3)).toThrow(InvariantError);
    encodeRecordSlot(slots, 0, 3, command);
    slots.bytes[8] = 9;
    expect(() => decodeRecordSlot(slots, 0, createCommand())).toThrow(InvariantError);
    encodeRecordSlot(slots, 0, 3, { ...command, clientOrderId: 'abc' });
    slots.bytes[88] = 0x20;
    expect(() => decodeRecordSlot(slots, 0, createCommand())).toThrow(InvariantError);
    expect(() => encodeRecordSlot(slots, 4, 3, command)).toThrow(InvariantError);
  });
});
