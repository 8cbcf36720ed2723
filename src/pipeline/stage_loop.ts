/**
 * The loop a worker thread runs: every stage on this thread takes a bounded, non-blocking step in
 * turn; only when none made progress does the thread spin briefly and then sleep on its doorbell.
 *
 * No stage ever blocks waiting for room downstream, so stages that share a thread cannot starve
 * each other, and the credit loop S → W → M → T → S cannot deadlock: the sequencer keeps
 * draining credits (T→S) even while its own output (S→W) is full.
 */
import type { Stage } from '../ring/stage.ts';
export interface LoopControl {
  /** Set by the main thread (through shared memory) to stop. */
  stopRequested(): boolean;
}

const SPIN_ROUNDS = 200;
const SLEEP_TIMEOUT_MS = 100;

export function runStageLoop(
  stages: readonly Stage[],
  doorbell: { sleep(hasWork: () => boolean, timeoutMs: number): void },
  control: LoopControl,
): void {
  const hasWork = (): boolean => {
    for (const stage of stages) if (stage.hasWork()) return true;
    return control.stopRequested();
  };
  let idleRounds = 0;
  while (!control.stopRequested()) {
    let progressed = false;
    for (const stage of stages) if (stage.step()) progressed = true;
    if (progressed) {
      idleRounds = 0;
      continue;
    }
    idleRounds += 1;
    if (idleRounds < SPIN_ROUNDS) continue;
    let timeoutMs = SLEEP_TIMEOUT_MS;
    for (const stage of stages) if (stage.sleepBudgetMs !== undefined) timeoutMs = Math.min(timeoutMs, stage.sleepBudgetMs());
    if (timeoutMs > 0) doorbell.sleep(hasWork, timeoutMs);
    idleRounds = 0;
  }
}
