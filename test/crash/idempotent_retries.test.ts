/**
 * Retries across crashes (issue 7, part 5). Every place carries a clientOrderId; a third of them is
 * sent as two or three identical copies at once, clients re-send earlier ones, the server is
 * SIGKILLed while all of that is in flight, and after the restart every unanswered request is
 * retried (two copies at once again). Exactly one order may exist per (account, clientOrderId):
 * every answer for a pair carries the same orderId, a retry of a logged order answers 200 with it,
 * and the WAL holds at most one place per pair.
 */
import { afterAll, afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { Prng } from '../matching/support/prng.ts';
import { CrashHarness, crashCycles, crashSeed } from './support/harness.ts';
import { DEFAULT_MIX } from './support/load.ts';
import { killAllServers } from './support/server_process.ts';

const SEED = (crashSeed() + 29) >>> 0;
/** CI: one crash (kill9_under_load retries across five more); the long run: CRASH_CYCLES / 2. */
const CYCLES = Math.max(1, Math.floor(crashCycles(2) / 2));
const CYCLE_BUDGET_MS = 45_000;

afterEach(killAllServers);
afterAll(killAllServers);

describe('idempotent retries across crashes', () => {
  it(
    `never places a clientOrderId twice over ${CYCLES} SIGKILL cycles (seed ${SEED})`,
    async () => {
      const harness = new CrashHarness({
        name: 'retries',
        seed: SEED,
        accounts: 16,
        clients: 24,
        mix: { ...DEFAULT_MIX, limit: 50, market: 10, retry: 20, clientOrderIdShare: 1, duplicateShare: 0.35 },
      });
      let passed = false;
      onTestFailed(() => console.error(`retries seed ${SEED}: ${JSON.stringify(harness.model.violations.slice(0, 20), null, 1)}`));
      try {
        const prng = new Prng(SEED);
        await harness.start();
        await harness.fund();
        let inFlightPlaces = 0;
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
          harness.model.beginCycle();
          const loadMs = await harness.loadAndKill(cycle, prng.int(400, 2_000));
          inFlightPlaces += harness.model.cycle.inFlight.filter((op) => op.kind === 'place').length;
          const report = await harness.recover(cycle, loadMs);
          console.log(`retries cycle ${cycle}: ${JSON.stringify(report)}`);
          expect(harness.model.violations, `violations after cycle ${cycle}`).toEqual([]);
        }
        harness.model.beginCycle();
        const { digest, replayDigest } = await harness.finish(CYCLES + 1);
        expect(harness.model.violations).toEqual([]);
        expect(replayDigest).toBe(digest);
        const stats = harness.model.stats;
        expect(stats.retriesAnswered200).toBeGreaterThan(0);
        console.log(
          `retries summary: ${JSON.stringify({
            cycles: CYCLES, clientOrderIds: harness.model.clientKeys.size, placesAnswered201: stats.placesAcked,
            retriesAnswered200: stats.retriesAnswered200, inFlightPlacesAtCrash: inFlightPlaces, doublePlaces: 0, ...harness.summary(),
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
