import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.ts';
import { RECORD_BYTES_MAX, RecordEncoder } from '../../src/wal/record_codec.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, segmentFileName } from '../../src/wal/segment_file.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import { WalCorruptionError, readRecords, scanWal } from '../../src/wal/wal_reader.ts';
import { WalWriter } from '../../src/wal/wal_writer.ts';
import {
  makeTempDir,
  openWriter,
  readAll,
  recordFields,
  sampleCommand,
  sampleCommands,
  segmentPath,
  walFiles,
  writeLog,
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

function copyDir(from: string): string {
  const to = tempDir();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function encodedSize(command: Readonly<Command>): number {
  return new RecordEncoder().encode(command, 0, new Uint8Array(RECORD_BYTES_MAX), 0);
}

function lastSegment(dataDir: string): string {
  const names = walFiles(dataDir).filter((name) => name.endsWith('.wal'));
  return segmentPath(dataDir, names[names.length - 1]!);
}

function fields(commands: readonly Command[]): Array<Record<string, unknown>> {
  return commands.map(recordFields);
}

/** Writes a segment file by hand: records chained from `prevCrc`, whatever their seqs. */
function writeRawSegment(dataDir: string, commands: readonly Command[], prevCrc = 0): void {
  const encoder = new RecordEncoder();
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES + commands.length * RECORD_BYTES_MAX);
  encodeSegmentHeader(commands[0]!.seq, prevCrc, bytes);
  let offset = SEGMENT_HEADER_BYTES;
  let crc = prevCrc;
  for (const command of commands) {
    offset += encoder.encode(command, crc, bytes, offset);
    crc = encoder.crc;
  }
  fs.mkdirSync(path.join(dataDir, 'wal'), { recursive: true });
  fs.writeFileSync(segmentPath(dataDir, segmentFileName(commands[0]!.seq)), bytes.subarray(0, offset));
}

describe('WAL recovery and reading', () => {
  it('recovers an empty or missing log as empty', () => {
    const dir = tempDir();
    const recovery = recoverWal(dir);
    expect(recovery).toMatchObject({ firstSeq: 0, lastSeq: 0, lastCrc: 0, records: 0, appendSegment: null, tornTail: null });
    expect(readRecords(dir, { onRecord: () => undefined }).records).toBe(0);
  });

  it('reads back every record across many segments, in order, and knows where the log starts', () => {
    const dir = tempDir();
    const commands = sampleCommands(1000, 600);
    writeLog(dir, commands, { segmentBytesMax: 4096, batchBytesMax: 2048 }, 13);
    const recovery = recoverWal(dir);
    expect(recovery.segments.length).toBeGreaterThan(5);
    expect(recovery).toMatchObject({ firstSeq: 1000, lastSeq: 1599, records: 600, tornTail: null, repair: null });
    expect(recovery.segments.reduce((sum, segment) => sum + segment.records, 0)).toBe(600);
    expect(recovery.appendSegment?.name).toBe(recovery.segments.at(-1)?.name);
    expect(fields(readAll(dir))).toEqual(fields(commands));
    // Replay to a point, and the writer continues the chain in the last segment.
    const seen: number[] = [];
    const summary = readRecords(dir, { toSeq: 1100, onRecord: (command) => seen.push(command.seq) });
    expect(seen).toEqual(commands.slice(0, 101).map((command) => command.seq));
    expect(summary.lastSeq).toBe(1100);
    const writer = new WalWriter(walConfig(dir, { segmentBytesMax: 4096, batchBytesMax: 2048 }), recovery);
    writer.append(sampleCommand(1600));
    writer.close();
    expect(readAll(dir).at(-1)?.seq).toBe(1600);
  });

  it('replays while recovering, and reads across chunk refills of the smallest chunk', () => {
    const dir = tempDir();
    const commands = sampleCommands(1, 4000);
    writeLog(dir, commands, {}, 500);
    expect(fs.statSync(lastSegment(dir)).size).toBeGreaterThan(2 * 64 * 1024);
    const replayed: number[] = [];
    recoverWal(dir, { onRecord: (command) => replayed.push(command.seq), chunkBytes: 64 * 1024 });
    expect(replayed).toHaveLength(4000);
    const read: Command[] = [];
    readRecords(dir, { chunkBytes: 64 * 1024, onRecord: (command) => read.push({ ...command }) });
    expect(fields(read)).toEqual(fields(commands));
  });

  it('truncates a torn tail at every byte offset inside the last record, losing nothing else', () => {
    const original = tempDir();
    const commands = sampleCommands(1, 12);
    commands[11] = sampleCommand(12);
    commands[11].clientOrderId = 'a-long-client-order-id-0123456789';
    commands[11].type = 3;
    writeLog(original, commands, { segmentBytesMax: 1024, batchBytesMax: 512 }, 3);
    const fileSize = fs.statSync(lastSegment(original)).size;
    const lastStart = fileSize - encodedSize(commands[11]);
    expect(lastStart).toBeGreaterThanOrEqual(SEGMENT_HEADER_BYTES);
    const bytes = fs.readFileSync(lastSegment(original));
    for (let cut = lastStart + 1; cut < fileSize; cut++) {
      const dir = copyDir(original);
      fs.truncateSync(lastSegment(dir), cut);
      const recovery = recoverWal(dir);
      expect(recovery.lastSeq).toBe(11);
      expect(recovery.tornTail).toMatchObject({ file: lastSegment(dir), offset: lastStart, bytes: cut - lastStart });
      expect(fs.statSync(lastSegment(dir)).size).toBe(lastStart);
      const side = path.join(dir, 'wal', recovery.tornTail!.savedAs);
      expect(fs.readFileSync(side)).toEqual(bytes.subarray(lastStart, cut));
      expect(fields(readAll(dir))).toEqual(fields(commands.slice(0, 11)));
      // The writer continues right there: the lost record can be written again.
      const writer = new WalWriter(walConfig(dir, { segmentBytesMax: 1024, batchBytesMax: 512 }), recovery);
      writer.append(commands[11]);
      writer.close();
      expect(fields(readAll(dir))).toEqual(fields(commands));
      fs.rmSync(dir, { recursive: true });
    }
  }, 30_000);

  it('detects a single bit flip at every byte of a small log: corruption, or a torn tail only in the last record', () => {
    const dir = tempDir();
    const commands = sampleCommands(1, 12);
    writeLog(dir, commands, { segmentBytesMax: 400, batchBytesMax: 200 }, 2);
    const names = walFiles(dir);
    expect(names.length).toBeGreaterThanOrEqual(2);
    const lastFile = segmentPath(dir, names[names.length - 1]!);
    const lastStart = fs.statSync(lastFile).size - encodedSize(commands[11]!);
    let corruptions = 0;
    let torn = 0;
    for (const name of names) {
      const file = segmentPath(dir, name);
      const original = fs.readFileSync(file);
      const fd = fs.openSync(file, 'r+');
      for (let at = 0; at < original.length; at++) {
        // Flip one bit in place, scan, and put the byte back.
        fs.writeSync(fd, Uint8Array.of(original[at]! ^ (1 << at % 8)), 0, 1, at);
        const fault = scanWal(dir).fault;
        fs.writeSync(fd, original, at, 1, at);
        const inLastRecord = file === lastFile && at >= lastStart;
        expect(fault, `flip at ${name}:${at}`).not.toBeNull();
        if (!inLastRecord) expect(fault!.torn, `flip at ${name}:${at} (${fault!.reason})`).toBe(false);
        if (fault!.torn) expect(fault!.offset).toBe(lastStart);
        if (fault!.torn) torn++;
        else corruptions++;
      }
      fs.closeSync(fd);
    }
    expect(torn).toBeGreaterThan(0);
    expect(corruptions).toBeGreaterThan(torn);
    expect(scanWal(dir).fault).toBeNull();
  }, 30_000);

  it('truncates a zero-filled tail, after the last record or in place of it', () => {
    const original = tempDir();
    const commands = sampleCommands(1, 20);
    writeLog(original, commands, {}, 5);
    const appended = copyDir(original);
    const size = fs.statSync(lastSegment(appended)).size;
    fs.appendFileSync(lastSegment(appended), Buffer.alloc(4096));
    const recovery = recoverWal(appended);
    expect(recovery.tornTail).toMatchObject({ offset: size, bytes: 4096 });
    expect(recovery.lastSeq).toBe(20);
    expect(fs.statSync(lastSegment(appended)).size).toBe(size);

    const zeroed = copyDir(original);
    const lastStart = size - encodedSize(commands[19]!);
    const fd = fs.openSync(lastSegment(zeroed), 'r+');
    fs.writeSync(fd, Buffer.alloc(size - lastStart + 100), 0, size - lastStart + 100, lastStart);
    fs.closeSync(fd);
    const zeroedRecovery = recoverWal(zeroed);
    expect(zeroedRecovery.tornTail).toMatchObject({ offset: lastStart, bytes: size - lastStart + 100 });
    expect(zeroedRecovery.lastSeq).toBe(19);
  });

  it('reports a torn tail when reading, without changing the log', () => {
    const dir = tempDir();
    writeLog(dir, sampleCommands(1, 10));
    const size = fs.statSync(lastSegment(dir)).size;
    fs.truncateSync(lastSegment(dir), size - 3);
    const seen: number[] = [];
    const summary = readRecords(dir, { onRecord: (command) => seen.push(command.seq) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(summary.tornTail).toMatchObject({ file: lastSegment(dir), bytes: size - 3 - (size - encodedSize(sampleCommand(10))) });
    expect(fs.statSync(lastSegment(dir)).size).toBe(size - 3);
  });

  it('calls heavier damage to the second-to-last record corruption when a valid record follows it', () => {
    const dir = tempDir();
    const commands = sampleCommands(1, 10);
    writeLog(dir, commands);
    const file = lastSegment(dir);
    const size = fs.statSync(file).size;
    const badStart = size - encodedSize(commands[9]!) - encodedSize(commands[8]!);
    for (const [from, to] of [
      [badStart, badStart + 20], // length, crc and seq wiped
      [badStart + 4, badStart + 40], // crc, header and the start of the body
    ] as const) {
      const bytes = fs.readFileSync(file);
      const original = Buffer.from(bytes);
      bytes.fill(0xa5, from, to);
      fs.writeFileSync(file, bytes);
      expect(scanWal(dir).fault).toMatchObject({ offset: badStart, seq: 9, torn: false });
      fs.writeFileSync(file, original);
    }
  });

  it('refuses corruption in the middle, naming file, offset and seq; reading refuses it too', () => {
    const dir = tempDir();
    const commands = sampleCommands(1, 30);
    writeLog(dir, commands, {}, 4);
    const file = lastSegment(dir);
    const third = SEGMENT_HEADER_BYTES + encodedSize(commands[0]!) + encodedSize(commands[1]!);
    const bytes = fs.readFileSync(file);
    bytes[third + 40]! ^= 0x10;
    fs.writeFileSync(file, bytes);
    let error: unknown;
    try {
      recoverWal(dir);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(WalCorruptionError);
    const corruption = error as WalCorruptionError;
    expect(corruption).toMatchObject({ file, offset: third, seq: 3, reason: 'checksum mismatch' });
    expect(corruption.message).toContain(file);
    expect(corruption.message).toContain(`offset ${third}`);
    expect(corruption.message).toContain('seq 3');
    expect(fs.readFileSync(file)).toEqual(bytes); // refusing changes nothing
    const delivered: number[] = [];
    expect(() => readRecords(dir, { onRecord: (command) => delivered.push(command.seq) })).toThrow(WalCorruptionError);
    expect(delivered).toEqual([1, 2]);
  });

  it('repairs on request: truncates at the bad record, keeps the cut bytes, sets later segments aside', () => {
    const dir = tempDir();
    const commands = sampleCommands(1, 200);
    const config = { segmentBytesMax: 4096, batchBytesMax: 1024 };
    writeLog(dir, commands, config, 10);
    const before = walFiles(dir);
    expect(before.length).toBeGreaterThanOrEqual(3);
    const firstFile = segmentPath(dir, before[0]!);
    const originalBytes = fs.readFileSync(firstFile);
    const badOffset = SEGMENT_HEADER_BYTES + commands.slice(0, 5).reduce((sum, command) => sum + encodedSize(command), 0);
    const damaged = Buffer.from(originalBytes);
    damaged[badOffset + 33]! ^= 0x01;
    fs.writeFileSync(firstFile, damaged);
    const laterBytes = before.slice(1).map((name) => fs.readFileSync(segmentPath(dir, name)));

    expect(() => recoverWal(dir)).toThrow(/seq 6/);
    const recovery = recoverWal(dir, { repair: true });
    expect(recovery.lastSeq).toBe(5);
    expect(recovery.repair).toMatchObject({ file: firstFile, offset: badOffset, seq: 6 });
    const savedAs = recovery.repair!.savedAs!;
    expect(savedAs).toBe(`${before[0]}.corrupt-${badOffset}`);
    expect(fs.readFileSync(path.join(dir, 'wal', savedAs))).toEqual(damaged.subarray(badOffset));
    expect(fs.statSync(firstFile).size).toBe(badOffset);
    expect(recovery.repair!.setAside).toEqual(before.slice(1).map((name) => `${name}.corrupt`));
    recovery.repair!.setAside.forEach((name, index) => {
      expect(fs.readFileSync(path.join(dir, 'wal', name))).toEqual(laterBytes[index]);
    });
    // Nothing was deleted, and the log now reads cleanly and continues at seq 6.
    expect(walFiles(dir)).toEqual([before[0], savedAs, ...recovery.repair!.setAside].sort());
    const writer = new WalWriter(walConfig(dir, config), recovery);
    for (const command of commands.slice(5, 20)) writer.append(command);
    writer.close();
    expect(fields(readAll(dir))).toEqual(fields(commands.slice(0, 20)));
    expect(recoverWal(dir).ignoredFiles).toEqual([savedAs, ...recovery.repair!.setAside].sort());
  });

  it('sets a segment with a bad header aside as a whole on repair', () => {
    const dir = tempDir();
    writeLog(dir, sampleCommands(1, 120), { segmentBytesMax: 2048, batchBytesMax: 1024 }, 10);
    const names = walFiles(dir);
    const second = segmentPath(dir, names[1]!);
    const bytes = fs.readFileSync(second);
    bytes[2]! ^= 0x40;
    fs.writeFileSync(second, bytes);
    expect(() => recoverWal(dir)).toThrow(/bad segment magic/);
    const recovery = recoverWal(dir, { repair: true });
    expect(recovery.repair).toMatchObject({ offset: 0, savedAs: null });
    expect(recovery.repair!.setAside).toEqual(names.slice(1).map((name) => `${name}.corrupt`));
    expect(recovery.appendSegment?.name).toBe(names[0]);
    expect(recovery.lastSeq).toBe(recovery.segments[0]!.records);
  });

  it('detects a seq gap inside a segment even when every checksum verifies', () => {
    const dir = tempDir();
    writeRawSegment(dir, [sampleCommand(1), sampleCommand(2), sampleCommand(4), sampleCommand(5)]);
    expect(() => recoverWal(dir)).toThrow(/seq gap: record has seq 4, expected 3/);
    expect(scanWal(dir).fault).toMatchObject({ seq: 3, torn: false });
  });

  it('detects a missing segment as a seq gap between segments', () => {
    const dir = tempDir();
    writeLog(dir, sampleCommands(1, 100), { segmentBytesMax: 2048, batchBytesMax: 1024 }, 10);
    const names = walFiles(dir);
    fs.renameSync(segmentPath(dir, names[1]!), path.join(dir, 'moved-away'));
    expect(() => recoverWal(dir)).toThrow(/seq gap between segments/);
  });

  it('detects a misplaced record: a valid record copied into another position breaks the chain', () => {
    const dir = tempDir();
    const commands = sampleCommands(1, 6);
    writeRawSegment(dir, commands.slice(0, 3));
    // A second, self-consistent segment chained from 0 instead of from the first segment's last crc.
    writeRawSegment(dir, commands.slice(3), 0);
    expect(() => recoverWal(dir)).toThrow(/checksum chain broken/);
  });

  it('ignores a .tmp left by a crash during segment creation, and the writer replaces it', () => {
    const dir = tempDir();
    writeLog(dir, sampleCommands(1, 5));
    const tmp = segmentPath(dir, `${segmentFileName(6)}.tmp`);
    fs.writeFileSync(tmp, 'half a header');
    const recovery = recoverWal(dir);
    expect(recovery.ignoredFiles).toEqual([`${segmentFileName(6)}.tmp`]);
    expect(recovery.lastSeq).toBe(5);
    const writer = openWriter(walConfig(dir, { segmentBytesMax: 1024, batchBytesMax: 512 }));
    for (let seq = 6; seq <= 30; seq++) {
      writer.append(sampleCommand(seq));
      writer.flush();
    }
    writer.close();
    expect(readAll(dir)).toHaveLength(30);
  });
});
