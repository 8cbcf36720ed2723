/**
 * Server configuration from the environment and command-line flags, validated once at start-up.
 *
 * Every option has a flag (`--wal-batch-records 4096` or `--wal-batch-records=4096`) and an
 * environment variable (`WAL_BATCH_RECORDS`); a flag wins over the environment, the environment over
 * the default. Every value is checked against a named range, and all problems are reported together
 * in one ConfigError, so a bad deployment is fixed in one round.
 *
 * ADMIN_TOKEN is read from the environment only: a flag would show the secret in the process list.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import type { CoreLimits } from '../domain/limits.ts';
import { DEFAULT_CORE_LIMITS, validateCoreLimits } from '../domain/limits.ts';
import type { MarketSet } from '../domain/markets.ts';
import { defaultMarketSet, parseMarketSetJson } from '../domain/markets.ts';
import { RING_CAPACITY_MAX } from '../ring/spsc_ring.ts';
import { DEFAULT_THREAD_LAYOUT, parseThreadLayout } from '../pipeline/thread_layout.ts';
import type { ThreadLayout } from '../pipeline/thread_layout.ts';
import type { SnapshotPolicy, WalRetention } from '../snapshot/snapshot_policy.ts';
import {
  SNAPSHOT_EVERY_MINUTES_DEFAULT,
  SNAPSHOT_EVERY_MINUTES_MAX,
  SNAPSHOT_EVERY_RECORDS_DEFAULT,
  SNAPSHOT_EVERY_RECORDS_MAX,
  SNAPSHOT_KEEP_DEFAULT,
  SNAPSHOT_KEEP_MAX,
  WAL_RETENTION_MODES,
} from '../snapshot/snapshot_policy.ts';
import type { WalDurability } from '../wal/wal_config.ts';
import {
  WAL_BATCH_RECORDS_DEFAULT,
  WAL_BATCH_RECORDS_MAX,
  WAL_SEGMENT_BYTES_DEFAULT,
  WAL_SEGMENT_BYTES_MAX,
  validateWalConfig,
  walConfig,
} from '../wal/wal_config.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The WAL options of the command line; field names match src/wal/wal_config.ts. */
export interface WalOptions {
  /** Flush when this many records are pending... */
  batchRecordsMax: number;
  /** ...or this long after the first pending record (0: as soon as the input ring is drained). */
  batchDelayMs: number;
  /** Rotate to a new segment file before one would grow past this size. */
  segmentBytesMax: number;
  /** --fsync=fsync|none; 'none' is for benchmarks only. */
  durability: WalDurability;
}

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Undefined: funding endpoints are open, allowed only on a loopback host. */
  adminToken?: string;
  /** The --markets file, when one was given. */
  marketsFile?: string;
  /** The validated market set: the file's, or API.md's default. */
  marketSet: MarketSet;
  wal: WalOptions;
  /** Capacity of every inter-thread ring, in slots; a power of two. */
  ringCapacity: number;
  /** Which pipeline stages share a worker thread (src/pipeline/thread_layout.ts). */
  threads: ThreadLayout;
  coreLimits: CoreLimits;
  /** Closed orders the gateway's read model keeps for GET /orders/{id} and idempotent retries. */
  closedOrdersMax: number;
  /** Recent trades kept per market. */
  tradesMax: number;
  /** Largest `depth` GET /books accepts. */
  bookDepthMax: number;
  bodyLimitBytes: number;
  logLevel: LogLevel;
  /** Truncate a corrupt WAL at the first bad record (keeping the cut-off bytes in a side file). */
  repair: boolean;
  /** Snapshots: when (records, minutes; 0 turns a trigger off), how many kept, WAL retention. */
  snapshots: SnapshotPolicy;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = problems;
  }
}

const KIB = 1024;
const MIB = 1024 * KIB;

export const CONFIG_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  walBatchRecords: WAL_BATCH_RECORDS_DEFAULT,
  walBatchDelayMs: 0,
  walSegmentBytes: WAL_SEGMENT_BYTES_DEFAULT,
  fsync: 'fsync' as WalDurability,
  ringCapacity: 65_536,
  closedOrdersMax: 100_000,
  tradesMax: 1_000,
  bookDepthMax: 1_000,
  bodyLimitBytes: 64 * KIB,
  logLevel: 'info' as LogLevel,
  snapshotEveryRecords: SNAPSHOT_EVERY_RECORDS_DEFAULT,
  snapshotEveryMinutes: SNAPSHOT_EVERY_MINUTES_DEFAULT,
  snapshotKeep: SNAPSHOT_KEEP_DEFAULT,
  walRetention: 'keep' as WalRetention,
});

