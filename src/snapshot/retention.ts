/**
 * Retention after a new snapshot: old snapshots beyond `keep` are deleted, and, only when asked
 * (`--wal-retention=archive|delete`), WAL segments wholly before the oldest kept snapshot are moved
 * to `<data>/wal-archive/` or deleted. By default the WAL is kept whole, so that `replay --full`
 * and an operator can always go back to seq 1.
 *
 * "Wholly before" the snapshot at seq S: the segment is followed by another one whose firstSeq is
 * at most S + 1, so every record it holds is at most S and recovery from that snapshot never reads
 * it (wal_reader.ts starts at the segment holding S + 1). The last segment is never touched: the
 * writer appends to it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileLayer } from '../wal/file_layer.ts';
import { nodeFileLayer } from '../wal/file_layer.ts';
import { listSegments, walDirectory } from '../wal/segment_file.ts';
import type { WalRetention } from './snapshot_policy.ts';
import { SNAPSHOT_TEMP_SUFFIX, listSnapshots, removeFile, snapshotDirectory } from './snapshot_file.ts';

export function walArchiveDirectory(dataDir: string): string {
  return path.join(dataDir, 'wal-archive');
}

export interface RetentionReport {
  /** Snapshot files deleted (beyond `keep`). */
  removedSnapshots: string[];
  /** The oldest snapshot kept, 0 when there is none. */
  oldestKeptSeq: number;
  /** WAL segments archived or deleted. */
  walSegments: string[];
  walRetention: WalRetention;
}

export function applyRetention(dataDir: string, keep: number, walRetention: WalRetention, layer: FileLayer = nodeFileLayer): RetentionReport {
  const dir = snapshotDirectory(dataDir);
  const { snapshots } = listSnapshots(layer, dir);
  const removedSnapshots: string[] = [];
  for (const old of snapshots.slice(keep)) {
    removeFile(path.join(dir, old.name), layer);
    removedSnapshots.push(old.name);
  }
  const kept = snapshots.slice(0, keep);
  const oldestKeptSeq = kept[kept.length - 1]?.seq ?? 0;
  const walSegments = walRetention === 'keep' || oldestKeptSeq === 0 ? [] : retireSegments(dataDir, oldestKeptSeq, walRetention, layer);
  return { removedSnapshots, oldestKeptSeq, walSegments, walRetention };
}

/** Segments wholly before `snapshotSeq`, oldest first (never the last one). */
export function segmentsBefore(dataDir: string, snapshotSeq: number, layer: FileLayer = nodeFileLayer): string[] {
  const walDir = walDirectory(dataDir);
  if (layer.stat(walDir) === null) return [];
  const { segments } = listSegments(layer, walDir);
  const result: string[] = [];
  for (let index = 0; index + 1 < segments.length && segments[index + 1]!.firstSeq <= snapshotSeq + 1; index++) {
    result.push(segments[index]!.name);
  }
  return result;
}

function retireSegments(dataDir: string, snapshotSeq: number, mode: 'archive' | 'delete', layer: FileLayer): string[] {
  const names = segmentsBefore(dataDir, snapshotSeq, layer);
  if (names.length === 0) return names;
  const walDir = walDirectory(dataDir);
  if (mode === 'delete') {
    for (const name of names) fs.unlinkSync(path.join(walDir, name));
    layer.fsyncDirectory(walDir);
    return names;
  }
  const archive = walArchiveDirectory(dataDir);
  if (layer.stat(archive) === null) {
    layer.mkdir(archive);
    layer.fsyncDirectory(dataDir);
  }
  for (const name of names) {
    const target = path.join(archive, name);
    if (layer.stat(target) !== null) throw new Error(`WAL retention: ${target} already exists, refusing to overwrite it`);
    layer.rename(path.join(walDir, name), target);
  }
  // Both directories: the move is durable only once the new entry and the removal both are.
  layer.fsyncDirectory(archive);
  layer.fsyncDirectory(walDir);
  return names;
}

/** Leftover `.tmp` files of snapshots whose writing a crash interrupted: never valid, removed. */
export function removeSnapshotLeftovers(dataDir: string, layer: FileLayer = nodeFileLayer): string[] {
  const dir = snapshotDirectory(dataDir);
  const removed: string[] = [];
  for (const name of listSnapshots(layer, dir).others) {
    if (!name.endsWith(SNAPSHOT_TEMP_SUFFIX)) continue;
    removeFile(path.join(dir, name), layer);
    removed.push(name);
  }
  return removed;
}
