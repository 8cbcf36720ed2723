/**
 * kill -9 under load (issue 7, part 1). The real server, many concurrent keep-alive clients placing
 * every kind of order, cancelling, retrying, depositing and withdrawing; SIGKILL at a seeded
 * moment; restart; check everything through the API and against the WAL; again, CRASH_CYCLES times.
 * At the end a full check, a graceful SIGTERM under load (every command it applied was answered),
 * and the digest the server logs must be the replay command's digest of the same data directory.
 */
import { afterAll, afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { Prng } from '../matching/support/prng.ts';
import { CrashHarness, crashCycles, crashSeed, replayCommand } from './support/harness.ts';
import { killAllServers } from './support/server_process.ts';

const CYCLES = crashCycles();
const SEED = crashSeed();
/** Per cycle: start-up (~3 s), load, checks; generous for a loaded 2-core machine. */
const CYCLE_BUDGET_MS = 45_000;

afterEach(killAllServers);
afterAll(killAllServers);

describe('kill -9 under load', () => {
  it(
    `loses nothing acknowledged over ${CYCLES} SIGKILL cycles (seed ${SEED})`,
    async () => {
      const harness = new CrashHarness({ name: 'kill9', seed: SEED, accounts: 48, clients: 24 });
      let passed = false;
      onTestFailed(() => {
        console.error(`kill9 seed ${SEED}: ${JSON.stringify(harness.model.violations.slice(0, 20), null, 1)}`);
      });
      try {
        const prng = new Prng(SEED);
        let startupKills = 0;
        await harness.start();
        await harness.fund();
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
          harness.model.beginCycle();
          // Every fourth cycle, from the second on, the SIGKILL lands during a graceful stop.
          const terminateFirstMs = cycle % 4 === 2 ? prng.int(0, 400) : undefined;
          const loadMs = await harness.loadAndKill(cycle, prng.int(300, 2_000), terminateFirstMs);
          // Every third cycle the restart itself is killed too, somewhere in its start-up.
          if (cycle % 3 === 0) startupKills += (await harness.crashDuringStartup(prng.int(100, 2_500))) ? 1 : 0;
          const report = await harness.recover(cycle, loadMs);
          if (CYCLES <= 10 || cycle % 10 === 0) console.log(`kill9 cycle ${cycle}: ${JSON.stringify(report)}`);
          expect(harness.model.violations, `violations after cycle ${cycle}`).toEqual([]);
        }
        harness.model.beginCycle();
        // The last stop is graceful, in the middle of the load.
        const { digest, replayDigest } = await harness.finish(CYCLES + 1, prng.int(500, 1_500));
        expect(harness.model.violations).toEqual([]);
        expect(replayDigest).toBe(digest);
        // And the command a user runs gives the same digest.
        const command = await replayCommand(harness.run.dataDir);
        expect(command.invariantsOk).toBe(true);
        expect(command.digest).toBe(digest);
        console.log(`kill9 summary: ${JSON.stringify({ cycles: CYCLES, killedDuringStartup: startupKills, ...harness.summary(), digest })}`);
        passed = true;
      } finally {
        await harness.close(passed);
      }
    },
    120_000 + CYCLES * CYCLE_BUDGET_MS,
  );
});
