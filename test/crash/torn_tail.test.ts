/**
 * Torn writes (issue 7, part 4). After a SIGKILL under load the end of the last segment is damaged
 * the way a crash in the middle of a write leaves it — cut at a seeded offset inside the records
 * nobody was told about (when there are any), then followed by nothing, zeros, garbage or a partial
 * record — and the restart must cut the torn tail (keeping the bytes in a side file), lose nothing
 * acknowledged, and go on.
 *
 * Records at or below the latest acknowledged seq (including acknowledged cancels, whose answers
 * carry no seq) are never touched: losing data that fsync reported durable is not a crash a log
 * can survive, it is a broken disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { CommandType } from '../../src/domain/commands.ts';
import { scanWal } from '../../src/wal/wal_reader.ts';
import { Prng } from '../matching/support/prng.ts';
import { CrashHarness, crashCycles, crashSeed } from './support/harness.ts';
import { killAllServers } from './support/server_process.ts';
import { TAIL_KINDS, tearTail } from './support/wal_files.ts';
import type { Tear } from './support/wal_files.ts';

/**
 * A cancel's answer is the order's state and names no seq of its own, so the model's maxAckedSeq
 * does not cover it: the highest seq of a cancel record in the log for an order whose cancel was
 * answered 200 this cycle (acknowledged, so durable, and never to be torn off).
 */
function ackedCancelSeq(dataDir: string, model: CrashHarness['model']): number {
  const acknowledged = new Set(model.cycle.cancels.filter((cancel) => cancel.outcome === 'cancelled').map((cancel) => cancel.op.orderId));
  if (acknowledged.size === 0) return 0;
  let seq = 0;
  scanWal(dataDir, {
    onRecord: (command) => {
      if (command.type === CommandType.Cancel && acknowledged.has(command.orderId)) seq = Math.max(seq, command.seq);
    },
  });
  return seq;
}

const SEED = (crashSeed() + 17) >>> 0;
/** CI: one cycle for each of the first three tails; the long run: CRASH_CYCLES / 2 cycles. */
const CYCLES = Math.max(3, Math.floor(crashCycles(6) / 2));
const CYCLE_BUDGET_MS = 45_000;

afterEach(killAllServers);
afterAll(killAllServers);

describe('torn writes', () => {
  it(
    `cuts a torn tail and loses nothing acknowledged, ${CYCLES} kill + tear cycles (seed ${SEED})`,
    async () => {
      const harness = new CrashHarness({ name: 'torn', seed: SEED, accounts: 32, clients: 16 });
      // Cutting the unacknowledged tail may undo what a live read showed: only strict bounds hold.
      harness.model.boundsFrom = 'strict';
      let passed = false;
      onTestFailed(() => console.error(`torn seed ${SEED}: ${JSON.stringify(harness.model.violations.slice(0, 20), null, 1)}`));
      const tears: (Tear & { tornBytes: number })[] = [];
      try {
        const prng = new Prng(SEED);
        await harness.start();
        await harness.fund();
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
          harness.model.beginCycle();
          const loadMs = await harness.loadAndKill(cycle, prng.int(300, 1_500));
          // Never below what a client was told, or what clients read after the last restart.
          const keepSeq = Math.max(harness.model.maxAckedSeq, harness.walLastSeq, ackedCancelSeq(harness.run.dataDir, harness.model));
          const tail = TAIL_KINDS[(cycle - 1) % TAIL_KINDS.length]!;
          const tear = tearTail(harness.run.walDir, keepSeq, tail, prng);
          expect(tear).not.toBeNull();
          const damaged = fs.readFileSync(tear!.file);
          const report = await harness.recover(cycle, loadMs);
          const tornBytes = report.wal.tornBytes;
          tears.push({ ...tear!, tornBytes });
          console.log(`torn cycle ${cycle}: ${JSON.stringify({ tear, report })}`);
          expect(harness.model.violations, `violations after cycle ${cycle}`).toEqual([]);
          // A tail that ends inside a record is torn; the server cut it and kept the bytes aside.
          expect(tornBytes > 0, `torn tail found: ${JSON.stringify(tear)}`).toBe(tear!.endsInsideRecord);
          if (tornBytes > 0) {
            const offset = damaged.length - tornBytes;
            expect(harness.server!.logText()).toContain('torn tail truncated');
            // Everything before the cut is untouched; the server appends after it.
            expect(fs.readFileSync(tear!.file).subarray(0, offset).equals(damaged.subarray(0, offset))).toBe(true);
            const side = path.join(path.dirname(tear!.file), `${path.basename(tear!.file)}.torn-${offset}`);
            const kept = fs.readdirSync(path.dirname(tear!.file)).filter((name) => name.startsWith(path.basename(side)));
            expect(kept.length, `side file ${side}`).toBeGreaterThan(0);
            const newest = kept.sort().map((name) => fs.readFileSync(path.join(path.dirname(side), name)));
            expect(newest.some((bytes) => bytes.equals(damaged.subarray(offset)))).toBe(true);
          }
        }
        harness.model.beginCycle();
        const { digest, replayDigest } = await harness.finish(CYCLES + 1);
        expect(harness.model.violations).toEqual([]);
        expect(replayDigest).toBe(digest);
        const cuts = tears.filter((tear) => tear.recordsCut > 0);
        console.log(
          `torn summary: ${JSON.stringify({
            cycles: CYCLES, tails: tears.map((tear) => tear.tail), recordCuts: cuts.length, tornTailsCut: tears.filter((tear) => tear.tornBytes > 0).length,
            unacknowledgedRecordsCut: cuts.reduce((sum, tear) => sum + tear.recordsCut, 0), ...harness.summary(), digest,
          })}`,
        );
        passed = true;
      } finally {
        await harness.close(passed);
      }
    },
    120_000 + CYCLES * CYCLE_BUDGET_MS,
  );
});
