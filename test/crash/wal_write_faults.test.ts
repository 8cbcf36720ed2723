/**
 * Write faults and a full disk (issue 7, parts 2 and 3). The WAL writer's file layer fails on
 * purpose (EXCHANGE_TEST_WAL_FAULT, src/wal/fault_injection.ts: fsync EIO, write EIO, ENOSPC with
 * a short write) or the kernel refuses to grow the file (`ulimit -f`: a short write, then EFBIG).
 * Each time the server must stop acknowledging at once and exit non-zero, and no acknowledged seq
 * may come from the failing batch or after it. The faults come one after another on the same data
 * directory: every restart recovers what the previous fault left (a dropped batch, a torn tail),
 * loses nothing acknowledged, retries the requests that were in flight, and then meets the next
 * fault. At the end, without a fault, a full check and a graceful stop whose digest is the replay
 * digest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { Prng } from '../matching/support/prng.ts';
import { CrashHarness, crashCycles, crashSeed } from './support/harness.ts';
import type { StopFlag } from './support/load.ts';
import type { ServerOptions } from './support/server_process.ts';
import { killAllServers } from './support/server_process.ts';
import { lastSegmentLayout } from './support/wal_files.ts';

const SEED = crashSeed();
/** The long run repeats the chain at other fault points; CI runs it once. */
const REPEATS = Math.max(1, Math.floor(crashCycles(5) / 25));
const ACCOUNTS = 16;
/** Funding takes at most one batch (one write, one fdatasync) per deposit, plus the segment's own. */
const FUNDING_OPS_MAX = ACCOUNTS * 3 + 4;
/** A restart with a fault armed first retries what was in flight: at most this many batches. */
const RESTART_OPS_MAX = 40;
const FAULT_WAIT_MS = 90_000;

afterEach(killAllServers);
afterAll(killAllServers);

interface Fault {
  name: string;
  /** The fault for one server start, given how far the log already is. */
  arm: (prng: Prng, first: boolean, segmentBytes: number) => Partial<ServerOptions>;
  /** The failed batch never reaches the file (EIO drops it); a full disk may leave part of it. */
  batchDropped: boolean;
}

const opsBefore = (first: boolean): number => (first ? FUNDING_OPS_MAX : RESTART_OPS_MAX);

const FAULTS: Fault[] = [
  {
    name: 'fsync fails (EIO)',
    arm: (prng, first) => ({ env: { EXCHANGE_TEST_WAL_FAULT: `fsync:after=${opsBefore(first) + prng.int(10, 100)}` } }),
    batchDropped: true,
  },
  {
    name: 'write fails (EIO)',
    arm: (prng, first) => ({ env: { EXCHANGE_TEST_WAL_FAULT: `write:after=${opsBefore(first) + prng.int(10, 100)}` } }),
    batchDropped: true,
  },
  {
    name: 'disk full (injected ENOSPC, short write first)',
    arm: (prng, first) => ({ env: { EXCHANGE_TEST_WAL_FAULT: `enospc:after=${opsBefore(first) * 200 + prng.int(1_000, 20_000)}` } }),
    batchDropped: false,
  },
  {
    name: 'file size limit (ulimit -f: short write, then EFBIG)',
    arm: (prng, first, segmentBytes) => ({ fileSizeLimitBlocks: Math.ceil((segmentBytes + opsBefore(first) * 200) / 1024) + prng.int(1, 20) }),
    batchDropped: false,
  },
];

describe('WAL write faults', () => {
  it(
    `${FAULTS.map((fault) => fault.name).join(', ')}: each stops acknowledging, exits non-zero, loses nothing acknowledged (seed ${SEED})`,
    async () => {
      for (let repeat = 0; repeat < REPEATS; repeat++) await runFaultChain((SEED + repeat * 1_000) >>> 0);
    },
    REPEATS * 240_000,
  );
});

function segmentBytes(walDir: string): number {
  return fs.existsSync(walDir) ? (lastSegmentLayout(walDir)?.size ?? 0) : 0;
}

