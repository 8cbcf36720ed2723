/**
 * One crash scenario: a run directory, the real server (restarted as often as the test likes, on
 * the same port and data), a keep-alive client, the model of everything sent, and the checks to
 * run after each restart and at the end (full check, graceful stop, digest == replay digest).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { replay } from '../../../src/cli/replay.ts';
import { defaultMarketSet } from '../../../src/domain/markets.ts';
import { HttpClient } from './http_client.ts';
import { fundAccounts, runLoad } from './load.ts';
import type { LoadMix, StopFlag } from './load.ts';
import { ExchangeModel } from './model.ts';
import type { RunDirectory, ServerExit, ServerOptions } from './server_process.ts';
import { REPO_ROOT, ServerProcess, crashRunDirectory, freePort, sleep } from './server_process.ts';
import type { VerifyReport } from './verify.ts';
import { verifyServer } from './verify.ts';
import type { WalCheck } from './wal_oracle.ts';
import { checkWal } from './wal_oracle.ts';

/** Cycles of the long-running tests: CRASH_CYCLES (npm run test:crash sets 200), 5 in CI. */
export function crashCycles(fallback = 5): number {
  const text = process.env['CRASH_CYCLES'];
  if (text === undefined || text === '') return fallback;
  const cycles = Number(text);
  if (!Number.isSafeInteger(cycles) || cycles < 1 || cycles > 100_000) throw new Error(`CRASH_CYCLES must be a positive integer, got "${text}"`);
  return cycles;
}

/** The base seed (CRASH_SEED), printed by every test so that a failure names it. */
export function crashSeed(): number {
  const text = process.env['CRASH_SEED'];
  return text === undefined || text === '' ? 20_240_607 : Number(text) >>> 0;
}

/**
 * Extra server settings for a whole run, `CRASH_SERVER_ENV_EXTRA="NAME=value,NAME=value"`: e.g.
 * SNAPSHOT_EVERY_RECORDS=500 puts snapshot recovery under the same crashes.
 */
function extraServerEnv(): Record<string, string> {
  const text = process.env['CRASH_SERVER_ENV_EXTRA'] ?? '';
  const env: Record<string, string> = {};
  for (const pair of text.split(',').filter((part) => part.trim() !== '')) {
    const match = /^\s*([A-Z][A-Z0-9_]*)=(.*?)\s*$/.exec(pair);
    if (match === null) throw new Error(`CRASH_SERVER_ENV_EXTRA: "${pair}" is not NAME=value`);
    env[match[1]!] = match[2]!;
  }
  return env;
}

/** Server settings of every crash test: small segments (rotation happens), room to look everything up. */
export const CRASH_SERVER_ENV: Readonly<Record<string, string>> = {
  WAL_SEGMENT_BYTES: String(2 * 1024 * 1024),
  CLOSED_ORDERS_MAX: '5000000',
  BOOK_DEPTH_MAX: '100000',
  LOG_LEVEL: 'info',
  ...extraServerEnv(),
};

export interface HarnessOptions {
  name: string;
  seed: number;
  accounts: number;
  clients: number;
  mix?: LoadMix;
  env?: Record<string, string>;
}

export interface CycleReport {
  cycle: number;
  loadMs: number;
  acked: number;
  inFlight: number;
  wal: Pick<WalCheck, 'lastSeq' | 'records' | 'inFlightApplied' | 'inFlightAbsent'> & { tornBytes: number };
  verify: VerifyReport;
}

export class CrashHarness {
  readonly run: RunDirectory;
  readonly model: ExchangeModel;
  server: ServerProcess | null = null;
  http: HttpClient | null = null;
  /** Where the log ended at the last check: records after it belong to the current cycle. */
  walLastSeq = 0;
  readonly reports: CycleReport[] = [];
  private port = 0;

  constructor(readonly options: HarnessOptions) {
    this.run = crashRunDirectory(options.name);
    // Account ids spread over the whole range, the largest one included.
    const accounts = Array.from({ length: options.accounts }, (_, index) => (index === 0 ? 4_294_967_295 : 1000 + index * 7919));
    this.model = new ExchangeModel(accounts);
  }

