/**
 * Which stages share a thread: a configuration of the pipeline, not of the stages (DESIGN.md).
 * Written as comma-separated threads of '+'-joined stages, e.g. the default
 * "sequencer+matching+settlement,wal". The WAL writer always has a thread of its own: an fsync
 * must never block the sequencer, and the batch that builds up during one fsync is exactly what
 * group commit flushes next. The gateway is always the main thread.
 */
export const STAGE_NAMES = ['sequencer', 'wal', 'matching', 'settlement'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** One core thread and the WAL thread: the fewest hand-offs on 2 cores (README: not yet confirmed by a quiet benchmark). */
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
