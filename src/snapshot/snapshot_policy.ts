/**
 * When snapshots are taken, how many are kept, and what happens to the WAL segments they make
 * unnecessary. Validated at start-up (STYLE.md: a limit on everything).
 *
 * Recovery time is bounded by the snapshot load plus the WAL after the newest snapshot, which is
 * at most `everyRecords` records (plus what arrived while the snapshot was being written), or what
 * arrived in `everyMs` when traffic is slow.
 */

/** keep: WAL segments are never touched (default). archive: moved to `<data>/wal-archive/`. delete: removed. */
export type WalRetention = 'keep' | 'archive' | 'delete';
export const WAL_RETENTION_MODES: readonly WalRetention[] = ['keep', 'archive', 'delete'];

export interface SnapshotPolicy {
  /** Take a snapshot once this many records were logged since the last one; 0: never by count. */
  everyRecords: number;
  /** ...or once this long has passed since the last one and anything was logged; 0: never by time. */
  everyMs: number;
  /** Snapshots kept, newest first; older ones are deleted after each new one. */
  keep: number;
  /** What happens to WAL segments wholly before the oldest kept snapshot. */
  walRetention: WalRetention;
}

/**
 * 200,000 records: the trade-off between restart time and the snapshot worker's CPU. A restart
 * loads the newest snapshot (1.1–1.5 s at a 10,000,000-record log with a million remembered
 * clientOrderIds, cold, on the shared 2-core machine) and replays at most this many records after
 * it (on average half) at some 140,000–180,000 records per second with the read models fed.
 * Measured cold at 10,000,000 records (alternating runs, fresh processes): 2.8–3.5 s with 250,000
 * records to replay, so a 250,000 default (session 4) sat at the ≤ 3 s mark, 1,000,000 (the first
 * default) at 6.7–7.5 s. Each snapshot costs the worker about 2.5 s of CPU (export, encode, verify
 * by decoding and rebuilding, fsync; 2.9 s before the read models' export was made column-wise)
 * on top of following the log: at 200,000 records that is the CPU per record the 250,000 default
 * cost before, about 12 µs per record, for a worst-case tail 50,000 records (~0.3 s) shorter.
 * 100,000 would double it for another ~0.6 s.
 */
export const SNAPSHOT_EVERY_RECORDS_DEFAULT = 200_000;
export const SNAPSHOT_EVERY_RECORDS_MAX = 1_000_000_000;
export const SNAPSHOT_EVERY_MINUTES_DEFAULT = 10;
export const SNAPSHOT_EVERY_MINUTES_MAX = 7 * 24 * 60;
export const SNAPSHOT_KEEP_DEFAULT = 2;
export const SNAPSHOT_KEEP_MAX = 100;

export const SNAPSHOT_POLICY_DEFAULT: Readonly<SnapshotPolicy> = Object.freeze({
  everyRecords: SNAPSHOT_EVERY_RECORDS_DEFAULT,
  everyMs: SNAPSHOT_EVERY_MINUTES_DEFAULT * 60_000,
  keep: SNAPSHOT_KEEP_DEFAULT,
  walRetention: 'keep',
});

/** True when the policy ever takes a snapshot. */
export function snapshotsEnabled(policy: Readonly<SnapshotPolicy>): boolean {
  return policy.everyRecords > 0 || policy.everyMs > 0;
}

/** Every problem with a policy, as messages; empty when it is valid. */
export function validateSnapshotPolicy(policy: Readonly<SnapshotPolicy>): string[] {
  const errors: string[] = [];
  const { everyRecords, everyMs, keep, walRetention } = policy;
  if (!Number.isSafeInteger(everyRecords) || everyRecords < 0 || everyRecords > SNAPSHOT_EVERY_RECORDS_MAX) {
    errors.push(`snapshot everyRecords must be an integer from 0 to ${SNAPSHOT_EVERY_RECORDS_MAX}`);
  }
  if (!Number.isSafeInteger(everyMs) || everyMs < 0 || everyMs > SNAPSHOT_EVERY_MINUTES_MAX * 60_000) {
    errors.push(`snapshot everyMs must be an integer from 0 to ${SNAPSHOT_EVERY_MINUTES_MAX * 60_000}`);
  }
  if (!Number.isSafeInteger(keep) || keep < 1 || keep > SNAPSHOT_KEEP_MAX) errors.push(`snapshot keep must be an integer from 1 to ${SNAPSHOT_KEEP_MAX}`);
  if (!WAL_RETENTION_MODES.includes(walRetention)) errors.push(`WAL retention must be one of ${WAL_RETENTION_MODES.join(', ')}`);
  return errors;
}
