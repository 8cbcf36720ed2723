/**
 * What the gateway sees of the pipeline: submit a command and hear back once it is durable,
 * matched and settled (or refused before the log), plus the phase and counters for /health and
 * /metrics. The threaded pipeline implements it; the gateway never touches rings or threads.
 */
import type { Command } from '../domain/commands.ts';
import type { RejectCode } from '../domain/reject_codes.ts';

export type SubmitResult =
  /** Durable in the WAL, matched and settled; the read models already reflect it. */
  | { readonly status: 'accepted'; readonly seq: number }
  /** Refused by the sequencer's pre-check: no seq, nothing reserved, nothing written. */
  | { readonly status: 'rejected'; readonly code: RejectCode; readonly duplicateOrderId: number }
  /** The inbound ring is full: answer 503 OVERLOADED with Retry-After. Nothing was queued. */
  | { readonly status: 'overloaded' }
  /** Not accepting commands: 503 RECOVERING or SHUTTING_DOWN. */
  | { readonly status: 'unavailable'; readonly phase: PipelinePhase };

export type PipelinePhase = 'recovering' | 'running' | 'stopping' | 'stopped';

/**
 * The result of a command submitted with `submitWith`, as plain numbers (no object per result):
 * `tag` is the number the caller submitted it with (so one callback can serve every command, with
 * no closure per command); `rejectCode` is RejectCode.None when the command was accepted (durable in the WAL, matched and
 * settled, the read models already reflecting it) as `seq`; otherwise the sequencer's pre-check
 * refused it (seq 0), and for a duplicate clientOrderId `duplicateOrderId` names the earlier order.
 */
export type SubmitCallback = (tag: number, seq: number, rejectCode: RejectCode, duplicateOrderId: number) => void;

/** What `submitWith` did with a command at once. */
export const SubmitStatus = {
  /** Queued: the callback will be called exactly once, from the pipeline's result consumer. */
  Submitted: 0,
  /** The inbound ring is full (503 OVERLOADED); nothing was queued, the callback is never called. */
  Overloaded: 1,
  /** Not accepting commands (see `phase`); nothing was queued, the callback is never called. */
  Unavailable: 2,
} as const;
export type SubmitStatus = (typeof SubmitStatus)[keyof typeof SubmitStatus];

export interface PipelineCounters {
  acceptedByType: Readonly<Record<'deposit' | 'withdraw' | 'place' | 'cancel', number>>;
  rejectedByType: Readonly<Record<'deposit' | 'withdraw' | 'place' | 'cancel', number>>;
  walFsyncs: number;
  walRecords: number;
  /** Histogram of records per fsync: upper bounds and cumulative-free bucket counts. */
  recordsPerFsync: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  fsyncLatencyMs: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  commandLatencyMs: { bounds: readonly number[]; counts: readonly number[]; sum: number; count: number };
  ringOccupancy: Readonly<Record<string, { size: number; capacity: number }>>;
}

export interface PipelineHandle {
  readonly phase: PipelinePhase;
  /** Highest seq whose results reached the main thread. */
  readonly lastSeq: number;
  /** Highest seq known to be on stable storage. */
  readonly durableSeq: number;
  /** The command is copied before this returns; the caller may reuse it. */
  submit(command: Readonly<Command>): Promise<SubmitResult>;
  /**
   * The same as `submit`, with the result delivered to a callback instead of a Promise: no Promise
   * and no result object per command, for the hot path (POST /orders, the pipeline benchmark).
   * Optional: a handle without it is used through `submit`.
   */
  submitWith?(command: Readonly<Command>, onResult: SubmitCallback, tag?: number): SubmitStatus;
  counters(): PipelineCounters;
}
