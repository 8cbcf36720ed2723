import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowGenerator } from '../../bench/flows.ts';
import { CommandType, OrderType, Side, TimeInForce, copyCommand, createCommand } from '../../src/domain/commands.ts';
import type { Command } from '../../src/domain/commands.ts';
import { defaultMarketSet } from '../../src/domain/markets.ts';
import { SubmitStatus } from '../../src/pipeline/pipeline_handle.ts';
import type { SubmitCallback, SubmitResult } from '../../src/pipeline/pipeline_handle.ts';
import { RejectCode } from '../../src/domain/reject_codes.ts';
import type { ThreadedPipeline } from '../../src/pipeline/threaded_pipeline.ts';
import { createPipeline, removeDir, replayDigest, tempDataDir } from '../support/pipeline_harness.ts';
import { ExchangeCore } from '../../src/core/exchange_core.ts';
import { DEFAULT_CORE_LIMITS } from '../../src/domain/limits.ts';
import { ReadModels } from '../../src/gateway/read_models.ts';
import type { ReadModelsState } from '../../src/gateway/read_models.ts';
import { recoverWal } from '../../src/wal/recovery.ts';
import { segmentFileName, walDirectory } from '../../src/wal/segment_file.ts';

/**
 * The read models single-thread replay of a data directory builds (what recovery feeds them): the
 * pipeline's models, fed from ring T→G, must hold exactly the same.
 */
function replayReadModels(dataDir: string): ReadModelsState {
  const readModels = new ReadModels(defaultMarketSet());
  const core = new ExchangeCore(defaultMarketSet(), { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 100_000 }, readModels);
  recoverWal(dataDir, { onRecord: (command) => core.replay(command) });
  return readModels.exportState();
}

/** This process's OS threads (Linux). */
function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

