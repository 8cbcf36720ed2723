/**
 * Recovery from a snapshot plus the WAL after it must rebuild exactly what replaying the whole WAL
 * rebuilds: the same digest, the same exported state of every state machine (sequencer with its
 * spendable view and idempotency map, ledger, engine) and the same gateway read models.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverWal } from '../../src/wal/recovery.ts';
import { scanWal } from '../../src/wal/wal_reader.ts';
import { readSnapshotFile } from '../../src/snapshot/snapshot_file.ts';
import { READ_MODELS, recover, recordingLog, removeDir, snapshotFiles, takeSnapshotsAt, tempDir, writeLog } from './support.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import { limits, marketSet } from './support.ts';
import { exportCoreState } from '../../src/core/core_state.ts';
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import { recoverState } from '../../src/snapshot/recover_state.ts';

const RECORDS = 14_000;
let dataDir = '';
let lastSeq = 0;
/** Snapshot seqs: inside a segment, at the very end of one (the next starts at seq + 1), near the end. */
let seqs: number[] = [];

beforeAll(() => {
  dataDir = tempDir();
  lastSeq = writeLog(dataDir, RECORDS);
  const segments = recoverWal(dataDir).segments;
  expect(segments.length).toBeGreaterThan(3);
  const segmentEnd = segments[2]!.firstSeq - 1;
  seqs = takeSnapshotsAt(dataDir, [2_001, segmentEnd, 12_345]);
  expect(snapshotFiles(dataDir)).toHaveLength(3);
});

afterAll(() => removeDir(dataDir));

