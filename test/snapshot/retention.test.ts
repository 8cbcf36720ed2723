/**
 * Retention: the newest `keep` snapshots stay; WAL segments wholly before the oldest of them are
 * kept by default, and archived or deleted only when asked. Recovery from the snapshots still
 * gives the full state; a full replay of a log whose start was archived refuses with a clear error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecoveryError } from '../../src/snapshot/recover_state.ts';
import { segmentsBefore, walArchiveDirectory } from '../../src/snapshot/retention.ts';
import type { WalRetention } from '../../src/snapshot/snapshot_policy.ts';
import { listSegments, walDirectory } from '../../src/wal/segment_file.ts';
import { nodeFileLayer } from '../../src/wal/file_layer.ts';
import { newTaker, recover, removeDir, snapshotFiles, tempDir, writeLog } from './support.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function segmentNames(dataDir: string): string[] {
  return listSegments(nodeFileLayer, walDirectory(dataDir)).segments.map((segment) => segment.name);
}

/** A log with a snapshot taken every 2,500 records by the taker, under the given retention. */
function runWithRetention(walRetention: WalRetention): { dataDir: string; fullDigest: string; allSegments: string[] } {
  const dataDir = tempDir();
  dirs.push(dataDir);
  writeLog(dataDir, 12_000, 3);
  const allSegments = segmentNames(dataDir);
  const fullDigest = recover(dataDir, { useSnapshots: false }).digest;
  const taker = newTaker(dataDir, { everyRecords: 2_500, keep: 2, walRetention });
  try {
    for (let seq = 2_500; seq <= 10_000; seq += 2_500) {
      taker.follow(seq, Number.MAX_SAFE_INTEGER);
      expect(taker.due(seq)).toBe(true);
      taker.take();
    }
  } finally {
    taker.close();
  }
  return { dataDir, fullDigest, allSegments };
}

describe('retention', () => {
  it('keeps the newest snapshots and, by default, the whole WAL', () => {
    const { dataDir, fullDigest, allSegments } = runWithRetention('keep');
    expect(snapshotFiles(dataDir)).toEqual(['00000000000000007500.snap', '00000000000000010000.snap']);
    expect(segmentNames(dataDir)).toEqual(allSegments);
    expect(fs.existsSync(walArchiveDirectory(dataDir))).toBe(false);
    expect(recover(dataDir).digest).toBe(fullDigest);
  });

  it('archive: moves the segments wholly before the oldest kept snapshot to wal-archive/', () => {
    const { dataDir, fullDigest, allSegments } = runWithRetention('archive');
    const archived = fs.readdirSync(walArchiveDirectory(dataDir)).sort();
    expect(archived.length).toBeGreaterThan(0);
    expect([...archived, ...segmentNames(dataDir)]).toEqual(allSegments);
    // The first segment left holds the oldest kept snapshot's seq + 1 (or starts right after it).
    expect(listSegments(nodeFileLayer, walDirectory(dataDir)).segments[0]!.firstSeq).toBeLessThanOrEqual(7_501);
    expect(segmentsBefore(dataDir, 7_500)).toEqual([]);
    // Both kept snapshots still recover, each with its own tail.
    expect(recover(dataDir).digest).toBe(fullDigest);
    fs.rmSync(path.join(dataDir, 'snapshots', '00000000000000010000.snap'));
    const fromOlder = recover(dataDir);
    expect(fromOlder.recovery.snapshot?.seq).toBe(7_500);
    expect(fromOlder.digest).toBe(fullDigest);
    // The whole log is no longer here: a full replay refuses instead of rebuilding a wrong state.
    expect(() => recover(dataDir, { useSnapshots: false })).toThrow(RecoveryError);
    expect(() => recover(dataDir, { useSnapshots: false })).toThrow(/archived or deleted/);
  });

  it('delete: removes them', () => {
    const { dataDir, fullDigest, allSegments } = runWithRetention('delete');
    const left = segmentNames(dataDir);
    expect(left.length).toBeLessThan(allSegments.length);
    expect(allSegments.slice(allSegments.length - left.length)).toEqual(left);
    expect(fs.existsSync(walArchiveDirectory(dataDir))).toBe(false);
    expect(recover(dataDir).digest).toBe(fullDigest);
  });

  it('without a usable snapshot, a log that does not start at seq 1 is refused, naming the rejected snapshots', () => {
    const { dataDir } = runWithRetention('archive');
    for (const name of snapshotFiles(dataDir)) {
      const file = path.join(dataDir, 'snapshots', name);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      fs.writeFileSync(file, bytes);
    }
    expect(() => recover(dataDir, { mode: 'recover' })).toThrow(/the WAL starts at seq \d+ .*snapshots rejected: .*SHA-256/);
    // Refused: nothing renamed.
    expect(snapshotFiles(dataDir)).toHaveLength(2);
  });
});
