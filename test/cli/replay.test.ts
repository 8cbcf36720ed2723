/**
 * The replay command: a seeded flow applied directly to the core and the same accepted commands
 * written to a WAL and replayed give the same digest; --to-seq, --verify-only, --json; exit codes.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowGenerator } from '../../bench/flows.ts';
import { replay } from '../../src/cli/replay.ts';
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import { stateDigest } from '../../src/core/state_digest.ts';
import { createCommand } from '../../src/domain/commands.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { WalWriter } from '../../src/wal/wal_writer.ts';
import { removeDir, tempDataDir } from '../support/pipeline_harness.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

/** Runs a seeded flow through a core, writing every accepted command to a WAL in `dataDir`. */
function writeFlow(dataDir: string, commands: number, digestAt: number[] = []) {
  const marketSet = defaultMarketSet();
  const core = new ExchangeCore(marketSet, DEFAULT_CORE_LIMITS);
  const generator = new FlowGenerator(marketSet, {
    seed: 99, accounts: 30, depositShare: 0.02, withdrawShare: 0.02, cancelShare: 0.3, marketShare: 0.05, bookTarget: 300, fundingScale: 0.01,
  });
  const writer = new WalWriter(walConfig(dataDir, { segmentBytesMax: 256 * 1024, batchBytesMax: 64 * 1024, batchRecordsMax: 512 }), recoverWal(dataDir));
  const digests = new Map<number, string>();
  const command = createCommand();
  for (let i = 0; i < commands; i++) {
    generator.next(command);
    if (core.submit(command, 1_700_000_000_000 + i) !== RejectCode.None) continue;
    generator.accepted(command);
    writer.append(command);
    if (writer.full) writer.flush();
    if (digestAt.includes(command.seq)) digests.set(command.seq, stateDigest(core).digest);
  }
  writer.close();
  return { direct: stateDigest(core), digests };
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/replay.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('replay command', () => {
  it('gives the digest of applying the same commands directly, across segments, and at any --to-seq', () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { direct, digests } = writeFlow(dataDir, 40_000, [1_000, 12_345]);
    expect(readdirSync(join(dataDir, 'wal')).filter((name) => name.endsWith('.wal')).length).toBeGreaterThan(1);
    const options = { dataDir, verifyOnly: false, json: false, marketSet: defaultMarketSet() };
    const result = replay(options);
    expect(result.digest).toBe(direct.digest);
    expect(result.lastSeq).toBe(direct.lastSeq);
    expect(result.invariantsOk).toBe(true);
    expect(result.records).toBe(direct.lastSeq);
    for (const [seq, digest] of digests) expect(replay({ ...options, toSeq: seq }).digest).toBe(digest);
    const verified = replay({ ...options, verifyOnly: true });
    expect(verified.records).toBe(direct.lastSeq);
    expect(verified.digest).toBeNull();
  });

  it('prints JSON and exits 0, 1 on corruption, 2 on usage errors; a torn tail is reported, not cut', () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { direct } = writeFlow(dataDir, 3_000);
    const ok = runCli(['--data', dataDir, '--json']);
    expect(ok.status).toBe(0);
    const json = JSON.parse(ok.stdout.trim().split('\n').pop()!);
    expect(json).toMatchObject({ lastSeq: direct.lastSeq, records: direct.lastSeq, digest: direct.digest, invariantsOk: true, tornTailBytes: 0 });
    expect(json.recordsPerSec).toBeGreaterThan(0);

    const segment = join(dataDir, 'wal', readdirSync(join(dataDir, 'wal')).filter((name) => name.endsWith('.wal')).sort().pop()!);
    appendFileSync(segment, Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    const torn = runCli(['--data', dataDir, '--json']);
    expect(torn.status).toBe(0);
    expect(JSON.parse(torn.stdout.trim().split('\n').pop()!)).toMatchObject({ tornTailBytes: 7, digest: direct.digest });

    expect(runCli(['--data', dataDir, '--bogus']).status).toBe(2);
    expect(runCli(['--data', dataDir, '--to-seq', 'x']).status).toBe(2);
  });

  it('exits 1 and names file, offset and seq for corruption in the middle of the log', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    writeFlow(dataDir, 2_000);
    const { openSync, writeSync, closeSync, statSync } = await import('node:fs');
    const segment = join(dataDir, 'wal', readdirSync(join(dataDir, 'wal')).filter((name) => name.endsWith('.wal')).sort()[0]!);
    const fd = openSync(segment, 'r+');
    const middle = Math.floor(statSync(segment).size / 2);
    writeSync(fd, Buffer.from([0xff]), 0, 1, middle);
    closeSync(fd);
    const result = runCli(['--data', dataDir]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/WalCorruptionError/);
    expect(result.stderr).toContain(segment.split('/').pop()!);
    expect(result.stderr).toMatch(/offset \d+/);
    expect(result.stderr).toMatch(/seq \d+/);
  });
});
