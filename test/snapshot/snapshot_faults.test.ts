/**
 * A snapshot that is partial (a crash while it was written), damaged (a bit flip anywhere), not
 * what it claims (a digest that does not match its state) or not of this log (a chain crc the WAL
 * does not have, a seq beyond the log's end) is never used: recovery says why in the log and falls
 * back to an older snapshot or to the whole WAL, and always ends with the full replay's state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { RecoveryError } from '../../src/snapshot/recover_state.ts';
import { removeSnapshotLeftovers } from '../../src/snapshot/retention.ts';
import { SNAPSHOT_HEADER_BYTES, SNAPSHOT_SYNC_CHUNK_BYTES, readSnapshotFile, snapshotDirectory, writeSnapshotBytes, writeSnapshotFile } from '../../src/snapshot/snapshot_file.ts';
import type { FileLayer } from '../../src/wal/file_layer.ts';
import { nodeFileLayer } from '../../src/wal/file_layer.ts';
import { flipBit, recover, recordingLog, removeDir, snapshotFiles, takeSnapshotsAt, tempDir, writeLog } from './support.ts';

const OLDER = '00000000000000004000.snap';
const NEWER = '00000000000000008000.snap';

/** A pristine data directory (log + two snapshots) and its full-replay digest; each test works on a copy. */
let pristine = '';
let fullDigest = '';
const copies: string[] = [];

beforeAll(() => {
  pristine = tempDir();
  writeLog(pristine, 10_000, 5);
  takeSnapshotsAt(pristine, [4_000, 8_000]);
  fullDigest = recover(pristine, { useSnapshots: false }).digest;
});

afterAll(() => removeDir(pristine));
afterEach(() => {
  for (const dir of copies.splice(0)) removeDir(dir);
});

function copyOfData(): { dataDir: string; snapshots: string } {
  const dataDir = tempDir();
  copies.push(dataDir);
  fs.cpSync(pristine, dataDir, { recursive: true });
  return { dataDir, snapshots: snapshotDirectory(dataDir) };
}

function rejections(log: ReturnType<typeof recordingLog>): string[] {
  return log.lines.filter((line) => line.level === 'error' && line.message.includes('REJECTED')).map((line) => JSON.stringify(line.fields));
}

describe('a crash while a snapshot is being written', () => {
  it('leaves a .tmp file, which is never read, and removed when the worker starts', () => {
    const { dataDir, snapshots } = copyOfData();
    const partial = fs.readFileSync(path.join(snapshots, NEWER)).subarray(0, 5_000);
    fs.writeFileSync(path.join(snapshots, '00000000000000009000.snap.tmp'), partial);
    const log = recordingLog();
    const recovered = recover(dataDir, { log, mode: 'recover' });
    expect(recovered.recovery.snapshot?.seq).toBe(8_000);
    expect(recovered.digest).toBe(fullDigest);
    expect(rejections(log)).toEqual([]);
    expect(removeSnapshotLeftovers(dataDir)).toEqual(['00000000000000009000.snap.tmp']);
    expect(snapshotFiles(dataDir)).toEqual([OLDER, NEWER]);
  });

  it('or a truncated final file (a file system that lost the tail): rejected, set aside, the older one used', () => {
    const { dataDir, snapshots } = copyOfData();
    const file = path.join(snapshots, NEWER);
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const log = recordingLog();
    const recovered = recover(dataDir, { log, mode: 'recover' });
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.digest).toBe(fullDigest);
    expect(recovered.recovery.rejectedSnapshots).toHaveLength(1);
    expect(recovered.recovery.rejectedSnapshots[0]!.reason).toMatch(/truncated/);
    expect(rejections(log).join()).toMatch(/truncated/);
    // Set aside under a name recovery never reads again, never deleted.
    expect(snapshotFiles(dataDir)).toEqual([OLDER, `${NEWER}.rejected`]);
  });

  it('or only a header: rejected too', () => {
    const { dataDir, snapshots } = copyOfData();
    fs.truncateSync(path.join(snapshots, NEWER), SNAPSHOT_HEADER_BYTES - 3);
    const recovered = recover(dataDir);
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.digest).toBe(fullDigest);
  });
});

