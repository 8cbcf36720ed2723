/**
 * The user's side of snapshots: the server options (flags and environment), and the replay command,
 * which uses the newest snapshot by default, ignores them with --full, and gives the same digest.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/cli/config.ts';
import { replay } from '../../src/cli/replay.ts';
import { SNAPSHOT_POLICY_DEFAULT } from '../../src/snapshot/snapshot_policy.ts';
import { marketSet, removeDir, takeSnapshotsAt, tempDir, writeLog } from './support.ts';

describe('snapshot options', () => {
  it('default to a snapshot every 200,000 records or 10 minutes, 2 kept, the WAL kept whole', () => {
    expect(parseConfig([], {}).snapshots).toEqual(SNAPSHOT_POLICY_DEFAULT);
    expect(SNAPSHOT_POLICY_DEFAULT).toEqual({ everyRecords: 200_000, everyMs: 600_000, keep: 2, walRetention: 'keep' });
  });

  it('are read from flags and the environment, the flag winning', () => {
    const config = parseConfig(['--snapshot-every-records', '5000', '--snapshot-keep=3', '--wal-retention', 'archive'], {
      SNAPSHOT_EVERY_MINUTES: '0',
      SNAPSHOT_EVERY_RECORDS: '9',
      WAL_RETENTION: 'delete',
    });
    expect(config.snapshots).toEqual({ everyRecords: 5_000, everyMs: 0, keep: 3, walRetention: 'archive' });
  });

  it('are validated, every problem named', () => {
    try {
      parseConfig(['--snapshot-every-records=-1', '--snapshot-keep=0', '--wal-retention=shred', '--snapshot-every-minutes=99999999'], {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/--snapshot-every-records \(SNAPSHOT_EVERY_RECORDS\)/);
      expect(problems).toMatch(/--snapshot-keep \(SNAPSHOT_KEEP\) must be an integer from 1 to 100/);
      expect(problems).toMatch(/--wal-retention \(WAL_RETENTION\) must be one of keep, archive, delete/);
      expect(problems).toMatch(/--snapshot-every-minutes \(SNAPSHOT_EVERY_MINUTES\)/);
    }
  });
});

describe('the replay command', () => {
  let dataDir = '';
  beforeAll(() => {
    dataDir = tempDir();
    writeLog(dataDir, 8_000, 21);
    takeSnapshotsAt(dataDir, [5_000]);
  });
  afterAll(() => removeDir(dataDir));

  it('uses the newest snapshot by default and gives the digest of --full', () => {
    const options = { dataDir, verifyOnly: false, json: false, marketSet };
    const fromSnapshot = replay(options);
    const full = replay({ ...options, full: true });
    expect(fromSnapshot.snapshot?.seq).toBe(5_000);
    expect(fromSnapshot.records).toBe(3_000);
    expect(fromSnapshot.lastSeq).toBe(8_000);
    expect(full.snapshot).toBeNull();
    expect(full.records).toBe(8_000);
    expect(fromSnapshot.digest).toBe(full.digest);
    expect(replay({ ...options, toSeq: 4_999 }).snapshot).toBeNull();
  });

  it('prints which snapshot it used, or none with --full', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/replay.ts', '--data', dataDir, ...args], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        encoding: 'utf8',
      });
    const text = run([]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/snapshot\s+\S*00000000000000005000\.snap \(seq 5000/);
    const full = run(['--full', '--json']);
    expect(full.status).toBe(0);
    const json = JSON.parse(full.stdout.trim()) as { snapshot: unknown; digest: string };
    expect(json.snapshot).toBeNull();
    expect(text.stdout).toContain(json.digest);
  });
});