async function runFaultChain(seed: number): Promise<void> {
  const harness = new CrashHarness({ name: 'faults', seed, accounts: ACCOUNTS, clients: 12 });
  let passed = false;
  onTestFailed(() => console.error(`faults seed ${seed}: ${JSON.stringify(harness.model.violations.slice(0, 20), null, 1)}`));
  try {
    const prng = new Prng(seed);
    let armed = FAULTS[0]!.arm(prng, true, 0);
    let server = await harness.start(armed);
    await harness.fund();
    expect(harness.model.stats.fundingAcked, 'funding completes before the fault').toBe(ACCOUNTS * 3);
    for (const [index, fault] of FAULTS.entries()) {
      const current = armed;
      if (armed.env !== undefined) expect(server.logText()).toContain('TEST-ONLY WAL FAULT INJECTION ACTIVE');
      harness.model.beginCycle();
      const ordersBefore = [...harness.model.orders.values()].filter((order) => order.told).length;

      // Load until the fault takes the server down.
      const stop: StopFlag = { stopped: false };
      const load = harness.load(stop, index + 1);
      const exit = await server.waitClosed(FAULT_WAIT_MS);
      stop.stopped = true;
      await load;
      harness.client().close();
      const log = server.logText();
      expect(exit.code, `${fault.name}: exit ${JSON.stringify(exit)}:\n${server.logTail()}`).not.toBe(0);
      expect(exit.code).not.toBeNull();
      const failing = /flush of seq (\d+)\.\.(\d+)/.exec(log);
      expect(failing, `${fault.name}: the fatal error names the failed batch:\n${server.logTail()}`).not.toBeNull();
      const failedFirstSeq = Number(failing![1]);
      // Nothing from the failing batch or after it was acknowledged.
      const maxAckedSeq = harness.model.maxAckedSeq;
      expect(maxAckedSeq).toBeLessThan(failedFirstSeq);
      const ordersAcked = [...harness.model.orders.values()].filter((order) => order.told).length - ordersBefore;
      expect(ordersAcked, `${fault.name}: orders were acknowledged before the fault`).toBeGreaterThan(0);

      // Nothing acknowledged is missing from the log, nothing in it was invented.
      const inFlight = harness.model.cycle.inFlight.length;
      const wal = harness.checkWal();
      expect(harness.model.violations).toEqual([]);
      expect(wal.lastSeq).toBeGreaterThanOrEqual(maxAckedSeq);
      if (fault.batchDropped) expect(wal.lastSeq).toBe(failedFirstSeq - 1);
      const tornBytes = wal.tornTail?.bytes ?? 0;

      // Restart with the next fault armed (or none): everything acknowledged is there, the
      // in-flight clientOrderIds are retried, the torn tail is cut and kept aside.
      const next = FAULTS[index + 1];
      armed = next === undefined ? {} : next.arm(prng, false, segmentBytes(harness.run.walDir));
      server = await harness.start(armed);
      if (tornBytes > 0) {
        expect(server.logText()).toContain('torn tail truncated');
        const sides = fs.readdirSync(harness.run.walDir).filter((name) => name.includes('.torn-'));
        expect(sides.map((name) => fs.statSync(path.join(harness.run.walDir, name)).size)).toContain(tornBytes);
      }
      const verify = await harness.verify(wal, false, index + 1);
      expect(harness.model.violations).toEqual([]);
      console.log(
        `fault "${fault.name}" ${JSON.stringify({
          seed, armed: current.env ?? { fileSizeLimitBlocks: current.fileSizeLimitBlocks }, exitCode: exit.code, failedBatchFirstSeq: failedFirstSeq, maxAckedSeq,
          ordersAckedBeforeFault: ordersAcked, inFlightAtFault: inFlight, inFlightApplied: wal.inFlightApplied, walLastSeqAfterFault: wal.lastSeq,
          tornBytes, ordersChecked: verify.ordersChecked, inFlightRetried: verify.inFlightRetried,
        })}`,
      );
    }
    harness.model.beginCycle();
    const { digest, replayDigest } = await harness.finish(FAULTS.length + 1);
    expect(harness.model.violations).toEqual([]);
    expect(replayDigest).toBe(digest);
    console.log(`faults summary: ${JSON.stringify({ faults: FAULTS.length, ...harness.summary(), digest })}`);
    passed = true;
  } finally {
    await harness.close(passed);
  }
}