  async start(extra: Partial<ServerOptions> = {}): Promise<ServerProcess> {
    const env = { ...CRASH_SERVER_ENV, ...(this.options.env ?? {}), ...(extra.env ?? {}) };
    for (let attempt = 1; ; attempt++) {
      if (this.port === 0) this.port = await freePort();
      const logFile = this.run.nextLogFile();
      try {
        this.server = await ServerProcess.start({ dataDir: this.run.dataDir, port: this.port, logFile, ...extra, env });
        break;
      } catch (error) {
        // Someone took the port between two starts: take another one.
        if (attempt >= 5 || !String((error as Error).message).includes('EADDRINUSE')) throw error;
        this.port = 0;
      }
    }
    this.http?.close();
    this.http = new HttpClient({ port: this.port, maxSockets: this.options.clients + 8 });
    return this.server;
  }

  client(): HttpClient {
    if (this.http === null) throw new Error('no server started');
    return this.http;
  }

  async fund(): Promise<void> {
    await fundAccounts(this.client(), this.model, this.model.accounts);
  }

  /** Runs the load until `stop` is set or the server dies. */
  load(stop: StopFlag, cycle: number): Promise<void> {
    return runLoad({
      http: this.client(),
      model: this.model,
      seed: (this.options.seed ^ (cycle * 2_654_435_761)) >>> 0,
      clients: this.options.clients,
      stop,
      tag: `c${cycle}`,
      ...(this.options.mix === undefined ? {} : { mix: this.options.mix }),
    });
  }

  /**
   * Load, then SIGKILL after `killAfterMs` while the load runs; returns how long the load ran.
   * With `terminateFirstMs`, a graceful SIGTERM comes first and the SIGKILL that long after it, in
   * the middle of the drain (or after a stop that was quicker).
   */
  async loadAndKill(cycle: number, killAfterMs: number, terminateFirstMs?: number): Promise<number> {
    const stop: StopFlag = { stopped: false };
    const started = performance.now();
    const load = this.load(stop, cycle);
    await sleep(killAfterMs);
    if (terminateFirstMs !== undefined) {
      this.server!.child.kill('SIGTERM');
      await sleep(terminateFirstMs);
    }
    await this.server!.kill9();
    stop.stopped = true;
    await load;
    this.http!.close();
    return performance.now() - started;
  }

  /**
   * A second crash while the server is still starting (recovering, cutting a torn tail, spawning
   * its workers): SIGKILL `delayMs` after the spawn. Returns whether it was still starting.
   */
  async crashDuringStartup(delayMs: number): Promise<boolean> {
    if (this.port === 0) this.port = await freePort();
    const env = { ...CRASH_SERVER_ENV, ...(this.options.env ?? {}) };
    const server = await ServerProcess.start({ dataDir: this.run.dataDir, port: this.port, logFile: this.run.nextLogFile(), env, noWait: true });
    await sleep(delayMs);
    const starting = server.exited === null && !server.logText().includes('listening on');
    await server.kill9();
    return starting;
  }

  /** Reads the WAL against the history (server down). */
  checkWal(): WalCheck {
    const check = checkWal(this.model, this.run.dataDir, this.walLastSeq);
    this.walLastSeq = check.lastSeq;
    return check;
  }

  async verify(wal: WalCheck, full: boolean, cycle: number): Promise<VerifyReport> {
    // Between restarts a sample of the older orders; `full` (the end of a test) checks them all.
    return verifyServer({
      http: this.client(), model: this.model, wal, full, seed: (this.options.seed + cycle * 31) >>> 0, oldOrderSample: 150, retrySample: 50,
    });
  }

