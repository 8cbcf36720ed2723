/**
 * What the benchmark sections share: progress lines on stderr, a temp directory on a real disk,
 * explicit garbage collection, percentiles, machine facts, and stopping child processes.
 *
 * Figures go to the runner (bench/run.ts) as return values; everything a human watches while a
 * section runs goes to stderr, so stdout carries only the final table.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OPTION_ENV } from '../src/cli/config.ts';

/** The repository root: the nearest directory above this module with a package.json (also from a compiled copy). */
export const REPO_ROOT = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`bench: no package.json above ${start}`);
  }
}

/** True when this code runs compiled (the profiling build) rather than as TypeScript through tsx. */
export const RUNNING_COMPILED = import.meta.url.endsWith('.js');

/** Node arguments that run a bench/ module: through tsx, or its compiled sibling. */
export function benchModuleArgs(name: string): string[] {
  return RUNNING_COMPILED
    ? [fileURLToPath(new URL(`./${name}.js`, import.meta.url))]
    : ['--import', 'tsx', fileURLToPath(new URL(`./${name}.ts`, import.meta.url))];
}

/**
 * Runs one measurement in a fresh process: the bench module `name` is started with `flag` and the
 * JSON `request`, and what it printed as JSON on its last stdout line is returned. A measurement of
 * something a user runs cold (a restart after a crash, `npm run replay`) is taken so: nothing
 * compiled yet, and none of the benchmark process's own heap (a recorded flow, cores it dropped)
 * in its way. The child times itself; its own start is not counted.
 */
export function inFreshProcess<T>(name: string, flag: string, request: unknown): T {
  const child = spawnSync(process.execPath, [...benchModuleArgs(name), flag, JSON.stringify(request)], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (child.status !== 0) throw new Error(`bench: the ${name} ${flag} child failed (status ${child.status}):\n${child.stderr}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** The child's side of `inFreshProcess`: the request after `flag` on its command line, or undefined when it is not such a child. */
export function freshProcessRequest<T>(flag: string): T | undefined {
  const at = process.argv.indexOf(flag);
  return at < 0 ? undefined : (JSON.parse(process.argv[at + 1]!) as T);
}

/** The sections of `npm run bench`, in the order they run; each runs in its own process (section_child.ts). */
export const SECTIONS = ['engine', 'core', 'wal', 'ring', 'pipeline', 'http', 'snapshot'] as const;
export type SectionName = (typeof SECTIONS)[number];

/** What a section process sends back to the runner. */
export type SectionMessage = { ok: true; result: unknown } | { ok: false; error: string };

const startedAt = performance.now();

/** One progress line on stderr, stamped with the seconds since the process started. */
export function progress(message: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${seconds}s] ${message}\n`);
}

export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function megabytes(bytes: number): number {
  return bytes / 1_048_576;
}

export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) {
    exposed();
    return;
  }
  // Without --expose-gc: switch the flag on at runtime and fetch gc from a fresh context.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The q-quantile (0..1) of values sorted ascending, nearest rank. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Percentiles of the first `count` latencies of `values` (sorted in place). */
export function summarizeLatencies(values: Float64Array, count: number): LatencySummary {
  const sorted = values.subarray(0, count).sort();
  let sum = 0;
  for (let index = 0; index < count; index += 1) sum += sorted[index]!;
  return {
    count,
    p50Ms: quantileOfSorted(sorted, 0.5),
    p99Ms: quantileOfSorted(sorted, 0.99),
    p999Ms: quantileOfSorted(sorted, 0.999),
    maxMs: count === 0 ? NaN : sorted[count - 1]!,
    meanMs: count === 0 ? NaN : sum / count,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The machine's CPU time so far from /proc/stat (clock ticks, all CPUs): the total, and what the hypervisor took (steal). Null where there is no /proc/stat. */
export interface CpuTimes {
  total: number;
  steal: number;
}

export function cpuTimes(): CpuTimes | null {
  try {
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice": guest time is already in user and nice.
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 8 || fields.some((value) => !Number.isFinite(value))) return null;
    return { total: fields.reduce((sum, value) => sum + value, 0), steal: fields[7]! };
  } catch {
    return null;
  }
}

/**
 * The share of the machine's CPU time between two readings that the hypervisor gave to someone
 * else (steal), in percent; null when unknown. A benchmark that ran under heavy steal measured
 * the host's neighbours as much as this code.
 */
export function stealPercent(from: CpuTimes | null, to: CpuTimes | null): number | null {
  if (from === null || to === null || to.total <= from.total) return null;
  return (100 * (to.steal - from.steal)) / (to.total - from.total);
}

/**
 * The machine's memory latency right now: ns per dependent load, following one random cycle through
 * 32 MB (Sattolo's shuffle), about half a second. The core's state machines are bound by this kind
 * of access (hash tables, order slots). Recorded so that runs can be compared: on 2026-11-22 two
 * full runs an hour apart differed by ~2× in the core with CPU steal under 7% in the slow one and a
 * plain arithmetic loop equally fast in both; whether memory latency is what moved is what this
 * probe is there to show from now on.
 */
export function memoryLatencyNs(): number {
  const entries = 1 << 23;
  const next = new Uint32Array(entries);
  for (let index = 0; index < entries; index += 1) next[index] = index;
  let seed = 0x9e3779b9;
  for (let index = entries - 1; index > 0; index -= 1) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const other = seed % index; // < index: one single cycle through every entry
    const swap = next[index]!;
    next[index] = next[other]!;
    next[other] = swap;
  }
  const steps = 2_000_000;
  let at = 0;
  const started = performance.now();
  for (let step = 0; step < steps; step += 1) at = next[at]!;
  const elapsedNs = (performance.now() - started) * 1e6;
  if (at >= entries) throw new Error('memoryLatencyNs: left the table');
  return elapsedNs / steps;
}

