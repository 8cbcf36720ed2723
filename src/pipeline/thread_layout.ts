/**
 * Which stages share a thread: a configuration of the pipeline, not of the stages (DESIGN.md).
 * Written as comma-separated threads of '+'-joined stages, e.g. the default
 * "sequencer,wal,matching+settlement". The WAL writer always has a thread of its own: an fsync
 * must never block the sequencer, and the batch that builds up during one fsync is exactly what
 * group commit flushes next. The gateway is always the main thread.
 */
export const STAGE_NAMES = ['sequencer', 'wal', 'matching', 'settlement'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * The sequencer alone, the WAL writer alone, matching and settlement together. Chosen by measurement
 * on the 2-core machine (README, "Threads and rings"): in the side-by-side runs of the pipeline
 * benchmark it beat 'sequencer+matching+settlement,wal' in every run but one (100.6k vs 64.0k
 * commands/s in the README's full run, 102k vs 63k under load, 76k vs 60k quick; once 82.4k vs 80.7k):
 * the sequencer's pre-check and the matching of earlier commands run at the same time.
 */
export const DEFAULT_THREAD_LAYOUT = 'sequencer,wal,matching+settlement';

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