describe('recovery from a snapshot and the WAL after it', () => {
  it('gives the state of a full replay: digest, every state machine, and the read models', () => {
    const full = recover(dataDir, { useSnapshots: false });
    expect(full.recovery.snapshot).toBeNull();
    expect(full.recovery.walRecords).toBe(lastSeq);
    const fromSnapshot = recover(dataDir);
    expect(fromSnapshot.recovery.snapshot?.seq).toBe(12_345);
    expect(fromSnapshot.recovery.walRecords).toBe(lastSeq - 12_345);
    expect(fromSnapshot.digest).toBe(full.digest);
    expect(fromSnapshot.core).toEqual(full.core);
    expect(fromSnapshot.readModels).toEqual(full.readModels);
  });

  it('moves read models and the idempotency map as columns exactly as it moves them as objects and rows', () => {
    const models = new ReadModels(marketSet, READ_MODELS);
    const recovered = recoverState(dataDir, { marketSet, limits, mode: 'read', useSnapshots: false, readModels: models });
    const asObjects = models.exportState();
    const asColumns = models.exportState({ orderColumns: true });
    expect(asColumns.orders).toEqual([]);
    expect(asColumns.orderColumns!.orderId.length).toBe(asObjects.orders.length);
    const restored = new ReadModels(marketSet, READ_MODELS);
    restored.restoreState(asColumns);
    expect(restored.exportState()).toEqual(asObjects);
    const rows = exportCoreState(recovered.core);
    const columns = exportCoreState(recovered.core, { clientOrderIdColumns: true });
    expect(rows.sequencer.clientOrderIds.length).toBeGreaterThan(100);
    expect(exportCoreState(ExchangeCore.fromState(marketSet, limits, columns))).toEqual(rows);
  });

  it('at any point: each snapshot with an empty tail and with a longer one', () => {
    for (const seq of seqs) {
      for (const toSeq of [seq, seq + 1_234]) {
        const full = recover(dataDir, { useSnapshots: false, toSeq });
        const fromSnapshot = recover(dataDir, { toSeq });
        expect(fromSnapshot.recovery.snapshot?.seq).toBe(seq);
        expect(fromSnapshot.recovery.walRecords).toBe(toSeq - seq);
        expect(fromSnapshot.digest).toBe(full.digest);
        expect(fromSnapshot.core).toEqual(full.core);
        expect(fromSnapshot.readModels).toEqual(full.readModels);
      }
    }
  });

  it("continues the WAL where the snapshot stands: the writer's position is the log's end", () => {
    const copy = tempDir();
    try {
      fs.cpSync(dataDir, copy, { recursive: true });
      const recovered = recover(copy, { mode: 'recover' });
      const wal = recovered.recovery.walRecovery!;
      const plain = recoverWal(copy);
      expect(wal.lastSeq).toBe(plain.lastSeq);
      expect(wal.lastCrc).toBe(plain.lastCrc);
      expect(wal.lastTimestampMs).toBe(plain.lastTimestampMs);
      expect(wal.appendSegment).toEqual(plain.appendSegment);
      // Only the segment holding the snapshot's seq + 1 and the later ones were read, and that one
      // from right after the snapshot's record (its position is in the snapshot).
      expect(wal.skippedSegments.length + wal.segments.length).toBe(plain.segments.length);
      expect(wal.skippedSegments.length).toBeGreaterThan(0);
      expect(wal.skippedRecords).toBe(0);
    } finally {
      removeDir(copy);
    }
  });

  it('restores read models under smaller limits exactly as the stream would have trimmed them', () => {
    const smaller = { closedOrdersMax: 300, fillsMax: 100, fundingResultsMax: 20, tradesMax: 10 };
    const viaSnapshot = new ReadModels(marketSet, smaller);
    viaSnapshot.restoreState(recover(dataDir).readModels);
    expect(viaSnapshot.closedOrderCount).toBe(300);
    const full = recover(dataDir, { useSnapshots: false });
    const small = new ReadModels(marketSet, smaller);
    small.restoreState(full.readModels);
    expect(viaSnapshot.exportState()).toEqual(small.exportState());
    expect(READ_MODELS.closedOrdersMax).toBeGreaterThan(300);
  });

  it('says which snapshot it used', () => {
    const log = recordingLog();
    recover(dataDir, { log });
    const used = log.lines.find((line) => line.level === 'info' && line.message.includes('recovered from'));
    expect(used?.message).toContain('00000000000000012345.snap');
  });

  it("starts right after the snapshot's record, and walks its segment when that position is wrong", () => {
    const snapshot = readSnapshotFile(path.join(dataDir, 'snapshots', '00000000000000012345.snap')).body.meta;
    const position = snapshot.walPosition!;
    const point = { seq: snapshot.seq, chainCrc: snapshot.walChainCrc, lastTimestampMs: snapshot.lastTimestampMs };
    const seeked = scanWal(dataDir, { afterSnapshot: { ...point, position } });
    const walked = scanWal(dataDir, { afterSnapshot: point });
    expect(seeked.skippedRecords).toBe(0);
    expect(walked.skippedRecords).toBeGreaterThan(0);
    for (const wrong of [
      { ...position, recordOffset: position.recordOffset + 1 },
      { ...position, nextOffset: position.nextOffset + 50 },
      { ...position, segment: seeked.skippedSegments[0]!.name },
    ]) {
      const fallback = scanWal(dataDir, { afterSnapshot: { ...point, position: wrong } });
      expect(fallback.skippedRecords).toBe(walked.skippedRecords);
      expect(fallback.snapshotMismatch).toBeNull();
    }
    for (const scan of [seeked, walked]) {
      expect(scan.snapshotMismatch).toBeNull();
      expect(scan.records).toBe(lastSeq - 12_345);
      expect(scan.lastCrc).toBe(recoverWal(dataDir).lastCrc);
    }
    // A position that points at the right place but a chain crc that is not the log's: a mismatch.
    const forged = scanWal(dataDir, { afterSnapshot: { ...point, chainCrc: (point.chainCrc + 1) >>> 0, position } });
    expect(forged.snapshotMismatch).not.toBeNull();
  });

  it('the scan after a snapshot verifies the chain right up to it', () => {
    const scan = scanWal(dataDir, { afterSnapshot: { seq: 12_345, chainCrc: 12345, lastTimestampMs: 0 } });
    expect(scan.snapshotMismatch).toMatch(/record 12345 has crc \d+, the snapshot's chain crc is 12345/);
    expect(scan.records).toBe(0);
    expect(scan.fault).toBeNull();
    const beyond = scanWal(dataDir, { afterSnapshot: { seq: lastSeq + 5, chainCrc: 0, lastTimestampMs: 0 } });
    expect(beyond.snapshotMismatch).toMatch(/ends at seq/);
    const inLog = path.join(dataDir, 'wal');
    expect(fs.readdirSync(inLog).length).toBeGreaterThan(3);
  });
});
