/**
 * Which stages share a thread: a configuration of the pipeline, not of the stages (DESIGN.md).
 * Written as comma-separated threads of '+'-joined stages, e.g. the default
 * "sequencer+matching+settlement,wal". The WAL writer always has a thread of its own: an fsync
 * must never block the sequencer, and the batch that builds up during one fsync is exactly what
 * group commit flushes next. The gateway is always the main thread.
 */
export const STAGE_NAMES = ['sequencer', 'wal', 'matching', 'settlement'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * The three state machines on one worker thread, the WAL writer on another: two workers beside
 * the gateway on a 2-core machine. Chosen by measurement (README, "Threads and rings"): the real
 * server under HTTP load served 4-23% more orders/s with it than with 'sequencer,wal,matching+settlement'
 * in 4 of 4 alternating runs on the AMD EPYC host (15.2k-16.8k vs 12.9k-16.0k orders/s; submit →
 * result inside the server 2.61-2.93 vs 2.79-3.44 ms). That three-worker layout was the default
 * before: on the earlier Intel Xeon hosts it led the pipeline benchmark (the sequencer's pre-check
 * overlaps the matching of earlier commands), and it still leads that benchmark, which has no HTTP,
 * at saturation (below it the lead changes from run to run); with the HTTP load
 * generator on the same two cores, one thread fewer to wake and schedule weighs more.
 */
export const DEFAULT_THREAD_LAYOUT = 'sequencer+matching+settlement,wal';

export type ThreadLayout = readonly (readonly StageName[])[];

export class ThreadLayoutError extends Error {
  override readonly name = 'ThreadLayoutError';
}

export function parseThreadLayout(text: string): ThreadLayout {
  const threads = text.split(',').map((group) => group.split('+').map((name) => name.trim()));
  const seen = new Set<string>();
  for (const stages of threads) {
    for (const name of stages) {
      if (!(STAGE_NAMES as readonly string[]).includes(name)) {
        throw new ThreadLayoutError(`thread layout "${text}": unknown stage "${name}" (stages: ${STAGE_NAMES.join(', ')})`);
      }
      if (seen.has(name)) throw new ThreadLayoutError(`thread layout "${text}": stage "${name}" appears twice`);
      seen.add(name);
    }
    if (stages.includes('wal') && stages.length > 1) {
      throw new ThreadLayoutError(`thread layout "${text}": the WAL writer needs a thread of its own`);
    }
  }
  for (const name of STAGE_NAMES) {
    if (!seen.has(name)) throw new ThreadLayoutError(`thread layout "${text}": stage "${name}" is missing`);
  }
  return threads as ThreadLayout;
}
