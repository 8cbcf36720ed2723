import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFileLayer } from '../../src/wal/file_layer.ts';
import { WAL_FAULT_ENV, faultyFileLayer, parseWalFaultSpec, walFileLayerFromEnv } from '../../src/wal/fault_injection.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import { WalWriteError, WalWriter } from '../../src/wal/wal_writer.ts';
import { makeTempDir, removeDir, sampleCommand } from './wal_test_helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function tempDir(): string {
  const dir = makeTempDir();
  dirs.push(dir);
  return dir;
}

/** Appends and flushes one record per batch until the writer fails; returns the seqs made durable. */
function writeUntilFailure(dir: string, spec: string): { durable: number; error: unknown } {
  const writer = new WalWriter(walConfig(dir), recoverWal(dir), faultyFileLayer(nodeFileLayer, parseWalFaultSpec(spec)));
  for (let seq = 1; seq <= 1_000; seq++) {
    writer.append(sampleCommand(seq));
    try {
      writer.flush();
    } catch (error) {
      writer.close();
      return { durable: writer.durableSeq, error };
    }
  }
  throw new Error(`${spec} never failed`);
}

describe('WAL fault injection (test-only)', () => {
  it('parses the three specs and refuses anything else, so that a typo never disables a fault', () => {
    expect(parseWalFaultSpec('fsync:after=3')).toEqual({ kind: 'fsync', after: 3 });
    expect(parseWalFaultSpec('write:after=0')).toEqual({ kind: 'write', after: 0 });
    expect(parseWalFaultSpec(' enospc:after=4096 ')).toEqual({ kind: 'enospc', after: 4096 });
    for (const bad of ['', 'fsync', 'fsync:after=', 'fsync:after=-1', 'fsync:after=1x', 'read:after=1', 'FSYNC:after=1', 'fsync:after=99999999999999']) {
      expect(() => parseWalFaultSpec(bad), bad).toThrow(WAL_FAULT_ENV);
    }
  });

  it('is plain node:fs unless the environment variable is set, and says so loudly when it is', () => {
    const said: string[] = [];
    const announce = (message: string): void => {
      said.push(message);
    };
    expect(walFileLayerFromEnv({}, announce)).toBe(nodeFileLayer);
    expect(walFileLayerFromEnv({ [WAL_FAULT_ENV]: '' }, announce)).toBe(nodeFileLayer);
    expect(said).toEqual([]);
    expect(walFileLayerFromEnv({ [WAL_FAULT_ENV]: 'fsync:after=1' }, announce)).not.toBe(nodeFileLayer);
    expect(said).toEqual([expect.stringContaining('TEST-ONLY WAL FAULT INJECTION ACTIVE (EXCHANGE_TEST_WAL_FAULT=fsync:after=1)')]);
    expect(() => walFileLayerFromEnv({ [WAL_FAULT_ENV]: 'nonsense' }, announce)).toThrow(WAL_FAULT_ENV);
  });

  it('fsync:after=N fails the fsync after N (directory fsyncs count) and drops what it did not cover', () => {
    const dir = tempDir();
    // Fsyncs: the new wal directory, the segment's header, its directory entry, then one per batch.
    const { durable, error } = writeUntilFailure(dir, 'fsync:after=8');
    expect(error).toBeInstanceOf(WalWriteError);
    expect(String((error as Error).message)).toMatch(/flush of seq 6\.\.6 .*EIO/);
    expect(durable).toBe(5);
    // The failed batch is gone from the file, as dirty pages may be after a failed writeback.
    const recovery = recoverWal(dir);
    expect(recovery.lastSeq).toBe(5);
    expect(recovery.tornTail).toBeNull();
  });

  it('write:after=N fails the write after N with EIO, writing nothing', () => {
    const dir = tempDir();
    // Writes: the segment's header, then one per batch.
    const { durable, error } = writeUntilFailure(dir, 'write:after=4');
    expect(String((error as Error).message)).toMatch(/flush of seq 4\.\.4 .*EIO/);
    expect(durable).toBe(3);
    expect(recoverWal(dir).lastSeq).toBe(3);
  });

  it('enospc:after=N writes N bytes in all: a short write, then ENOSPC, leaving a torn tail', () => {
    const dir = tempDir();
    const { durable, error } = writeUntilFailure(dir, 'enospc:after=200');
    expect(String((error as Error).message)).toMatch(/ENOSPC/);
    const segment = path.join(dir, 'wal', fs.readdirSync(path.join(dir, 'wal'))[0]!);
    expect(fs.statSync(segment).size).toBe(200);
    const recovery = recoverWal(dir);
    expect(recovery.lastSeq).toBe(durable);
    expect(recovery.tornTail?.offset).toBeLessThan(200);
  });
});