/** CPU model and core count, as the README's benchmark section reports them. */
export function machineFacts(): { node: string; cpus: number; cpuModel: string; loadAverage: number[] } {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    if (line !== undefined) cpuModel = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() it is.
  }
  return { node: process.version, cpus: os.availableParallelism(), cpuModel, loadAverage: os.loadavg() };
}

/** True when `dir` is on tmpfs/ramfs (the longest matching mount point in /proc/mounts). */
export function isTmpfs(dir: string): boolean {
  let mounts: string;
  try {
    mounts = fs.readFileSync('/proc/mounts', 'utf8');
  } catch {
    return false; // not Linux: assume a real disk
  }
  const real = fs.realpathSync(dir);
  let best = '';
  let bestType = '';
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (mountPoint === undefined || type === undefined) continue;
    const prefix = mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`;
    if ((real === mountPoint || real.startsWith(prefix)) && mountPoint.length >= best.length) {
      best = mountPoint;
      bestType = type;
    }
  }
  return bestType === 'tmpfs' || bestType === 'ramfs';
}

/**
 * A fresh directory under the repository's data/bench-tmp/ (the disk the server's data lives on,
 * git-ignored). fsync on tmpfs would measure nothing, so a tmpfs there is refused. The directory
 * is removed by removeDir, or when the process exits or is interrupted.
 */
export function benchTempDir(prefix: string): string {
  const base = path.join(REPO_ROOT, 'data', 'bench-tmp');
  fs.mkdirSync(base, { recursive: true });
  if (isTmpfs(base)) throw new Error(`bench: ${base} is on tmpfs; fsync figures would be meaningless`);
  const dir = fs.mkdtempSync(path.join(base, prefix));
  installCleanupHooks();
  ownedDirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  ownedDirs.delete(dir);
}

/** Peak resident set size of a live process (VmHWM), in MB; undefined when it cannot be read. */
export function processPeakRssMb(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** This process's peak RSS so far, in MB (resourceUsage reports kilobytes). */
export function ownPeakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export const CHILD_STOP_TIMEOUT_MS = 30_000;

/** SIGTERM, then SIGKILL when the child has not exited within `timeoutMs`. Resolves on exit. */
export async function stopChild(child: ChildProcess, timeoutMs = CHILD_STOP_TIMEOUT_MS): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  progress(`child ${child.pid} did not stop within ${timeoutMs} ms: SIGKILL`);
  child.kill('SIGKILL');
  return exited;
}

/**
 * What this process must not leave behind: children it started (killed with SIGKILL,
 * synchronously) and temp directories it made, on exit for any reason and on SIGINT/SIGTERM.
 */
const ownedChildren = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let cleanupHooksInstalled = false;

export function ownChild(child: ChildProcess): ChildProcess {
  installCleanupHooks();
  ownedChildren.add(child);
  child.once('exit', () => ownedChildren.delete(child));
  return child;
}

function installCleanupHooks(): void {
  if (cleanupHooksInstalled) return;
  cleanupHooksInstalled = true;
  process.once('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanUp();
      process.exit(130);
    });
  }
}

function cleanUp(): void {
  for (const child of ownedChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const dir of ownedDirs) fs.rmSync(dir, { recursive: true, force: true });
  ownedDirs.clear();
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The last `lines` lines of a log file ('(no log)' when there is none). */
export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** CPU ticks (user + system, all threads) of a live process, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  return cpuSecondsOf(`/proc/${pid}/stat`);
}

export function cpuSecondsOf(statFile: string): number {
  try {
    const stat = fs.readFileSync(statFile, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Node arguments of the real server: `npm start`'s command (src/boot/start.mjs). */
export const SERVER_NODE_ARGS: readonly string[] = [path.join(REPO_ROOT, 'src/boot/start.mjs')];

/**
 * The environment of a real server started by a benchmark: every server option at its default (none
 * of this process's configuration leaks in), listening on 127.0.0.1:`port`, its data in `dataDir`.
 */
export function serverEnv(port: number, dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.values(OPTION_ENV)) delete env[name];
  delete env['ADMIN_TOKEN'];
  delete env['NODE_OPTIONS'];
  env['HOST'] = '127.0.0.1';
  env['PORT'] = String(port);
  env['DATA_DIR'] = dataDir;
  return env;
}
