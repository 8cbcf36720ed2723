import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/domain/assert.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { SEGMENT_HEADER_BYTES } from '../../src/wal/segment_file.ts';
import { validateWalConfig, walConfig } from '../../src/wal/wal_config.ts';
import { WalWriteError, WalWriter } from '../../src/wal/wal_writer.ts';
import {
  TestFileLayer,
  errnoError,
  makeTempDir,
  openWriter,
  readAll,
  recordFields,
  sampleCommand,
  sampleCommands,
  segmentPath,
  walFiles,
} from './wal_test_helpers.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir();
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('WAL writer', () => {
  it('writes a batch with exactly one write and one fdatasync, and only then reports it durable', () => {
    const dir = tempDir();
    const files = new TestFileLayer();
    const writer = openWriter(walConfig(dir), files.layer);
    // The first flush also creates the first segment; count the steady state from the second on.
    writer.append(sampleCommand(1));
    writer.flush();
    files.resetCounts();
    for (let seq = 2; seq <= 101; seq++) writer.append(sampleCommand(seq), 5000 + seq);
    expect(writer.pendingRecords).toBe(100);
    expect(writer.firstPendingAtMs).toBe(5002);
    expect(writer.lastSeq).toBe(101);
    expect(writer.durableSeq).toBe(1);
    expect(files.counts.write).toBe(0);
    expect(writer.flush()).toBe(100);
    expect(files.counts).toMatchObject({ write: 1, fdatasync: 1, open: 0, fsyncDirectory: 0 });
    expect(writer.durableSeq).toBe(101);
    expect(writer.pendingRecords).toBe(0);
    expect(writer.firstPendingAtMs).toBe(-1);
    expect(writer.flush()).toBe(0);
    expect(files.counts).toMatchObject({ write: 1, fdatasync: 1 });
    writer.close();
    expect(readAll(dir).map(recordFields)).toEqual(sampleCommands(1, 101).map(recordFields));
  });

  it('says when the batch is full by records or by bytes, and refuses to append past it', () => {
    const dir = tempDir();
    const writer = openWriter(walConfig(dir, { batchRecordsMax: 3 }));
    for (let seq = 1; seq <= 3; seq++) {
      expect(writer.full).toBe(false);
      writer.append(sampleCommand(seq));
    }
    expect(writer.full).toBe(true);
    expect(() => writer.append(sampleCommand(4))).toThrow(/batch is full/);
    expect(writer.flush()).toBe(3);
    writer.append(sampleCommand(4));
    writer.close();
    const small = openWriter(walConfig(tempDir(), { batchBytesMax: 400, segmentBytesMax: 4096 }));
    let appended = 0;
    while (!small.full) small.append(sampleCommand(++appended));
    expect(small.pendingBytes).toBeLessThanOrEqual(400);
    expect(appended).toBeGreaterThan(2);
    small.close();
  });

  it('accepts only the next seq and a timestamp that does not go backwards, leaving the batch unchanged', () => {
    const dir = tempDir();
    const writer = openWriter(walConfig(dir));
    writer.append(sampleCommand(10)); // an empty log may start at any seq >= 1
    expect(() => writer.append(sampleCommand(12))).toThrow(InvariantError);
    expect(() => writer.append(sampleCommand(10))).toThrow(/not the next seq 11/);
    expect(() => writer.append(sampleCommand(11, 5))).toThrow(/timestamp goes backwards/);
    const invalid = sampleCommand(11);
    invalid.accountId = 0;
    expect(() => writer.append(invalid)).toThrow(/accountId/);
    expect(writer.pendingRecords).toBe(1);
    writer.append(sampleCommand(11));
    writer.close();
    expect(readAll(dir).map((command) => command.seq)).toEqual([10, 11]);
  });

  it('treats a failed fdatasync as fatal: throws, never retries, never advances durableSeq', () => {
    const dir = tempDir();
    const files = new TestFileLayer();
    const writer = openWriter(walConfig(dir), files.layer);
    writer.append(sampleCommand(1));
    writer.flush();
    for (let seq = 2; seq <= 5; seq++) writer.append(sampleCommand(seq));
    files.resetCounts();
    files.failNext('fdatasync', errnoError('EIO', 'i/o error'));
    expect(() => writer.flush()).toThrow(WalWriteError);
    expect(files.counts.fdatasync).toBe(1);
    expect(writer.durableSeq).toBe(1);
    // Every later call refuses, so nothing can be acknowledged by accident; close does not flush.
    expect(() => writer.flush()).toThrow(/has failed before/);
    expect(() => writer.append(sampleCommand(6))).toThrow(WalWriteError);
    writer.close();
    expect(files.counts.fdatasync).toBe(1);
    expect(files.counts.write).toBe(1);
    expect(writer.durableSeq).toBe(1);
  });

  it('treats a failed write (ENOSPC) as fatal, and recovery then finds the log as it was before it', () => {
    const dir = tempDir();
    const files = new TestFileLayer();
    const writer = openWriter(walConfig(dir), files.layer);
    for (let seq = 1; seq <= 3; seq++) writer.append(sampleCommand(seq));
    writer.flush();
    for (let seq = 4; seq <= 6; seq++) writer.append(sampleCommand(seq));
    files.failNext('write', errnoError('ENOSPC', 'no space left on device'));
    let thrown: unknown;
    try {
      writer.flush();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WalWriteError);
    expect((thrown as Error).message).toMatch(/ENOSPC/);
    expect(((thrown as Error).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(files.counts.fdatasync).toBe(1 + 1); // the segment's creation and the first batch only
    expect(writer.durableSeq).toBe(3);
    writer.close();
    const recovery = recoverWal(dir);
    expect(recovery.lastSeq).toBe(3);
    expect(recovery.tornTail).toBeNull();
  });

  it('continues a short write until the whole batch is written', () => {
    const dir = tempDir();
    const files = new TestFileLayer();
    const writer = openWriter(walConfig(dir), files.layer);
    writer.append(sampleCommand(1));
    writer.flush();
    files.resetCounts();
    files.writeBytesMax = 100;
    for (let seq = 2; seq <= 11; seq++) writer.append(sampleCommand(seq));
    const bytes = writer.pendingBytes;
    writer.flush();
    expect(files.counts.write).toBe(Math.ceil(bytes / 100));
    expect(files.counts.fdatasync).toBe(1);
    writer.close();
    expect(readAll(dir)).toHaveLength(11);
  });

  it("skips fdatasync in durability 'none' (benchmarks only)", () => {
    const dir = tempDir();
    const files = new TestFileLayer();
    const writer = openWriter(walConfig(dir, { durability: 'none' }), files.layer);
    writer.append(sampleCommand(1));
    writer.flush();
    files.resetCounts();
    for (let seq = 2; seq <= 9; seq++) writer.append(sampleCommand(seq));
    writer.flush();
    expect(files.counts).toMatchObject({ write: 1, fdatasync: 0 });
    writer.close();
  });

  it('rotates before a batch would pass segmentBytesMax: new segment, directory fsync, chain continues', () => {
    const dir = tempDir();
    const files = new TestFileLayer();
    const config = walConfig(dir, { segmentBytesMax: 2048, batchBytesMax: 1024 });
    const writer = openWriter(config, files.layer);
    const commands = sampleCommands(1, 300);
    for (const command of commands) {
      if (writer.pendingRecords === 7) writer.flush();
      writer.append(command);
    }
    writer.close();
    const names = walFiles(dir);
    expect(names.length).toBeGreaterThan(5);
    expect(writer.segmentsCreated).toBe(names.length);
    expect(files.counts.fsyncDirectory).toBe(names.length + 1); // each segment, and the new wal/ directory
    for (const name of names) expect(fs.statSync(segmentPath(dir, name)).size).toBeLessThanOrEqual(2048);
    expect(readAll(dir).map(recordFields)).toEqual(commands.map(recordFields));
  });

  it('continues the chain and the current segment after recovery, or an empty segment left by a crash', () => {
    const dir = tempDir();
    const config = walConfig(dir);
    const first = openWriter(config);
    for (let seq = 1; seq <= 5; seq++) first.append(sampleCommand(seq));
    first.close();
    const second = openWriter(config);
    expect(second.lastSeq).toBe(5);
    expect(second.segmentName).toBe('00000000000000000001.wal');
    expect(() => second.append(sampleCommand(7))).toThrow(/next seq 6/);
    for (let seq = 6; seq <= 9; seq++) second.append(sampleCommand(seq));
    second.close();
    expect(walFiles(dir)).toEqual(['00000000000000000001.wal']);
    expect(readAll(dir).map(recordFields)).toEqual(sampleCommands(1, 9).map(recordFields));

    // A crash right after a rotation leaves a segment with only its header: the writer continues in it.
    const crashed = tempDir();
    const files = new TestFileLayer();
    const writer = openWriter(walConfig(crashed, { segmentBytesMax: 1024, batchBytesMax: 512 }), files.layer);
    let seq = 0;
    for (;;) {
      writer.append(sampleCommand(++seq));
      if (writer.segmentsCreated === 1 && writer.segmentBytes + writer.pendingBytes > 1024) break;
      writer.flush();
    }
    // This flush rotates: the new segment's header is written, then the batch write fails.
    files.failNext('write', errnoError('EIO', 'lost'), 1);
    expect(() => writer.flush()).toThrow(WalWriteError);
    expect(writer.segmentsCreated).toBe(2);
    writer.close();
    const recovery = recoverWal(crashed);
    expect(recovery.appendSegment?.bytes).toBe(SEGMENT_HEADER_BYTES);
    const next = new WalWriter(walConfig(crashed), recovery);
    expect(() => next.append(sampleCommand(recovery.lastSeq + 2))).toThrow(InvariantError);
    next.append(sampleCommand(recovery.lastSeq + 1));
    next.close();
    expect(readAll(crashed).at(-1)?.seq).toBe(recovery.lastSeq + 1);
  });

  it('validates its configuration at start-up', () => {
    expect(validateWalConfig(walConfig('/data'))).toEqual([]);
    expect(validateWalConfig(walConfig('/data', { batchRecordsMax: 0 }))).toHaveLength(1);
    expect(validateWalConfig(walConfig('/data', { batchBytesMax: 100 }))).toHaveLength(1);
    expect(validateWalConfig(walConfig('/data', { segmentBytesMax: 1 << 20, batchBytesMax: 1 << 20 }))).toHaveLength(1);
    expect(validateWalConfig({ ...walConfig('/data'), durability: 'sometimes' as 'none' })).toHaveLength(1);
    expect(() => openWriter(walConfig(tempDir(), { batchRecordsMax: -1 }))).toThrow(/batchRecordsMax/);
  });
});
