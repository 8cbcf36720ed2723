/**
 * The replay command: `npm run replay -- --data DIR [--to-seq N] [--full] [--verify-only] [--json]`.
 *
 * Recovers the state exactly as the server's start-up does (src/snapshot/recover_state.ts, the same
 * code path, read-only here: a torn tail is reported, not cut, a bad snapshot only reported): the
 * newest valid snapshot (at most --to-seq) and the WAL after it, or with `--full` the whole WAL. It
 * verifies every checksum and the gap-free seq chain of what it reads, replays it through the same
 * state machines as the server, checks the invariants, and prints counts, rates, the snapshot used
 * and the state digest — the digest a graceful shutdown of the server logs for the same data
 * directory, with or without `--full`. `--verify-only` checks the whole WAL without replaying it.
 *
 * Exit codes: 0 all is well, 1 corruption or a broken invariant, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { InvariantViolation, checkCoreInvariants } from '../core/invariants.ts';
import { stateDigest } from '../core/state_digest.ts';
import { InvariantError } from '../domain/assert.ts';
import { CommandType } from '../domain/commands.ts';
import type { Command } from '../domain/commands.ts';
import { DEFAULT_CORE_LIMITS } from '../domain/limits.ts';
import { defaultMarketSet, parseMarketSetJson } from '../domain/markets.ts';
import type { MarketSet } from '../domain/markets.ts';
import { RecoveryError, recoverState } from '../snapshot/recover_state.ts';
import type { RecoveryLog, StateRecovery } from '../snapshot/recover_state.ts';
import { WalCorruptionError, readRecords } from '../wal/wal_reader.ts';
import type { TornTail } from '../wal/wal_reader.ts';

export interface ReplayOptions {
  dataDir: string;
  toSeq?: number;
  verifyOnly: boolean;
  json: boolean;
  marketSet: MarketSet;
  /** Ignore snapshots: replay the whole WAL. */
  full?: boolean;
}

export interface ReplayResult {
  dataDir: string;
  firstSeq: number;
  lastSeq: number;
  records: number;
  recordsByType: { deposit: number; withdraw: number; place: number; cancel: number };
  tornTailBytes: number;
  tornTail: { file: string; offset: number; bytes: number } | null;
  elapsedMs: number;
  recordsPerSec: number;
  verifyOnly: boolean;
  invariantsOk: boolean;
  digest: string | null;
  accounts: number;
  openOrders: number;
  tradeIdLast: number;
  /** The snapshot the state started from (then `records` are the WAL records after it), or null. */
  snapshot: { file: string; seq: number; digest: string; loadMs: number } | null;
  /** Snapshots that could not be used, and why (newest first). */
  rejectedSnapshots: { file: string; reason: string }[];
}

class UsageError extends Error {}

export function parseReplayArgs(argv: readonly string[]): ReplayOptions {
  let dataDir: string | undefined;
  let toSeq: number | undefined;
  let verifyOnly = false;
  let json = false;
  let full = false;
  let marketsFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const text = inline ?? argv[++i];
      if (text === undefined || text === '') throw new UsageError(`${flag} needs a value`);
      return text;
    };
    if (flag === '--data') dataDir = value();
    else if (flag === '--to-seq') {
      const text = value();
      if (!/^[1-9]\d{0,15}$/.test(text)) throw new UsageError(`--to-seq must be a positive integer, got "${text}"`);
      toSeq = Number(text);
    } else if (flag === '--markets') marketsFile = value();
    else if (flag === '--verify-only') verifyOnly = true;
    else if (flag === '--json') json = true;
    else if (flag === '--full') full = true;
    else throw new UsageError(`unknown argument "${argv[i]}"`);
  }
  dataDir ??= process.env['DATA_DIR'] ?? './data';
  let marketSet: MarketSet;
  try {
    marketSet = marketsFile === undefined ? defaultMarketSet() : parseMarketSetJson(readFileSync(marketsFile, 'utf8'));
  } catch (error) {
    throw new UsageError(`--markets ${marketsFile}: ${(error as Error).message}`);
  }
  return { dataDir, verifyOnly, json, full, marketSet, ...(toSeq === undefined ? {} : { toSeq }) };
}

