/**
 * Power loss right after a restart. A crash between a batch's write and its fdatasync leaves
 * records in the page cache that no client was told about. The restart replays them: from then on
 * clients can see them (a GET, a clientOrderId retry answered 200 with that orderId). If the power
 * then fails before anything forces them to disk, they vanish, and a client that was told "order X
 * exists" sees X gone and its retry placed again as a new order.
 *
 * So everything a restarted server serves must be durable before it serves it: the WAL writer,
 * which opens the log's last segment before the server listens, makes it durable first. A kill -9
 * cannot show this (the page cache survives a process crash); a file layer that forgets what was
 * never fdatasynced, as a power cut does, can.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileLayer } from '../../src/wal/file_layer.ts';
import { nodeFileLayer } from '../../src/wal/file_layer.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import { WalWriteError, WalWriter } from '../../src/wal/wal_writer.ts';
import { crashRunDirectory } from './support/server_process.ts';
import { sampleCommand } from '../wal/wal_test_helpers.ts';

/** node:fs, remembering per file how much an fdatasync covered; `powerLoss` forgets the rest. */
class PowerCutFiles {
  private readonly synced = new Map<string, number>();
  private readonly paths = new Map<number, string>();
  /** When set, fdatasync fails without syncing: the process dies between write and fsync. */
  failFsync = false;
  readonly layer: FileLayer;

  constructor() {
    const base = nodeFileLayer;
    this.layer = {
      ...base,
      open: (file, flags) => {
        const fd = base.open(file, flags);
        this.paths.set(fd, file);
        if (!this.synced.has(file)) this.synced.set(file, flags === 'w' || flags === 'wx' ? 0 : (base.stat(file)?.size ?? 0));
        return fd;
      },
      fdatasync: (fd) => {
        if (this.failFsync) throw Object.assign(new Error('EIO: simulated crash before fdatasync'), { code: 'EIO' });
        base.fdatasync(fd);
        const file = this.paths.get(fd)!;
        this.synced.set(file, base.stat(file)!.size);
      },
      truncate: (fd, length) => {
        base.truncate(fd, length);
        const file = this.paths.get(fd)!;
        this.synced.set(file, Math.min(this.synced.get(file) ?? 0, length));
      },
      rename: (from, to) => {
        base.rename(from, to);
        this.synced.set(to, this.synced.get(from) ?? 0);
        this.synced.delete(from);
        for (const [fd, file] of this.paths) if (file === from) this.paths.set(fd, to);
      },
      close: (fd) => {
        this.paths.delete(fd);
        base.close(fd);
      },
    };
  }

  /** The power fails: every file loses what no fdatasync covered. */
  powerLoss(): void {
    for (const [file, length] of this.synced) {
      if (fs.existsSync(file) && fs.statSync(file).size > length) fs.truncateSync(file, length);
    }
  }
}

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) dir.remove();
});

describe('power loss after a restart', () => {
  it('keeps every record the restarted server replays (and may show to clients) through a power cut', () => {
    const run = crashRunDirectory('power-loss');
    dirs.push(run);
    const files = new PowerCutFiles();
    const config = walConfig(run.dataDir);

    // Seqs 1..3 acknowledged (durable); 4..6 written, then the process dies before the fdatasync.
    const first = new WalWriter(config, recoverWal(run.dataDir, { fileLayer: files.layer }), files.layer);
    for (let seq = 1; seq <= 3; seq++) first.append(sampleCommand(seq));
    first.flush();
    for (let seq = 4; seq <= 6; seq++) first.append(sampleCommand(seq));
    files.failFsync = true;
    expect(() => first.flush()).toThrow(WalWriteError);
    files.failFsync = false;

    // The restart: recovery replays 1..6 into the read models, the writer opens the last segment,
    // and the server starts answering (a retry of seq 5's clientOrderId: 200, order 5).
    const replayed: number[] = [];
    const recovery = recoverWal(run.dataDir, { fileLayer: files.layer, onRecord: (command) => replayed.push(command.seq) });
    expect(replayed).toEqual([1, 2, 3, 4, 5, 6]);
    const second = new WalWriter(config, recovery, files.layer);

    // The power fails before the restarted server flushed anything of its own.
    files.powerLoss();
    second.close();
    const afterPowerLoss: number[] = [];
    recoverWal(run.dataDir, { onRecord: (command) => afterPowerLoss.push(command.seq) });
    expect(afterPowerLoss, `the log in ${path.join(run.walDir)} after the power cut`).toEqual(replayed);
  });
});