  /** The cycle after a crash: WAL check, restart, API check. */
  async recover(cycle: number, loadMs: number, full = false, extra: Partial<ServerOptions> = {}): Promise<CycleReport> {
    const acked = this.model.stats.acked;
    const wal = this.checkWal();
    await this.start(extra);
    const verify = await this.verify(wal, full, cycle);
    const report: CycleReport = {
      cycle,
      loadMs: Math.round(loadMs),
      acked,
      inFlight: this.model.cycle.inFlight.length,
      wal: { lastSeq: wal.lastSeq, records: wal.records, inFlightApplied: wal.inFlightApplied, inFlightAbsent: wal.inFlightAbsent, tornBytes: wal.tornTail?.bytes ?? 0 },
      verify,
    };
    this.reports.push(report);
    return report;
  }

  /**
   * The end: a full check, then a graceful stop — with `loadMs`, in the middle of that much load —
   * and the digest it logs against the replay digest. Under load, every command the stop let in
   * must have been answered: the WAL may hold no record of a request that got no answer.
   */
  async finish(cycle: number, loadMs = 0): Promise<{ digest: string; exit: ServerExit; replayDigest: string | null }> {
    const wal = this.checkWal();
    const verify = await this.verify(wal, true, cycle);
    this.reports.push({
      cycle, loadMs: 0, acked: this.model.stats.acked, inFlight: 0,
      wal: { lastSeq: wal.lastSeq, records: wal.records, inFlightApplied: wal.inFlightApplied, inFlightAbsent: wal.inFlightAbsent, tornBytes: 0 },
      verify,
    });
    this.model.beginCycle();
    const stop: StopFlag = { stopped: false };
    const load = loadMs > 0 ? this.load(stop, cycle + 1) : Promise.resolve();
    await sleep(loadMs);
    const stopped = await this.server!.terminate();
    stop.stopped = true;
    await load;
    this.http?.close();
    if (stopped.code !== 0 || stopped.digest === null) {
      throw new Error(`graceful stop failed (${JSON.stringify(stopped)}):\n${this.server!.logTail()}`);
    }
    const last = this.checkWal();
    const applied = last.inFlightApplied.places + last.inFlightApplied.funding + last.inFlightApplied.cancels;
    if (applied > 0) this.model.violation(`the graceful stop applied ${applied} commands without answering them: ${JSON.stringify(last.inFlightApplied)}`);
    const replayed = replay({ dataDir: this.run.dataDir, verifyOnly: false, json: true, marketSet: defaultMarketSet() });
    return { digest: stopped.digest, exit: stopped, replayDigest: replayed.digest };
  }

  summary(): Record<string, unknown> {
    const stats = this.model.stats;
    const told = [...this.model.orders.values()].filter((order) => order.told).length;
    return {
      seed: this.options.seed,
      requests: stats.requests,
      acknowledged: stats.acked,
      acknowledgedOrders: told,
      ordersKnown: this.model.orders.size,
      clientOrderIds: this.model.clientKeys.size,
      fundingAcknowledged: stats.fundingAcked,
      cancelsAcknowledged: stats.cancelsAcked,
      retriesAnswered200: stats.retriesAnswered200,
      inFlightAtCrash: this.reports.reduce((sum, report) => sum + report.inFlight, 0),
      inFlightApplied: this.reports.reduce(
        (sum, report) => sum + report.wal.inFlightApplied.places + report.wal.inFlightApplied.funding + report.wal.inFlightApplied.cancels,
        0,
      ),
      unavailable503: stats.unavailable503,
      walRecords: this.walLastSeq,
      violations: this.model.violations.length,
    };
  }

  async close(passed: boolean): Promise<void> {
    this.http?.close();
    if (this.server !== null && this.server.exited === null) await this.server.kill9();
    if (!passed) console.error(`crash test ${this.options.name} failed: its run directory is kept at ${this.run.dir}`);
    else if (process.env['CRASH_KEEP_RUNS'] === '1') console.log(`crash test ${this.options.name}: run directory kept at ${this.run.dir}`);
    else this.run.remove();
  }
}

/** `npm run replay -- --data DIR --json` as a user runs it; returns the parsed JSON. */
export async function replayCommand(dataDir: string): Promise<{ digest: string | null; lastSeq: number; invariantsOk: boolean }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/replay.ts', '--data', dataDir, '--json'], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}
