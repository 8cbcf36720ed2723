/**
 * The replay command: `npm run replay -- --data DIR [--to-seq N] [--verify-only] [--json]`.
 *
 * Reads the WAL (read-only: a torn tail is reported, not cut), verifies every checksum and the
 * gap-free seq chain, replays it through the same state machines as the server, checks the
 * invariants, and prints counts, rates and the state digest — the digest a graceful shutdown of
 * the server logs for the same data directory.
 *
 * Exit codes: 0 all is well, 1 corruption or a broken invariant, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ExchangeCore } from '../core/exchange_core.ts';
import { InvariantViolation, checkCoreInvariants } from '../core/invariants.ts';
import { stateDigest } from '../core/state_digest.ts';
import { InvariantError } from '../domain/assert.ts';
import { CommandType } from '../domain/commands.ts';
import { DEFAULT_CORE_LIMITS } from '../domain/limits.ts';
import { MarketConfigError, defaultMarketSet, parseMarketSetJson } from '../domain/markets.ts';
import type { MarketSet } from '../domain/markets.ts';
import { WalCorruptionError, readRecords } from '../wal/wal_reader.ts';

export interface ReplayOptions {
  dataDir: string;
  toSeq?: number;
  verifyOnly: boolean;
  json: boolean;
  marketSet: MarketSet;
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
}

class UsageError extends Error {}

export function parseReplayArgs(argv: readonly string[]): ReplayOptions {
  let dataDir: string | undefined;
  let toSeq: number | undefined;
  let verifyOnly = false;
  let json = false;
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
    else throw new UsageError(`unknown argument "${argv[i]}"`);
  }
  dataDir ??= process.env['DATA_DIR'] ?? './data';
  let marketSet: MarketSet;
  try {
    marketSet = marketsFile === undefined ? defaultMarketSet() : parseMarketSetJson(readFileSync(marketsFile, 'utf8'));
  } catch (error) {
    throw new UsageError(`--markets ${marketsFile}: ${(error as Error).message}`);
  }
  return { dataDir, verifyOnly, json, marketSet, ...(toSeq === undefined ? {} : { toSeq }) };
}

/** Replays a data directory; throws WalCorruptionError or InvariantViolation/InvariantError. */
export function replay(options: ReplayOptions): ReplayResult {
  const core = new ExchangeCore(options.marketSet, DEFAULT_CORE_LIMITS);
  const byType = [0, 0, 0, 0, 0];
  const started = performance.now();
  const summary = readRecords(options.dataDir, {
    ...(options.toSeq === undefined ? {} : { toSeq: options.toSeq }),
    onRecord: options.verifyOnly
      ? (command) => {
          byType[command.type]! += 1;
        }
      : (command) => {
          byType[command.type]! += 1;
          core.replay(command);
        },
  });
  const elapsedMs = performance.now() - started;
  let digest: ReturnType<typeof stateDigest> | null = null;
  if (!options.verifyOnly) {
    checkCoreInvariants(core);
    digest = stateDigest(core);
  }
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
  };
}

function printText(result: ReplayResult): void {
  const lines = [
    `data directory   ${result.dataDir}`,
    `records          ${result.records} (deposit ${result.recordsByType.deposit}, withdraw ${result.recordsByType.withdraw}, place ${result.recordsByType.place}, cancel ${result.recordsByType.cancel})`,
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
    process.stderr.write(`replay: ${error.message}\nusage: npm run replay -- --data DIR [--to-seq N] [--verify-only] [--json] [--markets FILE]\n`);
    return 2;
  }
  try {
    const result = replay(options);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else printText(result);
    return 0;
  } catch (error) {
    if (error instanceof WalCorruptionError || error instanceof InvariantViolation || error instanceof InvariantError) {
      if (options.json) process.stdout.write(`${JSON.stringify({ error: error.name, message: error.message, invariantsOk: false })}\n`);
      process.stderr.write(`replay: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