/** Submits, retrying while the inbound ring is full (what an HTTP client does on 503). */
async function submitRetrying(pipeline: ThreadedPipeline, command: Command): Promise<SubmitResult> {
  for (;;) {
    const result = await pipeline.submit(command);
    if (result.status !== 'overloaded') return result;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Drives a seeded flow with up to `window` commands in flight; returns counts by outcome. */
async function driveFlow(pipeline: ThreadedPipeline, seed: number, commands: number, window: number) {
  const generator = new FlowGenerator(defaultMarketSet(), {
    seed,
    accounts: 40,
    depositShare: 0.02,
    withdrawShare: 0.01,
    cancelShare: 0.3,
    marketShare: 0.05,
    bookTarget: 400,
    fundingScale: 0.01,
  });
  const counts = { accepted: 0, rejected: 0 };
  const seqs: number[] = [];
  let inFlight: Promise<void>[] = [];
  for (let i = 0; i < commands; i++) {
    const command = copyCommand(generator.next(createCommand()), createCommand());
    inFlight.push(
      submitRetrying(pipeline, command).then((result) => {
        if (result.status === 'accepted') {
          counts.accepted += 1;
          seqs.push(result.seq);
          command.seq = result.seq;
          generator.accepted(command);
        } else if (result.status === 'rejected') counts.rejected += 1;
        else throw new Error(`unexpected ${result.status}`);
      }),
    );
    if (inFlight.length >= window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  return { counts, seqs };
}

const FLOW_AFTER_FUNDING = {
  accounts: 40,
  depositShare: 0.02,
  withdrawShare: 0.01,
  cancelShare: 0.3,
  marketShare: 0.05,
  bookTarget: 400,
  fundingScale: 0.01,
};

describe('threaded pipeline', () => {
  it('gives exactly the digest that single-thread replay of its WAL gives', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { pipeline, readModels } = createPipeline({ dataDir });
    await pipeline.start();
    const { counts, seqs } = await driveFlow(pipeline, 42, 20_000, 512);
    expect(counts.accepted).toBeGreaterThan(10_000);
    // Gap-free: every seq from 1 to the last was acknowledged exactly once.
    seqs.sort((a, b) => a - b);
    expect(seqs[0]).toBe(1);
    expect(seqs[seqs.length - 1]).toBe(seqs.length);
    expect(pipeline.durableSeq).toBe(seqs.length);
    expect(readModels.lastSeq).toBe(seqs.length);
    const stopped = await pipeline.stop();
    expect(stopped.lastSeq).toBe(seqs.length);
    const { durableSeq: _durable, ...summary } = stopped;
    expect(summary).toEqual(replayDigest(dataDir));
    // The read models too: every order, fill, balance, book level and trade, as replay builds them.
    expect(readModels.exportState()).toEqual(replayReadModels(dataDir));
  });

  it.each([
    ['the default layout: one core thread and the WAL thread', 'sequencer+matching+settlement,wal'],
    ['the sequencer, the WAL writer, matching with settlement', 'sequencer,wal,matching+settlement'],
    ['every stage on its own thread', 'sequencer,wal,matching,settlement'],
  ])('never drops or reorders with tiny rings (backpressure everywhere): %s', async (_name, layout) => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { pipeline, readModels } = createPipeline({ dataDir, ringCapacity: 4, layout, batchRecords: 3 });
    await pipeline.start();
    const { counts } = await driveFlow(pipeline, 7, 3_000, 64);
    expect(counts.accepted).toBeGreaterThan(1_000);
    const { durableSeq: _durable, ...summary } = await pipeline.stop();
    expect(summary).toEqual(replayDigest(dataDir));
    expect(readModels.exportState()).toEqual(replayReadModels(dataDir));
  });

  it('refuses to start on a corrupt WAL and leaves no thread behind', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    mkdirSync(walDirectory(dataDir), { recursive: true });
    writeFileSync(path.join(walDirectory(dataDir), segmentFileName(1)), Buffer.alloc(4096, 0x5a));
    const linux = existsSync('/proc/self/task');
    const threadsBefore = linux ? threadCount() : 0;
    const { pipeline } = createPipeline({ dataDir });
    await expect(pipeline.start()).rejects.toThrow(/magic|corrupt|segment/i);
    if (linux) {
      // Any worker thread it started must be gone (terminated threads leave within moments).
      for (let waited = 0; waited < 5_000 && threadCount() > threadsBefore; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(threadCount()).toBeLessThanOrEqual(threadsBefore);
    }
  });

  it('refuses a WAL configuration the writer could not run with when constructed, before recovery or any thread', () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    // A batch buffer larger than a segment: a batch would have to span two segment files.
    expect(() => createPipeline({ dataDir, wal: { segmentBytesMax: 4 * 1024 * 1024, batchBytesMax: 8 * 1024 * 1024 } })).toThrow(
      /invalid WAL configuration: WAL batchBytesMax plus the segment header must fit in segmentBytesMax/,
    );
  });

  it('restarts from its own WAL with the same state, and keeps sequencing after it', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const first = createPipeline({ dataDir });
    await first.pipeline.start();
    await driveFlow(first.pipeline, 3, 2_000, 128);
    const { durableSeq: _d1, ...before } = await first.pipeline.stop();
    const second = createPipeline({ dataDir });
    const recovered = await second.pipeline.start();
    expect(recovered.lastSeq).toBe(before.lastSeq);
    expect(second.readModels.lastSeq).toBe(before.lastSeq);
    const deposit = createCommand();
    deposit.type = CommandType.Deposit;
    deposit.accountId = 9_999;
    deposit.assetId = 0;
    deposit.amountUnits = 5;
    expect(await second.pipeline.submit(deposit)).toEqual({ status: 'accepted', seq: before.lastSeq + 1 });
    const { durableSeq: _d2, ...after } = await second.pipeline.stop();
    expect(after).toEqual(replayDigest(dataDir));
  });

  it('submitWith: results by callback with their tags, read models already up to date; a full ring says overloaded at once', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { pipeline, readModels } = createPipeline({ dataDir, ringCapacity: 4 });
    await pipeline.start();
    const seen: [number, number, number][] = [];
    const onResult: SubmitCallback = (tag, seq, rejectCode) => {
      // The models reflect the command before its callback runs (what the 201 reply is built from).
      if (rejectCode === RejectCode.None) expect(readModels.lastSeq).toBeGreaterThanOrEqual(seq);
      seen.push([tag, seq, rejectCode]);
    };
    const deposit = createCommand();
    deposit.type = CommandType.Deposit;
    deposit.accountId = 7;
    deposit.assetId = 0;
    deposit.amountUnits = 5;
    const statuses: SubmitStatus[] = [];
    // One turn of the event loop: the 4-slot ring G→S fills before anything is published.
    for (let tag = 100; tag < 108; tag++) statuses.push(pipeline.submitWith(deposit, onResult, tag));
    expect(statuses).toEqual([0, 0, 0, 0, 1, 1, 1, 1].map((value) => value as SubmitStatus));
    const withdrawal = copyCommand(deposit, createCommand());
    withdrawal.type = CommandType.Withdraw;
    withdrawal.accountId = 8; // never funded: refused by the pre-check
    while (pipeline.submitWith(withdrawal, onResult, 200) !== SubmitStatus.Submitted) await new Promise((resolve) => setTimeout(resolve, 1));
    while (seen.length < 5) await new Promise((resolve) => setTimeout(resolve, 1));
    // A refusal comes back on S→G, before the accepted commands have been through the WAL.
    expect(seen.filter(([tag]) => tag !== 200)).toEqual([100, 101, 102, 103].map((tag, index) => [tag, index + 1, RejectCode.None]));
    expect(seen.filter(([tag]) => tag === 200)).toEqual([[200, 0, RejectCode.AccountNotFound]]);
    await pipeline.stop();
    expect(pipeline.submitWith(deposit, onResult, 300)).toBe(SubmitStatus.Unavailable);
  });

  it('stops gracefully under load and loses nothing it acknowledged', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { pipeline } = createPipeline({ dataDir });
    await pipeline.start();
    await driveFlow(pipeline, 11, 1_000, 256); // funds the accounts, builds a book
    const generator = new FlowGenerator(defaultMarketSet(), { seed: 12, ...FLOW_AFTER_FUNDING });
    const acknowledged: number[] = [];
    const inFlight: Promise<SubmitResult>[] = [];
    for (let i = 0; i < 5_000; i++) inFlight.push(pipeline.submit(copyCommand(generator.next(createCommand()), createCommand())));
    const stopping = pipeline.stop(); // while thousands of commands are still in the rings
    const late = await pipeline.submit(generator.next(createCommand()));
    expect(late).toEqual({ status: 'unavailable', phase: 'stopping' });
    for (const result of await Promise.all(inFlight)) if (result.status === 'accepted') acknowledged.push(result.seq);
    const { durableSeq, ...summary } = await stopping;
    expect(acknowledged.length).toBeGreaterThan(1_000);
    const replayed = replayDigest(dataDir);
    expect(Math.max(...acknowledged)).toBeLessThanOrEqual(replayed.lastSeq);
    expect(durableSeq).toBe(replayed.lastSeq);
    expect(summary).toEqual(replayed);
  });

  it('cannot deadlock the credit loop: 4-slot rings and one order sweeping 600 makers', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const { pipeline, readModels } = createPipeline({ dataDir, ringCapacity: 4, batchRecords: 2, layout: 'sequencer,wal,matching,settlement' });
    await pipeline.start();
    const market = defaultMarketSet().marketBySymbol.get('ETH-USDT')!;
    const submit = (fill: (command: ReturnType<typeof createCommand>) => void) => {
      const command = createCommand();
      fill(command);
      return submitRetrying(pipeline, command);
    };
    const makers = 600;
    const fundings: Promise<SubmitResult>[] = [];
    for (let account = 1; account <= makers; account++) {
      fundings.push(submit((c) => Object.assign(c, { type: CommandType.Deposit, accountId: account, assetId: market.base.id, amountUnits: 10_000 })));
    }
    fundings.push(submit((c) => Object.assign(c, { type: CommandType.Deposit, accountId: 9_999, assetId: market.quote.id, amountUnits: 10 ** 12 })));
    for (const result of await Promise.all(fundings)) expect(result.status).toBe('accepted');
    const sells: Promise<SubmitResult>[] = [];
    for (let account = 1; account <= makers; account++) {
      sells.push(
        submit((c) =>
          Object.assign(c, {
            type: CommandType.Place, accountId: account, marketId: market.id, side: Side.Sell, orderType: OrderType.Limit,
            timeInForce: TimeInForce.GTC, priceTicks: 300_000 + (account % 7), qtySteps: 1,
          }),
        ),
      );
    }
    for (const result of await Promise.all(sells)) expect(result.status).toBe('accepted');
    const sweep = await submit((c) =>
      Object.assign(c, {
        type: CommandType.Place, accountId: 9_999, marketId: market.id, side: Side.Buy, orderType: OrderType.Limit,
        timeInForce: TimeInForce.IOC, priceTicks: 300_010, qtySteps: makers,
      }),
    );
    expect(sweep.status).toBe('accepted');
    if (sweep.status !== 'accepted') return;
    const order = readModels.order(sweep.seq);
    expect(order?.status).toBe('filled');
    // Every maker got paid, and the credits flowed back: each can withdraw its proceeds at once.
    const withdrawals: Promise<SubmitResult>[] = [];
    for (let account = 1; account <= makers; account++) {
      withdrawals.push(submit((c) => Object.assign(c, { type: CommandType.Withdraw, accountId: account, assetId: market.quote.id, amountUnits: 300_000 })));
    }
    for (const result of await Promise.all(withdrawals)) expect(result.status).toBe('accepted');
    const { durableSeq: _durable, ...summary } = await pipeline.stop();
    expect(summary).toEqual(replayDigest(dataDir));
    // The sweep's 1,202 balances went out in groups (BALANCES_PENDING_MAX), each with its final value.
    expect(readModels.exportState()).toEqual(replayReadModels(dataDir));
  });
});