/** Replays a data directory; throws WalCorruptionError, RecoveryError or InvariantViolation/InvariantError. */
export function replay(options: ReplayOptions, log?: RecoveryLog): ReplayResult {
  const byType = [0, 0, 0, 0, 0];
  const count = (command: Readonly<Command>): void => {
    byType[command.type]! += 1;
  };
  const started = performance.now();
  let summary: { firstSeq: number; lastSeq: number; records: number; tornTail: TornTail | null };
  let digest: ReturnType<typeof stateDigest> | null = null;
  let recovered: StateRecovery | null = null;
  if (options.verifyOnly) {
    summary = readRecords(options.dataDir, { ...(options.toSeq === undefined ? {} : { toSeq: options.toSeq }), onRecord: count });
  } else {
    recovered = recoverState(options.dataDir, {
      marketSet: options.marketSet,
      limits: DEFAULT_CORE_LIMITS,
      mode: 'read',
      useSnapshots: options.full !== true,
      onRecord: count,
      ...(options.toSeq === undefined ? {} : { toSeq: options.toSeq }),
      ...(log === undefined ? {} : { log }),
    });
    summary = { firstSeq: recovered.walFirstSeq, lastSeq: recovered.walLastSeq, records: recovered.walRecords, tornTail: recovered.tornTail };
  }
  const elapsedMs = performance.now() - started;
  if (recovered !== null) {
    checkCoreInvariants(recovered.core);
    digest = stateDigest(recovered.core);
  }
  const snapshot = recovered?.snapshot ?? null;
  return {
    dataDir: options.dataDir,
    firstSeq: summary.firstSeq,
    lastSeq: summary.lastSeq,
    records: summary.records,
    recordsByType: {
      deposit: byType[CommandType.Deposit]!,
      withdraw: byType[CommandType.Withdraw]!,
      place: byType[CommandType.Place]!,
      cancel: byType[CommandType.Cancel]!,
    },
    tornTailBytes: summary.tornTail?.bytes ?? 0,
    tornTail: summary.tornTail,
    elapsedMs,
    recordsPerSec: summary.records / Math.max(elapsedMs / 1000, 1e-9),
    verifyOnly: options.verifyOnly,
    invariantsOk: !options.verifyOnly,
    digest: digest?.digest ?? null,
    accounts: digest?.accounts ?? 0,
    openOrders: digest?.openOrders ?? 0,
    tradeIdLast: digest?.tradeIdLast ?? 0,
    snapshot: snapshot === null ? null : { file: snapshot.file, seq: snapshot.seq, digest: snapshot.digest, loadMs: snapshot.loadMs },
    rejectedSnapshots: (recovered?.rejectedSnapshots ?? []).map(({ file, reason }) => ({ file, reason })),
  };
}

function snapshotLine(result: ReplayResult): string {
  const rejected = result.rejectedSnapshots.length === 0 ? '' : ` (${result.rejectedSnapshots.length} rejected, see above)`;
  if (result.verifyOnly) return 'not used (--verify-only reads the whole WAL)';
  if (result.snapshot === null) return `none: the whole WAL was replayed${rejected}`;
  const { file, seq, loadMs } = result.snapshot;
  return `${file} (seq ${seq}, loaded in ${loadMs.toFixed(1)} ms), then the WAL records after it${rejected}`;
}

/** Recovery's notes (a rejected snapshot) go to stderr: stdout stays the result (or its JSON). */
const stderrLog: RecoveryLog = {
  info: () => {},
  warn: (fields, message) => process.stderr.write(`replay: ${message} ${JSON.stringify(fields)}\n`),
  error: (fields, message) => process.stderr.write(`replay: ${message} ${JSON.stringify(fields)}\n`),
};

function printText(result: ReplayResult): void {
  const lines = [
    `data directory   ${result.dataDir}`,
    `records          ${result.records} (deposit ${result.recordsByType.deposit}, withdraw ${result.recordsByType.withdraw}, place ${result.recordsByType.place}, cancel ${result.recordsByType.cancel})`,
    `snapshot         ${snapshotLine(result)}`,
    `seq              ${result.firstSeq} .. ${result.lastSeq}`,
    `torn tail        ${result.tornTail === null ? 'none' : `${result.tornTail.bytes} bytes at ${result.tornTail.file}:${result.tornTail.offset} (the server cuts it at start-up)`}`,
    `elapsed          ${result.elapsedMs.toFixed(1)} ms (${Math.round(result.recordsPerSec).toLocaleString('en-US')} records/s)`,
  ];
  if (result.verifyOnly) lines.push('checksums        verified (--verify-only: not replayed)');
  else {
    lines.push(`invariants       ok`);
    lines.push(`accounts         ${result.accounts}, open orders ${result.openOrders}, last tradeId ${result.tradeIdLast}`);
    lines.push(`state digest     ${result.digest}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function main(): number {
  let options: ReplayOptions;
  try {
    options = parseReplayArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`replay: ${error.message}\nusage: npm run replay -- --data DIR [--to-seq N] [--full] [--verify-only] [--json] [--markets FILE]\n`);
    return 2;
  }
  try {
    const result = replay(options, stderrLog);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else printText(result);
    return 0;
  } catch (error) {
    if (
      error instanceof WalCorruptionError ||
      error instanceof RecoveryError ||
      error instanceof InvariantViolation ||
      error instanceof InvariantError
    ) {
      if (options.json) process.stdout.write(`${JSON.stringify({ error: error.name, message: error.message, invariantsOk: false })}\n`);
      process.stderr.write(`replay: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
