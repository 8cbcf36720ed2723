/**
 * A pipeline stage as a thread runs it: bounded, non-blocking steps. Stage shells (the sequencer,
 * WAL, matching and settlement stages) implement it; src/pipeline decides which share a thread.
 */
export interface Stage {
  /** Do a bounded amount of work; return true when anything moved. */
  step(): boolean;
  /** Cheap check used right before sleeping: is there input, or room where output was stuck? */
  hasWork(): boolean;
  /** How long this stage may sleep before it must act anyway (a group-commit deadline); default unbounded. */
  sleepBudgetMs?(): number;
}
