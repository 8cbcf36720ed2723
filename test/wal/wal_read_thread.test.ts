/**
 * The reader thread must be invisible: for every log, clean or damaged, its scan returns exactly
 * what the inline scan returns (the WalScan with its fault, torn flag, segments and counters) and
 * delivers exactly the same records, so recovery and replay decide the same with it or without it.
 * Recovery through it gives the same state, the same errors, and cuts the same torn tail.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCommand, createCommand } from '../../src/domain/commands.ts';
import type { Command } from '../../src/domain/commands.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { HANDOVER_CHECK_RECORDS, WalReadThread, WAL_READ_RING_CAPACITY } from '../../src/wal/wal_read_thread.ts';
import type { ScanOptions, WalScan } from '../../src/wal/wal_reader.ts';
import { WalCorruptionError, continuationOf, joinScans, readRecords, scanWal } from '../../src/wal/wal_reader.ts';
import { InvariantError } from '../../src/domain/assert.ts';
import { flipBit, recover, removeDir, snapshotFiles, takeSnapshotsAt, tempDir, writeLog } from '../snapshot/support.ts';
import { walBytesAfter } from '../../src/snapshot/recover_state.ts';
import { readSnapshotFile } from '../../src/snapshot/snapshot_file.ts';
import { nodeFileLayer } from '../../src/wal/file_layer.ts';

const RECORDS = 30_000;
let thread: WalReadThread;
let cleanDir = '';

beforeAll(() => {
  thread = WalReadThread.spawn();
  cleanDir = tempDir('wal-read-thread-');
  writeLog(cleanDir, RECORDS);
});

afterAll(() => {
  thread.close();
  removeDir(cleanDir);
});

function scanBothWays(dataDir: string, options: Omit<ScanOptions, 'onRecord'> = {}): { inline: WalScan; threaded: WalScan; records: Command[] } {
  const inlineRecords: Command[] = [];
  const threadRecords: Command[] = [];
  const inline = scanWal(dataDir, { ...options, onRecord: (command) => inlineRecords.push(copyCommand(command, createCommand())) });
  const threaded = thread.scan(dataDir, { ...options, onRecord: (command) => threadRecords.push(copyCommand(command, createCommand())) });
  expect(threaded).toEqual(inline);
  expect(threadRecords).toEqual(inlineRecords);
  return { inline, threaded, records: threadRecords };
}

function copyOf(dataDir: string): string {
  const copy = tempDir('wal-read-thread-copy-');
  fs.cpSync(dataDir, copy, { recursive: true });
  return copy;
}

function segments(dataDir: string): string[] {
  return fs.readdirSync(path.join(dataDir, 'wal')).filter((name) => name.endsWith('.wal')).sort();
}

describe('the WAL reader thread', () => {
  it('delivers every record of a multi-segment log in order, far more than its ring holds', () => {
    const { inline, records } = scanBothWays(cleanDir);
    expect(inline.records).toBe(RECORDS);
    expect(RECORDS).toBeGreaterThan(4 * WAL_READ_RING_CAPACITY / 3);
    expect(inline.segments.length).toBeGreaterThan(3);
    expect(records[RECORDS - 1]!.seq).toBe(RECORDS);
  });

  it('stops at toSeq exactly as the inline scan does', () => {
    const { inline } = scanBothWays(cleanDir, { toSeq: 12_345 });
    expect(inline.stoppedAtToSeq).toBe(true);
    expect(inline.lastSeq).toBe(12_345);
  });

  it('finds the same torn tail at many cut points and the same corruption for bit flips', () => {
    const names = segments(cleanDir);
    const last = path.join(cleanDir, 'wal', names[names.length - 1]!);
    const size = fs.statSync(last).size;
    for (const cut of [size - 1, size - 17, size - 40, size - 333]) {
      const copy = copyOf(cleanDir);
      try {
        fs.truncateSync(path.join(copy, 'wal', names[names.length - 1]!), cut);
        const { inline } = scanBothWays(copy);
        expect(inline.fault?.torn).toBe(true);
      } finally {
        removeDir(copy);
      }
    }
    for (const [segment, offset] of [[1, 5_000], [names.length - 1, 200], [0, 3]] as const) {
      const copy = copyOf(cleanDir);
      try {
        flipBit(path.join(copy, 'wal', names[segment]!), offset);
        const { inline } = scanBothWays(copy);
        expect(inline.fault).not.toBeNull();
      } finally {
        removeDir(copy);
      }
    }
  });

  it('makes recovery cut the same torn tail and refuse the same corruption', () => {
    const names = segments(cleanDir);
    const lastName = names[names.length - 1]!;
    const torn = [copyOf(cleanDir), copyOf(cleanDir)];
    try {
      for (const dir of torn) fs.truncateSync(path.join(dir, 'wal', lastName), fs.statSync(path.join(dir, 'wal', lastName)).size - 9);
      const inline = recoverWal(torn[0]!);
      const threaded = recoverWal(torn[1]!, { scanner: (dir, options) => thread.scan(dir, options) });
      expect(threaded.tornTail?.bytes).toBe(inline.tornTail?.bytes);
      expect(threaded.lastSeq).toBe(inline.lastSeq);
      expect(fs.readdirSync(path.join(torn[1]!, 'wal'))).toEqual(fs.readdirSync(path.join(torn[0]!, 'wal')));
    } finally {
      for (const dir of torn) removeDir(dir);
    }
    const corrupt = copyOf(cleanDir);
    try {
      flipBit(path.join(corrupt, 'wal', names[1]!), 4_000);
      let delivered = 0;
      const read = () => readRecords(corrupt, { onRecord: () => (delivered += 1), scanner: (dir, options) => thread.scan(dir, options) });
      expect(read).toThrow(WalCorruptionError);
      let inlineDelivered = 0;
      expect(() => readRecords(corrupt, { onRecord: () => (inlineDelivered += 1) })).toThrow(WalCorruptionError);
      expect(delivered).toBe(inlineDelivered);
    } finally {
      removeDir(corrupt);
    }
  });

  it('gives recoverState the same state from a snapshot and its tail, and after a rejected snapshot', () => {
    const dir = copyOf(cleanDir);
    try {
      takeSnapshotsAt(dir, [10_000, 25_000]);
      const inline = recover(dir, { walReadThread: 'off' });
      const threaded = recover(dir, { walReadThread: 'on' });
      expect(threaded.recovery.snapshot?.seq).toBe(25_000);
      expect(threaded.digest).toBe(inline.digest);
      expect(threaded.readModels).toEqual(inline.readModels);
      const full = recover(dir, { walReadThread: 'on', useSnapshots: false });
      expect(full.digest).toBe(inline.digest);
      // The log now ends before the newest snapshot: it is rejected after the reader thread said
      // so, and the same thread reads the tail after the older one.
      for (const name of segments(dir)) if (Number(name.slice(0, 20)) > 20_000) fs.rmSync(path.join(dir, 'wal', name));
      const fallbackInline = recover(dir, { walReadThread: 'off' });
      const fallbackThreaded = recover(dir, { walReadThread: 'on' });
      expect(fallbackThreaded.recovery.snapshot?.seq).toBe(10_000);
      expect(fallbackThreaded.recovery.rejectedSnapshots.map((entry) => entry.reason)).toEqual(
        fallbackInline.recovery.rejectedSnapshots.map((entry) => entry.reason),
      );
      expect(fallbackThreaded.recovery.rejectedSnapshots).toHaveLength(1);
      expect(fallbackThreaded.digest).toBe(fallbackInline.digest);
      expect(fallbackThreaded.recovery.walLastSeq).toBe(fallbackInline.recovery.walLastSeq);
    } finally {
      removeDir(dir);
    }
  });

  it("decides by the WAL left to replay after the snapshot, not by the whole log ('auto')", () => {
    const dir = copyOf(cleanDir);
    try {
      takeSnapshotsAt(dir, [25_000]);
      const names = segments(dir);
      const sizes = names.map((name) => fs.statSync(path.join(dir, 'wal', name)).size);
      expect(walBytesAfter(dir, nodeFileLayer, null)).toBe(sizes.reduce((sum, size) => sum + size, 0));
      const { meta } = readSnapshotFile(path.join(dir, 'snapshots', snapshotFiles(dir)[0]!)).body;
      const position = meta.walPosition!;
      const at = names.indexOf(position.segment);
      expect(at).toBeGreaterThanOrEqual(0);
      const point = { seq: meta.seq, chainCrc: meta.walChainCrc, lastTimestampMs: meta.lastTimestampMs };
      const tail = sizes.slice(at).reduce((sum, size) => sum + size, 0);
      // Exactly from right after the snapshot's record; without its position, from its segment's start.
      expect(walBytesAfter(dir, nodeFileLayer, { ...point, position })).toBe(tail - position.nextOffset);
      expect(walBytesAfter(dir, nodeFileLayer, { ...point, position: null })).toBe(tail);
      // A small tail: 'auto' reads it inline, and gives the same state as the thread.
      const auto = recover(dir, { walReadThread: 'auto' });
      expect(auto.recovery.walReadThread).toBe(false);
      expect(auto.digest).toBe(recover(dir, { walReadThread: 'on' }).digest);
    } finally {
      removeDir(dir);
    }
  });

  it('a worker that never starts is never waited for: the scan is the inline one, and a failure seen is reported', async () => {
    const failing = path.join(tempDir('wal-read-thread-failing-'), 'failing_worker.mjs');
    fs.writeFileSync(failing, "throw new Error('this worker fails to load');\n");
    try {
      const inlineScan = scanWal(cleanDir, {});
      const fresh = WalReadThread.spawnForTest(pathToFileURL(failing));
      // Scanned at once, before the worker could have failed (its error needs the event loop): all inline.
      expect(fresh.scan(cleanDir, {})).toEqual(inlineScan);
      expect(fresh.recordsDelivered).toBe(0);
      fresh.close();
      const inline = recover(cleanDir, { walReadThread: 'off' });
      const failed = WalReadThread.spawnForTest(pathToFileURL(failing));
      for (let waited = 0; !failed.failed && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(failed.failed).toBe(true);
      const warnings: string[] = [];
      const log = { info() {}, error() {}, warn: (_fields: object, message: string) => warnings.push(message) };
      const fellBack = recover(cleanDir, { walReadThread: 'on', log, spawnWalReader: () => failed });
      expect(fellBack.recovery.walReadThread).toBe(false);
      expect(fellBack.recovery.core.lastSeq).toBe(RECORDS);
      expect(fellBack.digest).toBe(inline.digest);
      expect(warnings).toEqual(['wal: the reader thread did not start; the WAL was read on this thread']);
    } finally {
      removeDir(path.dirname(failing));
    }
  });

  it('hands over from the inline scan to the worker once it is ready, and returns the one scan the inline reader returns', () => {
    const fresh = WalReadThread.spawn();
    try {
      const inlineRecords: Command[] = [];
      const inline = scanWal(cleanDir, { onRecord: (command) => inlineRecords.push(copyCommand(command, createCommand())) });
      const records: Command[] = [];
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const scan = fresh.scan(cleanDir, {
        onRecord: (command) => {
          // Slow at first, as a replay is, so that the worker starts before the scan ends.
          if (records.length < 2 * HANDOVER_CHECK_RECORDS) Atomics.wait(pause, 0, 0, 0.2);
          records.push(copyCommand(command, createCommand()));
        },
      });
      expect(scan).toEqual(inline);
      expect(records).toEqual(inlineRecords);
      expect(fresh.recordsDelivered).toBeGreaterThan(0);
      expect(fresh.recordsDelivered).toBeLessThan(RECORDS);
      expect((RECORDS - fresh.recordsDelivered) % HANDOVER_CHECK_RECORDS).toBe(0);
    } finally {
      fresh.close();
    }
  });

  it("joins an inline head and the worker's tail into the inline scan at any hand-over point, clean or damaged log", () => {
    const names = segments(cleanDir);
    const whole = scanWal(cleanDir, {});
    // Hand-over points: around every segment boundary (its last record, the next one's first), and a few inside.
    const ends: number[] = [];
    let total = 0;
    for (const segment of whole.segments) ends.push((total += segment.records));
    const points = [1, 2, 777, 12_345, RECORDS - 1, ...ends.flatMap((end) => [end - 1, end, end + 1])].filter((k) => k >= 1 && k < RECORDS);
    const check = (dir: string, options: Omit<ScanOptions, 'onRecord' | 'stopWhen'>, point: number): void => {
      const inlineRecords: number[] = [];
      const inline = scanWal(dir, { ...options, onRecord: (command) => inlineRecords.push(command.seq) });
      const joinedRecords: number[] = [];
      const onRecord = (command: Readonly<Command>): void => void joinedRecords.push(command.seq);
      const head = scanWal(dir, { ...options, onRecord, stopWhen: (delivered) => delivered === point });
      const handedOver = head.stoppedAtToSeq && head.fault === null && head.lastSeq < (options.toSeq ?? Number.MAX_SAFE_INTEGER);
      const joined = handedOver ? joinScans(head, thread.scan(dir, { ...options, onRecord, afterSnapshot: continuationOf(head) })) : head;
      expect(joined).toEqual(inline);
      expect(joinedRecords).toEqual(inlineRecords);
    };
    for (const point of points) check(cleanDir, {}, point);
    check(cleanDir, { toSeq: 20_000 }, 12_345);
    check(cleanDir, { toSeq: 20_000 }, 19_999);
    // After a snapshot point (the continuation of a scan that stopped at 9,000), handing over later.
    const at9000 = continuationOf(scanWal(cleanDir, { stopWhen: (delivered) => delivered === 9_000 }));
    for (const point of [1, 5_000, 12_000]) check(cleanDir, { afterSnapshot: at9000 }, point);
    const lastName = names[names.length - 1]!;
    const torn = copyOf(cleanDir);
    const corrupt = copyOf(cleanDir);
    try {
      fs.truncateSync(path.join(torn, 'wal', lastName), fs.statSync(path.join(torn, 'wal', lastName)).size - 9);
      flipBit(path.join(corrupt, 'wal', names[names.length - 2]!), 4_000);
      for (const point of [ends[0]!, ends[ends.length - 2]!, RECORDS - 2]) {
        check(torn, {}, point);
        check(corrupt, {}, point);
      }
    } finally {
      removeDir(torn);
      removeDir(corrupt);
    }
  });

  it('ends the worker and rethrows when applying a record throws, on either side of the hand-over', () => {
    for (const failAt of [100, 20_000]) {
      const local = WalReadThread.spawn();
      const pause = new Int32Array(new SharedArrayBuffer(4));
      let seen = 0;
      expect(() =>
        local.scan(cleanDir, {
          onRecord: () => {
            seen += 1;
            // Record 100 fails inline, before the worker can be ready; 20,000 after the hand-over.
            if (seen < 2 * HANDOVER_CHECK_RECORDS) Atomics.wait(pause, 0, 0, 0.2);
            if (seen === failAt) throw new InvariantError('applying failed');
          },
        }),
      ).toThrow('applying failed');
      expect(local.recordsDelivered > 0).toBe(failAt === 20_000);
      expect(() => local.scan(cleanDir, {})).toThrow('closed');
    }
  });
});
