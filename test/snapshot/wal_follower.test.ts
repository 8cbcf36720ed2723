/**
 * The snapshot worker's view of the log: records delivered in small steps across segment
 * boundaries, exactly those the reader sees, never beyond what it was asked for, and an error (not
 * a guess) when the log does not hold what the durable seq promises.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { copyCommand, createCommand } from '../../src/domain/commands.ts';
import { WalFollowError, WalFollower } from '../../src/snapshot/wal_follower.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { readRecords } from '../../src/wal/wal_reader.ts';
import { removeDir, tempDir, writeLog } from './support.ts';

let dataDir = '';
let lastSeq = 0;
const expected: Command[] = [];

beforeAll(() => {
  dataDir = tempDir();
  lastSeq = writeLog(dataDir, 7_000, 9);
  readRecords(dataDir, { onRecord: (command) => expected.push(copyCommand(command, createCommand())) });
  expect(recoverWal(dataDir).segments.length).toBeGreaterThanOrEqual(3);
});

afterAll(() => removeDir(dataDir));

describe('the WAL follower', () => {
  it('delivers every record once, in order, in steps of any size, across segments', () => {
    const follower = WalFollower.open(dataDir, null);
    const seen: Command[] = [];
    const collect = (command: Readonly<Command>): void => {
      seen.push(copyCommand(command, createCommand()));
    };
    let target = 0;
    for (let step = 1; follower.chainSeq < lastSeq; step = (step * 7) % 997) {
      target = Math.min(lastSeq, target + step);
      while (follower.chainSeq < target) follower.readUpTo(target, 333, collect);
      expect(follower.chainSeq).toBe(target);
    }
    follower.close();
    expect(seen).toEqual(expected);
    expect(follower.chainCrc).toBe(recoverWal(dataDir).lastCrc);
  });

  it('starts right after a point in the log, and knows where each record is', () => {
    const first = WalFollower.open(dataDir, null);
    first.readUpTo(4_321, Number.MAX_SAFE_INTEGER, () => {});
    const point = { seq: first.chainSeq, chainCrc: first.chainCrc, lastTimestampMs: first.lastTimestampMs, position: first.lastRecordPosition };
    first.close();
    const second = WalFollower.open(dataDir, point);
    const seen: number[] = [];
    second.readUpTo(lastSeq, Number.MAX_SAFE_INTEGER, (command) => seen.push(command.seq));
    second.close();
    expect(seen[0]).toBe(4_322);
    expect(seen.length).toBe(lastSeq - 4_321);
  });

  it('refuses to invent records the log does not hold', () => {
    const follower = WalFollower.open(dataDir, null);
    expect(() => follower.readUpTo(lastSeq + 10, Number.MAX_SAFE_INTEGER, () => {})).toThrow(WalFollowError);
    expect(follower.chainSeq).toBe(lastSeq);
    follower.close();
    expect(() => WalFollower.open(dataDir, { seq: 100, chainCrc: 1, lastTimestampMs: 0 })).toThrow(/does not continue the snapshot/);
  });
});