/** Ranges every numeric option is checked against (STYLE.md: a limit on everything). */
export const CONFIG_RANGES = Object.freeze({
  port: [0, 65_535],
  walBatchRecords: [1, WAL_BATCH_RECORDS_MAX],
  walBatchDelayMs: [0, 1_000],
  walSegmentBytes: [2 * MIB, WAL_SEGMENT_BYTES_MAX],
  ringCapacity: [64, RING_CAPACITY_MAX],
  closedOrdersMax: [1_000, 50_000_000],
  tradesMax: [1, 1_000_000],
  bookDepthMax: [1, 100_000],
  bodyLimitBytes: [1 * KIB, 16 * MIB],
  snapshotEveryRecords: [0, SNAPSHOT_EVERY_RECORDS_MAX],
  snapshotEveryMinutes: [0, SNAPSHOT_EVERY_MINUTES_MAX],
  snapshotKeep: [1, SNAPSHOT_KEEP_MAX],
} as const);

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FSYNC_MODES: readonly WalDurability[] = ['fsync', 'none'];

type OptionName =
  | 'host'
  | 'port'
  | 'data'
  | 'markets'
  | 'wal-batch-records'
  | 'wal-batch-delay-ms'
  | 'wal-segment-bytes'
  | 'fsync'
  | 'ring-capacity'
  | 'threads'
  | 'orders-open-max'
  | 'accounts-max'
  | 'fills-per-command-max'
  | 'client-order-ids-max'
  | 'closed-orders-max'
  | 'trades-max'
  | 'book-depth-max'
  | 'body-limit-bytes'
  | 'log-level'
  | 'repair'
  | 'snapshot-every-records'
  | 'snapshot-every-minutes'
  | 'snapshot-keep'
  | 'wal-retention';

/** Flag → environment variable. */
export const OPTION_ENV: Readonly<Record<OptionName, string>> = {
  host: 'HOST',
  port: 'PORT',
  data: 'DATA_DIR',
  markets: 'MARKETS_FILE',
  'wal-batch-records': 'WAL_BATCH_RECORDS',
  'wal-batch-delay-ms': 'WAL_BATCH_DELAY_MS',
  'wal-segment-bytes': 'WAL_SEGMENT_BYTES',
  fsync: 'FSYNC',
  'ring-capacity': 'RING_CAPACITY',
  threads: 'PIPELINE_THREADS',
  'orders-open-max': 'ORDERS_OPEN_MAX',
  'accounts-max': 'ACCOUNTS_MAX',
  'fills-per-command-max': 'FILLS_PER_COMMAND_MAX',
  'client-order-ids-max': 'CLIENT_ORDER_IDS_MAX',
  'closed-orders-max': 'CLOSED_ORDERS_MAX',
  'trades-max': 'TRADES_MAX',
  'book-depth-max': 'BOOK_DEPTH_MAX',
  'body-limit-bytes': 'BODY_LIMIT_BYTES',
  'log-level': 'LOG_LEVEL',
  repair: 'REPAIR',
  'snapshot-every-records': 'SNAPSHOT_EVERY_RECORDS',
  'snapshot-every-minutes': 'SNAPSHOT_EVERY_MINUTES',
  'snapshot-keep': 'SNAPSHOT_KEEP',
  'wal-retention': 'WAL_RETENTION',
};

const BOOLEAN_OPTIONS: ReadonlySet<OptionName> = new Set<OptionName>(['repair']);

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTION_ENV, name);
}

/** Raw option texts, flag over environment; problems for unknown or malformed flags. */
function collectRaw(argv: readonly string[], env: NodeJS.ProcessEnv, problems: string[]): Map<OptionName, string> {
  const raw = new Map<OptionName, string>();
  for (const name of Object.keys(OPTION_ENV) as OptionName[]) {
    const value = env[OPTION_ENV[name]];
    if (value !== undefined) raw.set(name, value);
  }
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (!argument.startsWith('--')) {
      problems.push(`unexpected argument "${argument}" (options are --name value or --name=value)`);
      continue;
    }
    const equals = argument.indexOf('=');
    const name = equals < 0 ? argument.slice(2) : argument.slice(2, equals);
    if (!isOptionName(name)) {
      problems.push(`unknown option --${name}`);
      continue;
    }
    if (equals >= 0) {
      raw.set(name, argument.slice(equals + 1));
    } else if (BOOLEAN_OPTIONS.has(name)) {
      raw.set(name, 'true');
    } else {
      const value = argv[index + 1];
      if (value === undefined || value.startsWith('--')) {
        problems.push(`option --${name} needs a value`);
        continue;
      }
      raw.set(name, value);
      index += 1;
    }
  }
  return raw;
}