describe('a damaged snapshot', () => {
  it.each([
    ['in the body', -100, /SHA-256/],
    ['in the middle of the body', 30_000, /SHA-256/],
    ['in the header', 20, /header checksum/],
  ])('a bit flip %s falls back to the older snapshot and says why', (_where, offset, reason) => {
    const { dataDir, snapshots } = copyOfData();
    flipBit(path.join(snapshots, NEWER), offset);
    const log = recordingLog();
    const recovered = recover(dataDir, { log });
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.digest).toBe(fullDigest);
    expect(recovered.recovery.rejectedSnapshots[0]!.reason).toMatch(reason);
    expect(rejections(log)).toHaveLength(1);
    // Read mode (the replay command) reports, never renames.
    expect(snapshotFiles(dataDir)).toEqual([OLDER, NEWER]);
  });

  it('with every snapshot damaged, the whole WAL is replayed, and the log says so', () => {
    const { dataDir, snapshots } = copyOfData();
    flipBit(path.join(snapshots, NEWER), -7);
    flipBit(path.join(snapshots, OLDER), 2_000);
    const log = recordingLog();
    const recovered = recover(dataDir, { log });
    expect(recovered.recovery.snapshot).toBeNull();
    expect(recovered.recovery.walRecords).toBe(10_000);
    expect(recovered.digest).toBe(fullDigest);
    expect(rejections(log)).toHaveLength(2);
    expect(log.lines.some((line) => line.level === 'warn' && line.message.includes('replaying the whole WAL'))).toBe(true);
  });

  it('whose state does not match its digest (valid checksums) is rejected', () => {
    const { dataDir, snapshots } = copyOfData();
    const loaded = readSnapshotFile(path.join(snapshots, NEWER));
    const core = loaded.body.core();
    core.engine.tradeIdLast += 1;
    fs.rmSync(path.join(snapshots, NEWER));
    writeSnapshotFile(snapshots, { ...loaded.body.meta, core, readModels: loaded.body.readModels() });
    const recovered = recover(dataDir);
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.recovery.rejectedSnapshots[0]!.reason).toMatch(/digest mismatch/);
    expect(recovered.digest).toBe(fullDigest);
  });

  it('whose state breaks an invariant of a state machine (valid checksums) is rejected', () => {
    const { dataDir, snapshots } = copyOfData();
    const loaded = readSnapshotFile(path.join(snapshots, NEWER));
    const core = loaded.body.core();
    core.ledger.accounts[0]!.availableUnits[0]! += 1;
    fs.rmSync(path.join(snapshots, NEWER));
    writeSnapshotFile(snapshots, { ...loaded.body.meta, core, readModels: loaded.body.readModels() });
    const recovered = recover(dataDir);
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.digest).toBe(fullDigest);
  });
});

describe('a snapshot that is not of this log', () => {
  it('with a chain crc the WAL does not have is rejected (the WAL does not continue it)', () => {
    const { dataDir, snapshots } = copyOfData();
    const loaded = readSnapshotFile(path.join(snapshots, NEWER));
    fs.rmSync(path.join(snapshots, NEWER));
    writeSnapshotFile(snapshots, {
      ...loaded.body.meta,
      walChainCrc: (loaded.body.meta.walChainCrc + 1) >>> 0,
      core: loaded.body.core(),
      readModels: loaded.body.readModels(),
    });
    const log = recordingLog();
    const recovered = recover(dataDir, { log, mode: 'recover' });
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.recovery.rejectedSnapshots[0]!.reason).toMatch(/does not continue it/);
    expect(recovered.digest).toBe(fullDigest);
  });

  it('beyond the end of the log (a log that lost records) is rejected, never used for a state the log does not hold', () => {
    const dataDir = tempDir();
    copies.push(dataDir);
    writeLog(dataDir, 6_000, 5); // the same flow: the first 6,000 records of the pristine log
    fs.mkdirSync(snapshotDirectory(dataDir));
    for (const name of [OLDER, NEWER]) fs.copyFileSync(path.join(snapshotDirectory(pristine), name), path.join(snapshotDirectory(dataDir), name));
    const recovered = recover(dataDir);
    expect(recovered.recovery.snapshot?.seq).toBe(4_000);
    expect(recovered.recovery.rejectedSnapshots[0]!.reason).toMatch(/ends at seq 6000, before the snapshot's seq 8000/);
    expect(recovered.digest).toBe(recover(dataDir, { useSnapshots: false }).digest);
  });

  it('next to an empty WAL refuses to start rather than start an empty exchange', () => {
    const { dataDir } = copyOfData();
    fs.rmSync(path.join(dataDir, 'wal'), { recursive: true });
    expect(() => recover(dataDir, { mode: 'recover' })).toThrow(RecoveryError);
    expect(() => recover(dataDir, { mode: 'recover' })).toThrow(/WAL is empty but snapshots up to seq 8000 exist/);
    // A refused start sets nothing aside: the next start refuses the same way.
    expect(snapshotFiles(dataDir)).toEqual([OLDER, NEWER]);
  });
});

describe('writing a snapshot', () => {
  it('syncs its body a chunk at a time (so the WAL never waits on a whole snapshot), then renames it into place', () => {
    const dir = tempDir();
    copies.push(dir);
    const events: string[] = [];
    const layer: FileLayer = {
      ...nodeFileLayer,
      write: (fd, buffer, offset, length, position) => {
        events.push(`write ${position} ${length}`);
        return nodeFileLayer.write(fd, buffer, offset, length, position);
      },
      fdatasync: (fd) => {
        events.push('fdatasync');
        nodeFileLayer.fdatasync(fd);
      },
      rename: (from, to) => {
        events.push(`rename ${path.basename(from)}`);
        nodeFileLayer.rename(from, to);
      },
    };
    const body = new Uint8Array(2 * SNAPSHOT_SYNC_CHUNK_BYTES + 12_345).map((_, i) => i % 251);
    const written = writeSnapshotBytes(dir, 42, body, 7, 'ab'.repeat(32), layer);
    const h = SNAPSHOT_HEADER_BYTES;
    expect(events).toEqual([
      `write 0 ${h}`,
      `write ${h} ${SNAPSHOT_SYNC_CHUNK_BYTES}`,
      'fdatasync',
      `write ${h + SNAPSHOT_SYNC_CHUNK_BYTES} ${SNAPSHOT_SYNC_CHUNK_BYTES}`,
      'fdatasync',
      `write ${h + 2 * SNAPSHOT_SYNC_CHUNK_BYTES} 12345`,
      'fdatasync',
      `rename ${path.basename(written.file)}.tmp`,
    ]);
    expect(fs.readFileSync(written.file).subarray(h)).toEqual(Buffer.from(body));
  });
});
