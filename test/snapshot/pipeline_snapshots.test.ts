/**
 * The threaded pipeline with snapshots on: the background worker follows the durable WAL and writes
 * snapshots while commands flow; a restart recovers from the newest one plus the tail, to the same
 * digest and the same gateway read models (GET /orders/{id} for open and retained closed orders,
 * clientOrderId retries), and a snapshot worker that cannot write never stops trading.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowGenerator } from '../../bench/flows.ts';
import { replay } from '../../src/cli/replay.ts';
import type { Command } from '../../src/domain/commands.ts';
import { CommandType, copyCommand, createCommand } from '../../src/domain/commands.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import type { SubmitResult } from '../../src/pipeline/pipeline_handle.ts';
import { ThreadedPipeline } from '../../src/pipeline/threaded_pipeline.ts';
import { DEFAULT_THREAD_LAYOUT, parseThreadLayout } from '../../src/pipeline/thread_layout.ts';
import type { SnapshotPolicy } from '../../src/snapshot/snapshot_policy.ts';
import { walConfig } from '../../src/wal/wal_config.ts';
import type { RecordingLog } from './support.ts';
import { READ_MODELS, TEST_FLOW, marketSet, recordingLog, removeDir, snapshotFiles, tempDir } from './support.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

const POLICY: SnapshotPolicy = { everyRecords: 1_500, everyMs: 0, keep: 2, walRetention: 'keep' };

function startable(dataDir: string, log: RecordingLog, policy: SnapshotPolicy = POLICY): { pipeline: ThreadedPipeline; readModels: ReadModels } {
  const readModels = new ReadModels(marketSet, READ_MODELS);
  const pipeline = new ThreadedPipeline({
    marketSet,
    limits: { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 100_000 },
    wal: walConfig(dataDir, { segmentBytesMax: 4 * 1024 * 1024, batchBytesMax: 256 * 1024 }),
    walPolicy: { batchRecords: 1024, batchDelayMs: 0 },
    ringCapacity: 1024,
    layout: parseThreadLayout(DEFAULT_THREAD_LAYOUT),
    repair: false,
    sink: readModels,
    log,
    onFatal: (error) => {
      throw error;
    },
    snapshots: { policy, readModels },
  });
  return { pipeline, readModels };
}

async function submitRetrying(pipeline: ThreadedPipeline, command: Command): Promise<SubmitResult> {
  for (;;) {
    const result = await pipeline.submit(command);
    if (result.status !== 'overloaded') return result;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A seeded flow, `window` commands in flight at a time. */