class OptionReader {
  constructor(
    private readonly raw: ReadonlyMap<OptionName, string>,
    private readonly problems: string[],
  ) {}

  private label(name: OptionName): string {
    return `--${name} (${OPTION_ENV[name]})`;
  }

  text(name: OptionName, fallback: string): string {
    const value = this.raw.get(name) ?? fallback;
    if (value.trim() === '') this.problems.push(`${this.label(name)} must not be empty`);
    return value;
  }

  optionalText(name: OptionName): string | undefined {
    const value = this.raw.get(name);
    if (value !== undefined && value.trim() === '') this.problems.push(`${this.label(name)} must not be empty`);
    return value;
  }

  integer(name: OptionName, fallback: number, [min, max]: readonly [number, number]): number {
    const text = this.raw.get(name);
    if (text === undefined) return fallback;
    const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${this.label(name)} must be an integer from ${min} to ${max}, got "${text}"`);
      return fallback;
    }
    return value;
  }

  choice<T extends string>(name: OptionName, fallback: T, choices: readonly T[]): T {
    const text = this.raw.get(name);
    if (text === undefined) return fallback;
    const found = choices.find((choice) => choice === text);
    if (found === undefined) this.problems.push(`${this.label(name)} must be one of ${choices.join(', ')}, got "${text}"`);
    return found ?? fallback;
  }

  flag(name: OptionName): boolean {
    const text = this.raw.get(name);
    if (text === undefined) return false;
    if (['1', 'true', 'yes'].includes(text)) return true;
    if (['0', 'false', 'no', ''].includes(text)) return false;
    this.problems.push(`${this.label(name)} must be true or false, got "${text}"`);
    return false;
  }
}

/** Core limit → its option; the ranges are the domain's own (domain/limits.ts). */
const CORE_LIMIT_OPTIONS: readonly (readonly [keyof CoreLimits, OptionName])[] = [
  ['ordersOpenMax', 'orders-open-max'],
  ['accountsMax', 'accounts-max'],
  ['fillsPerCommandMax', 'fills-per-command-max'],
  ['clientOrderIdsMax', 'client-order-ids-max'],
];

function readCoreLimits(read: OptionReader, problems: string[]): CoreLimits {
  const limits: CoreLimits = { ...DEFAULT_CORE_LIMITS };
  for (const [key, option] of CORE_LIMIT_OPTIONS) {
    const value = read.integer(option, DEFAULT_CORE_LIMITS[key], [1, Number.MAX_SAFE_INTEGER]);
    const single: CoreLimits = { ...DEFAULT_CORE_LIMITS, [key]: value };
    const errors = validateCoreLimits(single);
    if (errors.length > 0) problems.push(...errors.map((error) => `--${option} (${OPTION_ENV[option]}): ${error}`));
    else limits[key] = value;
  }
  return limits;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && Number.isSafeInteger(value) && (value & (value - 1)) === 0;
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  if (lower === 'localhost') return true;
  if (isIPv4(lower)) return lower.startsWith('127.');
  if (isIPv6(lower)) {
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/**
 * API.md's admin rule: without ADMIN_TOKEN the funding endpoints are open, so the server must only
 * be reachable from this machine. Returns the problem, or undefined when the combination is safe.
 */
export function adminExposureProblem(host: string, adminToken: string | undefined): string | undefined {
  if (adminToken !== undefined || isLoopbackHost(host)) return undefined;
  return `refusing to listen on non-loopback host ${host} without ADMIN_TOKEN: the admin endpoints would be open to the network`;
}

/** Throws a ConfigError when listening on `host` without an admin token would expose the admin endpoints. */
export function assertAdminExposureAllowed(host: string, adminToken: string | undefined): void {
  const problem = adminExposureProblem(host, adminToken);
  if (problem !== undefined) throw new ConfigError([problem]);
}

function readAdminToken(env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const token = env['ADMIN_TOKEN'];
  if (token === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) {
    problems.push('ADMIN_TOKEN must be 1 to 512 visible ASCII characters (no spaces)');
    return undefined;
  }
  return token;
}

function loadMarketSet(marketsFile: string | undefined, problems: string[]): MarketSet {
  if (marketsFile === undefined || marketsFile.trim() === '') return defaultMarketSet();
  let text: string;
  try {
    text = readFileSync(marketsFile, 'utf8');
  } catch (error) {
    problems.push(`--markets (MARKETS_FILE): cannot read ${marketsFile}: ${(error as Error).message}`);
    return defaultMarketSet();
  }
  try {
    return parseMarketSetJson(text);
  } catch (error) {
    problems.push(`--markets (MARKETS_FILE) ${marketsFile}: ${(error as Error).message}`);
    return defaultMarketSet();
  }
}

function readThreadLayout(text: string, problems: string[]): ThreadLayout {
  try {
    return parseThreadLayout(text);
  } catch (error) {
    problems.push(`--threads (PIPELINE_THREADS): ${(error as Error).message}`);
    return parseThreadLayout(DEFAULT_THREAD_LAYOUT);
  }
}

/** Parses and validates the configuration; throws a ConfigError listing every problem. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const problems: string[] = [];
  const read = new OptionReader(collectRaw(argv, env, problems), problems);
  const host = read.text('host', CONFIG_DEFAULTS.host);
  const adminToken = readAdminToken(env, problems);
  const marketsFile = read.optionalText('markets');
  const ringCapacity = read.integer('ring-capacity', CONFIG_DEFAULTS.ringCapacity, CONFIG_RANGES.ringCapacity);
  if (!isPowerOfTwo(ringCapacity)) problems.push(`--ring-capacity (RING_CAPACITY) must be a power of two, got ${ringCapacity}`);
  const coreLimits = readCoreLimits(read, problems);
  const threads = readThreadLayout(read.text('threads', DEFAULT_THREAD_LAYOUT), problems);
  const dataDir = read.text('data', CONFIG_DEFAULTS.dataDir);
  const wal: WalOptions = {
    batchRecordsMax: read.integer('wal-batch-records', CONFIG_DEFAULTS.walBatchRecords, CONFIG_RANGES.walBatchRecords),
    batchDelayMs: read.integer('wal-batch-delay-ms', CONFIG_DEFAULTS.walBatchDelayMs, CONFIG_RANGES.walBatchDelayMs),
    segmentBytesMax: read.integer('wal-segment-bytes', CONFIG_DEFAULTS.walSegmentBytes, CONFIG_RANGES.walSegmentBytes),
    durability: read.choice('fsync', CONFIG_DEFAULTS.fsync, FSYNC_MODES),
  };
  // The WAL's own rules on top of the ranges (e.g. a batch must fit in a segment).
  const { batchRecordsMax, segmentBytesMax, durability } = wal;
  problems.push(...validateWalConfig(walConfig(dataDir, { batchRecordsMax, segmentBytesMax, durability })));
  const config: ServerConfig = {
    host,
    port: read.integer('port', CONFIG_DEFAULTS.port, CONFIG_RANGES.port),
    dataDir,
    marketSet: loadMarketSet(marketsFile, problems),
    wal,
    ringCapacity,
    threads,
    coreLimits,
    closedOrdersMax: read.integer('closed-orders-max', CONFIG_DEFAULTS.closedOrdersMax, CONFIG_RANGES.closedOrdersMax),
    tradesMax: read.integer('trades-max', CONFIG_DEFAULTS.tradesMax, CONFIG_RANGES.tradesMax),
    bookDepthMax: read.integer('book-depth-max', CONFIG_DEFAULTS.bookDepthMax, CONFIG_RANGES.bookDepthMax),
    bodyLimitBytes: read.integer('body-limit-bytes', CONFIG_DEFAULTS.bodyLimitBytes, CONFIG_RANGES.bodyLimitBytes),
    logLevel: read.choice('log-level', CONFIG_DEFAULTS.logLevel, LOG_LEVELS),
    repair: read.flag('repair'),
    snapshots: {
      everyRecords: read.integer('snapshot-every-records', CONFIG_DEFAULTS.snapshotEveryRecords, CONFIG_RANGES.snapshotEveryRecords),
      everyMs: read.integer('snapshot-every-minutes', CONFIG_DEFAULTS.snapshotEveryMinutes, CONFIG_RANGES.snapshotEveryMinutes) * 60_000,
      keep: read.integer('snapshot-keep', CONFIG_DEFAULTS.snapshotKeep, CONFIG_RANGES.snapshotKeep),
      walRetention: read.choice('wal-retention', CONFIG_DEFAULTS.walRetention, WAL_RETENTION_MODES),
    },
  };
  if (adminToken !== undefined) config.adminToken = adminToken;
  if (marketsFile !== undefined && marketsFile.trim() !== '') config.marketsFile = marketsFile;
  const exposure = adminExposureProblem(host, adminToken);
  if (exposure !== undefined) problems.push(exposure);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
