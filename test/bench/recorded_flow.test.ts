/**
 * The benchmarks' recorded flow gives back exactly the commands that were generated and sequenced,
 * clientOrderIds included (kept as bytes in an arena, made into strings on each read).
 */
import { describe, expect, it } from 'vitest';
import { BoundedFlowSource, RECORDED_FLOW_SEED, RecordedFlow, clockMsAt } from '../../bench/recorded_flow.ts';
import { copyCommand, createCommand } from '../../src/domain/commands.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';

describe('the recorded flow', () => {
  it('reads back every command as generated, clientOrderIds included, past a growth of its arena', () => {
    const length = 120_000;
    const flow = RecordedFlow.record(length);
    const source = new BoundedFlowSource(RECORDED_FLOW_SEED, DEFAULT_CORE_LIMITS);
    const generated = createCommand();
    const read = createCommand();
    let withClientOrderId = 0;
    for (let index = 0; index < length; index++) {
      source.next(generated, clockMsAt(index));
      const expected = copyCommand(generated, createCommand());
      expected.seq = 0;
      expected.timestampMs = 0;
      expect(flow.read(index, read)).toEqual(expected);
      if (expected.clientOrderId !== '') withClientOrderId += 1;
    }
    // Some 12% of the commands carry one, ~19 bytes each: the arena (64 KiB at first) grew.
    expect(withClientOrderId * 19).toBeGreaterThan(4 * (1 << 16));
    expect(flow.bytes).toBeGreaterThan(length * 60);
  });
});