async function drive(pipeline: ThreadedPipeline, generator: FlowGenerator, commands: number, window = 256): Promise<void> {
  let inFlight: Promise<void>[] = [];
  for (let i = 0; i < commands; i++) {
    const command = copyCommand(generator.next(createCommand()), createCommand());
    inFlight.push(
      submitRetrying(pipeline, command).then((result) => {
        if (result.status === 'accepted') {
          command.seq = result.seq;
          generator.accepted(command);
        }
      }),
    );
    if (inFlight.length >= window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}

/** The nice value of every thread of this process (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  const values: number[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    values.push(Number(fields[16]));
  }
  return values;
}

async function waitFor(condition: () => boolean, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the threaded pipeline with snapshots', () => {
  it('writes snapshots in the background and restarts from them to the same state and the same answers', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const log = recordingLog();
    const first = startable(dataDir, log);
    const started = await first.pipeline.start();
    expect(started.snapshot).toBeNull();
    const generator = new FlowGenerator(marketSet, { ...TEST_FLOW, seed: 77, depositShare: 0.02, withdrawShare: 0.01, cancelShare: 0.3, marketShare: 0.05 });
    await drive(first.pipeline, generator, 4_000);
    await waitFor(() => first.pipeline.snapshotStatus().written >= 1, 'a first snapshot');
    if (process.platform === 'linux') {
      // The snapshot worker yields the CPU to trading: its thread (only it) runs at a higher nice value.
      const following = log.lines.find((line) => line.message === 'snapshot: worker following the WAL');
      expect(following?.fields).toMatchObject({ nice: 5 });
      expect(threadNiceValues().filter((nice) => nice !== 0)).toEqual([5]);
    }
    await drive(first.pipeline, generator, 4_000);
    await waitFor(
      () => first.pipeline.snapshotStatus().written >= 2,
      () => `two snapshots: ${JSON.stringify(first.pipeline.snapshotStatus())}, last seq ${first.pipeline.lastSeq}, ${JSON.stringify(log.lines.filter((line) => line.level !== 'info'))}`,
    );
    const before = await first.pipeline.stop();
    const answersBefore = first.readModels.exportState();
    expect(first.pipeline.snapshotStatus().state).toBe('stopped');
    expect(log.lines.filter((line) => line.message.startsWith('snapshot: written')).length).toBeGreaterThanOrEqual(2);
    expect(snapshotFiles(dataDir).length).toBe(2);

    const second = startable(dataDir, recordingLog());
    const recovered = await second.pipeline.start();
    expect(recovered.snapshot).not.toBeNull();
    expect(recovered.records).toBe(before.lastSeq - recovered.snapshot!.seq);
    // The gateway's models, rebuilt from the snapshot and the tail, answer exactly as before.
    expect(second.readModels.exportState()).toEqual(answersBefore);
    const retried = answersBefore.orders.filter((order) => order.clientOrderId !== '').at(-1)!;
    expect(second.readModels.order(retried.orderId)).toEqual(retried);
    expect(second.readModels.orderByClientOrderId(retried.accountId, retried.clientOrderId)?.orderId).toBe(retried.orderId);
    const closed = answersBefore.orders.find((order) => order.closedSeq !== 0)!;
    expect(second.readModels.order(closed.orderId)).toEqual(closed);
    // A clientOrderId retry is recognised by the restored sequencer: a duplicate, naming the order.
    const retry = createCommand();
    retry.type = CommandType.Place;
    retry.accountId = retried.accountId;
    retry.marketId = retried.marketId;
    retry.side = retried.side;
    retry.orderType = retried.orderType;
    retry.timeInForce = retried.timeInForce;
    retry.priceTicks = retried.priceTicks;
    retry.qtySteps = retried.qtySteps;
    retry.quoteQtyUnits = retried.quoteQtyUnits;
    retry.clientOrderId = retried.clientOrderId;
    expect(await second.pipeline.submit(retry)).toEqual({
      status: 'rejected',
      code: RejectCode.DuplicateClientOrderId,
      duplicateOrderId: retried.orderId,
    });
    await drive(second.pipeline, generator, 500);
    const after = await second.pipeline.stop();
    const options = { dataDir, verifyOnly: false, json: false, marketSet };
    expect(replay(options).digest).toBe(after.digest);
    expect(replay({ ...options, full: true }).digest).toBe(after.digest);
  });

  it('keeps trading when the snapshot worker cannot write, and says so loudly', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const log = recordingLog();
    const { pipeline } = startable(dataDir, log, { ...POLICY, everyRecords: 500 });
    await pipeline.start();
    await waitFor(() => pipeline.snapshotStatus().state === 'running', 'the snapshot worker');
    // Where the snapshots would go is taken by a file: every write fails.
    fs.writeFileSync(path.join(dataDir, 'snapshots'), 'not a directory');
    const generator = new FlowGenerator(marketSet, { ...TEST_FLOW, seed: 78, depositShare: 0.02, withdrawShare: 0.01, cancelShare: 0.3, marketShare: 0.05 });
    await drive(pipeline, generator, 2_000);
    await waitFor(() => pipeline.snapshotStatus().writeFailures >= 1, 'a failed snapshot write');
    await drive(pipeline, generator, 500);
    expect(pipeline.phase).toBe('running');
    const stopped = await pipeline.stop();
    expect(log.lines.some((line) => line.level === 'error' && line.message.includes('WRITING FAILED'))).toBe(true);
    fs.rmSync(path.join(dataDir, 'snapshots'));
    expect(replay({ dataDir, verifyOnly: false, json: false, marketSet }).digest).toBe(stopped.digest);
  });
});
