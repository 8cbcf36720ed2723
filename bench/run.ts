/**
 * `npm run bench`: every benchmark of the project in one run, side by side in one markdown table
 * (stdout), each figure with its target and a pass/miss mark where it has one.
 *
 *   npm run bench                      full run (under 15 minutes on 2 cores)
 *   npm run bench -- --quick           short run (under 3 minutes)
 *   npm run bench -- --json FILE       also write every figure as JSON
 *   npm run bench -- --only a,b        only these sections (engine, core, wal, ring, pipeline, http, snapshot)
 *   npm run bench -- --readme          also put the table into README.md between the bench markers
 *   npm run bench -- --from FILE       the table (and --readme) of an earlier run's JSON, nothing run
 *   npm run bench -- --profile         CPU profiles (node --cpu-prof) of the pipeline benchmark and
 *                                      of the server under HTTP load, from a compiled build with
 *                                      source maps, summarized per thread with file:line
 *
 * Each section runs in a process of its own (bench/section_child.ts); progress goes to stderr.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, SECTIONS, cpuTimes, machineFacts, memoryLatencyNs, progress, stealPercent } from './bench_support.ts';
import type { SectionMessage, SectionName } from './bench_support.ts';
import { formatProfileSummary, profileFiles, summarizeProfile } from './profile_summary.ts';

interface RunOptions {
  quick: boolean;
  jsonFile: string | undefined;
  /** Render the table (and --readme) from a JSON file of an earlier run instead of running. */
  fromFile: string | undefined;
  sections: SectionName[];
  readme: boolean;
  profile: boolean;
}

function parseArgs(argv: readonly string[]): RunOptions {
  const options: RunOptions = { quick: false, jsonFile: undefined, fromFile: undefined, sections: [...SECTIONS], readme: false, profile: false };
  let onlyGiven = false;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--readme') options.readme = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--json' || arg.startsWith('--json=')) {
      const file = arg === '--json' ? argv[++index] : arg.slice('--json='.length);
      if (file === undefined || file === '') throw new Error('--json needs a file name');
      options.jsonFile = file;
    } else if (arg === '--from' || arg.startsWith('--from=')) {
      const file = arg === '--from' ? argv[++index] : arg.slice('--from='.length);
      if (file === undefined || file === '') throw new Error('--from needs a file name');
      options.fromFile = file;
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++index] : arg.slice('--only='.length);
      const names = (list ?? '').split(',').filter((name) => name !== '');
      for (const name of names) {
        if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown section "${name}" (sections: ${SECTIONS.join(', ')})`);
      }
      options.sections = SECTIONS.filter((name) => names.includes(name));
      onlyGiven = true;
    } else {
      throw new Error(`unknown argument "${arg}" (--quick, --json FILE, --only a,b, --readme, --profile, --from FILE)`);
    }
  }
  if (options.profile && !onlyGiven) options.sections = ['pipeline', 'http'];
  if (options.profile && options.sections.some((name) => name !== 'pipeline' && name !== 'http')) {
    throw new Error('--profile profiles the pipeline and http sections only');
  }
  return options;
}

// -------------------------------------------------------------------------------------------------
// Running the sections.

const SECTION_TIMEOUT_MS = { quick: 6 * 60_000, full: 20 * 60_000 };
let currentChild: ChildProcess | undefined;

interface Launch {
  modulePath: string;
  execArgv: string[];
  args: string[];
}

function launchFor(section: SectionName, options: RunOptions, build: ProfileBuild | undefined): Launch {
  const args = [section, ...(options.quick ? ['--quick'] : [])];
  if (build === undefined) {
    return { modulePath: fileURLToPath(new URL('./section_child.ts', import.meta.url)), execArgv: ['--import', 'tsx', '--expose-gc'], args };
  }
  const modulePath = path.join(build.outDir, 'bench', 'section_child.js');
  if (section === 'pipeline') {
    return { modulePath, execArgv: ['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${path.join(build.profileDir, 'pipeline')}`], args };
  }
  const serverArgs = ['--cpu-prof', `--cpu-prof-dir=${path.join(build.profileDir, 'server')}`, path.join(build.outDir, 'src', 'cli', 'server.js')];
  return { modulePath, execArgv: ['--expose-gc'], args: [...args, '--server-node-args', JSON.stringify(serverArgs)] };
}

function runSection(section: SectionName, options: RunOptions, build: ProfileBuild | undefined): Promise<unknown> {
  const launch = launchFor(section, options, build);
  return new Promise((resolve, reject) => {
    // The section's own console output is progress too: stdout of the child goes to our stderr.
    const child = fork(launch.modulePath, launch.args, { execArgv: launch.execArgv, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    currentChild = child;
    child.stdout!.pipe(process.stderr);
    let message: SectionMessage | undefined;
    child.on('message', (received: SectionMessage) => (message = received));
    const timeoutMs = options.quick ? SECTION_TIMEOUT_MS.quick : SECTION_TIMEOUT_MS.full;
    const timer = setTimeout(() => {
      progress(`${section}: no result after ${timeoutMs / 1000} s, stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      currentChild = undefined;
      if (message?.ok === true) resolve(message.result);
      else if (message?.ok === false) reject(new Error(message.error));
      else reject(new Error(`section process exited (${signal ?? code}) without a result`));
    });
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The section process stops its own children (servers) on SIGTERM.
    currentChild?.kill('SIGTERM');
    process.exit(130);
  });
}

// -------------------------------------------------------------------------------------------------
// Profiling build.

interface ProfileBuild {
  outDir: string;
  profileDir: string;
}

function buildForProfiling(): ProfileBuild {
  const root = path.join(REPO_ROOT, 'data', 'bench-tmp');
  const outDir = path.join(root, 'build');
  const profileDir = path.join(root, `profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.rmSync(outDir, { recursive: true, force: true });
  progress(`profile: compiling to ${outDir} (tsc, with source maps, so profiles map to file:line)`);
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', path.join(REPO_ROOT, 'tsconfig.json'), '--noEmit', 'false', '--outDir', outDir, '--rewriteRelativeImportExtensions', '--sourceMap'],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  // tsc emits even with type errors elsewhere in the tree; what matters is that our entry points exist.
  if (result.status !== 0) progress(`profile: tsc reported problems (emitted anyway):\n${result.stdout.split('\n').slice(0, 10).join('\n')}`);
  // tsc does not emit the plain .mjs launcher modules; `npm run build` copies them the same way.
  fs.cpSync(path.join(REPO_ROOT, 'src', 'boot'), path.join(outDir, 'src', 'boot'), { recursive: true });
  for (const entry of ['bench/section_child.js', 'src/cli/server.js', 'src/pipeline/stage_worker.js', 'src/boot/source_bundle.mjs']) {
    if (!fs.existsSync(path.join(outDir, entry))) throw new Error(`profile: the build has no ${entry}`);
  }
  fs.mkdirSync(profileDir, { recursive: true });
  return { outDir, profileDir };
}

function summarizeProfiles(build: ProfileBuild): void {
  for (const name of ['pipeline', 'server']) {
    const dir = path.join(build.profileDir, name);
    if (!fs.existsSync(dir)) continue;
    // The pipeline benchmark records its flow before it starts the pipeline: not what is profiled.
    const exclude = name === 'pipeline' ? /bench\/recorded_flow\./ : undefined;
    const summaries = profileFiles(dir).map((file) => formatProfileSummary(summarizeProfile(file, 20, exclude)));
    const text = `# ${name}\n${summaries.join('\n\n')}\n`;
    fs.writeFileSync(path.join(build.profileDir, `${name}-summary.txt`), text);
    process.stderr.write(`\n${text}`);
  }
  progress(`profile: profiles and summaries in ${build.profileDir} (open a .cpuprofile in Chrome DevTools for the full picture)`);
}

// -------------------------------------------------------------------------------------------------
// The report.

type Report = Record<string, unknown> & { errors: Record<string, string> };

interface Target {
  text: string;
  passes: (value: number, report: Report) => boolean;
}

interface Row {
  section: string;
  figure: string;
  /** Dotted path of the number in the report (JSON); undefined for a text-only row. */
  path?: string;
  format: (value: number, report: Report) => string;
  target?: Target;
  /** Which section's failure blanks the row. */
  source: SectionName;
}

function get(report: Report, dotted: string): unknown {
  let value: unknown = report;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function getNumber(report: Report, dotted: string): number {
  const value = get(report, dotted);
  return typeof value === 'number' ? value : NaN;
}

const integer = (unit: string) => (value: number): string => `${Math.round(value).toLocaleString('en-US')} ${unit}`;
const milliseconds = (value: number): string => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
const megabytesText = (value: number): string => `${value.toFixed(0)} MB`;
const times = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)}×`;
const atLeast = (minimum: number, text: string): Target => ({ text, passes: (value) => value >= minimum });
const atMost = (maximum: number, text: string): Target => ({ text, passes: (value) => value <= maximum });

function latencies(report: Report, prefix: string): string {
  const at = (key: string): string => milliseconds(getNumber(report, `${prefix}.${key}`));
  return `p50 ${at('p50Ms')} · p99 ${at('p99Ms')} · p99.9 ${at('p999Ms')}`;
}

function segmentRows(report: Report, layoutKey: 'default' | 'alternative' | 'withoutSnapshots'): Row[] {
  const segments = get(report, `pipeline.${layoutKey}.segments`);
  if (!Array.isArray(segments)) return [];
  const label = String(get(report, `pipeline.${layoutKey}.label`));
  const layout = `${String(get(report, `pipeline.${layoutKey}.layout`))}${label.includes('snapshots off') ? ', snapshots off' : ''}`;
  return segments.map((segment: { mode: string; window: number; ratePerSec: number }, index) => ({
    section: 'Pipeline',
    figure:
      segment.mode === 'window'
        ? `${layout}: ${segment.window.toLocaleString('en-US')} in flight`
        : `${layout}: fixed ${segment.ratePerSec.toLocaleString('en-US')} commands/s`,
    path: `pipeline.${layoutKey}.segments.${index}.commandsPerSec`,
    format: (value, full) => {
      const behind = segment.mode === 'rate' && value < 0.95 * segment.ratePerSec ? ' (could not keep up)' : '';
      const at = `pipeline.${layoutKey}.segments.${index}`;
      const cpu = `; process CPU ${getNumber(full, `${at}.cpuCores`).toFixed(2)} cores, main thread ${(getNumber(full, `${at}.mainThreadUtilization`) * 100).toFixed(0)}% busy`;
      return `${integer('commands/s')(value)}${behind}; ${latencies(full, at)}${cpu}`;
    },
    source: 'pipeline',
  }));
}

/** Restart time with a long log: from the newest snapshot (the default policy's worst case) and by full replay. */
function snapshotRows(report: Report): Row[] {
  const records = getNumber(report, 'snapshot.records');
  const everyRecords = getNumber(report, 'snapshot.everyRecords');
  const count = (value: number): string => (Number.isNaN(value) ? '?' : Math.round(value).toLocaleString('en-US'));
  const seconds = (value: number): string => `${(value / 1000).toFixed(2)} s`;
  const restartText = (at: string) => (value: number, full: Report): string =>
    `${seconds(value)} (cpu ${seconds(getNumber(full, `${at}.restartCpuMs`))}): snapshot load ${seconds(getNumber(full, `${at}.snapshotLoadMs`))} + ${count(getNumber(full, `${at}.tailRecords`))} records`;
  const restarts = get(report, 'snapshot.restarts');
  const others: Row[] = (Array.isArray(restarts) ? (restarts as { everyRecords: number }[]) : [])
    .map((restart, index) => ({ restart, index }))
    .filter(({ restart }) => restart.everyRecords !== everyRecords)
    .map(({ restart, index }) => ({
      section: 'Snapshot',
      figure: `restart, same log, a snapshot every ${count(restart.everyRecords)} records (worst case)`,
      path: `snapshot.restarts.${index}.restartMs`,
      format: restartText(`snapshot.restarts.${index}`),
      source: 'snapshot' as const,
    }));
  return [
    {
      section: 'Snapshot',
      figure: `restart with ${count(records)} records in the log, from the newest snapshot (default policy: every ${count(everyRecords)} records, worst case)`,
      path: 'snapshot.restartMs',
      format: restartText('snapshot'),
      // The issue's target is for a 10,000,000-record log: the quick run's 1,000,000 shows no mark.
      ...(records >= 10_000_000 ? { target: atMost(3_000, '≤ 3 s') } : {}),
      source: 'snapshot',
    },
    {
      section: 'Snapshot',
      figure: 'the real server (npm start) on that log and snapshot: spawn until /health is 200 (adds process start, stage workers, listener)',
      path: 'snapshot.serverStartMs',
      format: (value, full) => {
        const phases = ['boot', 'recovery', 'workers', 'listen'].map((phase) => `${phase} ${seconds(getNumber(full, `snapshot.serverStartupMs.${phase}`))}`);
        return `${seconds(value)} (process cpu ${seconds(getNumber(full, 'snapshot.serverStartCpuMs'))}; by the server's log: ${phases.join(', ')})`;
      },
      ...(records >= 10_000_000 ? { target: atMost(3_000, '≤ 3 s') } : {}),
      source: 'snapshot',
    },
    ...others,
    {
      section: 'Snapshot',
      figure: `restart with ${count(records)} records in the log, by full replay (no snapshot)`,
      path: 'snapshot.fullReplayMs',
      format: (value, full) =>
        get(full, 'snapshot.fullReplayExtrapolated') === true
          ? `${seconds(value)} EXTRAPOLATED from ${count(getNumber(full, 'snapshot.fullReplayMeasuredRecords'))} records measured in ${seconds(getNumber(full, 'snapshot.fullReplayMeasuredMs'))}`
          : `${seconds(value)} (cpu ${seconds(getNumber(full, 'snapshot.fullReplayMeasuredCpuMs'))})`,
      source: 'snapshot',
    },
    {
      section: 'Snapshot',
      figure: 'snapshot size; write time in the worker (encode, verify by decoding and rebuilding, fsync)',
      path: 'snapshot.snapshotMb',
      format: (value, full) => `${value.toFixed(1)} MB; ${seconds(getNumber(full, 'snapshot.snapshotWriteMs'))}`,
      source: 'snapshot',
    },
  ];
}

function rowsFor(report: Report): Row[] {
  const rows: Row[] = [
    { section: 'Engine', figure: 'mixed flow, our engine', path: 'engine.opsPerSec', format: integer('ops/s'), source: 'engine' },
    { section: 'Engine', figure: 'same flow, nodejs-order-book', path: 'engine.peerOpsPerSec', format: integer('ops/s'), source: 'engine' },
    { section: 'Engine', figure: 'ours ÷ peer', path: 'engine.ratioVsPeer', format: times, target: atLeast(4, '≥ 4×'), source: 'engine' },
    { section: 'Engine', figure: 'deep-level cancel (50,000 deep), ours', path: 'engine.deepCancelsPerSec', format: integer('cancels/s'), target: atLeast(1_000_000, '≥ 1,000,000'), source: 'engine' },
    { section: 'Engine', figure: 'deep-level cancel, peer', path: 'engine.peerDeepCancelsPerSec', format: integer('cancels/s'), source: 'engine' },
    {
      section: 'Core',
      figure: 'sequencer + matching + settlement, one thread, mixed flow',
      path: 'engine.coreOpsPerSec',
      format: integer('commands/s'),
      target: atLeast(1_000_000, '≥ 1,000,000'),
      source: 'core',
    },
    {
      section: 'Core',
      figure: `heap after GC over ${Number(get(report, 'core.heapCommands') ?? 0).toLocaleString('en-US')} commands, bounded book`,
      path: 'core.heapUsedAfterMb',
      format: (_value, full) =>
        `${getNumber(full, 'core.heapUsedBeforeMb').toFixed(1)} → ${getNumber(full, 'core.heapUsedMidMb').toFixed(1)} → ${getNumber(full, 'core.heapUsedAfterMb').toFixed(1)} MB`,
      source: 'core',
    },
    {
      section: 'Core',
      figure: 'heap growth per command (second half)',
      path: 'core.heapGrowthBytesPerCommand',
      format: (value) => `${value.toFixed(3)} B/command`,
      target: atMost(1, 'no growth (< 1 B)'),
      source: 'core',
    },
    { section: 'WAL', figure: 'group commit (4,096 per fdatasync), fsync on', path: 'wal.groupCommitRecordsPerSec', format: integer('records/s'), target: atLeast(1_000_000, '≥ 1,000,000'), source: 'wal' },
    { section: 'WAL', figure: 'one fdatasync per record, same writer', path: 'wal.perRecordFsyncRecordsPerSec', format: integer('records/s'), source: 'wal' },
    { section: 'WAL', figure: 'group commit ÷ per record', path: 'wal.speedup', format: times, target: atLeast(40, '≥ 40×'), source: 'wal' },
    { section: 'WAL', figure: 'replay: read + verify + decode', path: 'wal.replayRecordsPerSec', format: integer('records/s'), source: 'wal' },
    {
      section: 'WAL',
      figure: 'replay through the core: read + verify + decode + apply',
      path: 'wal.replayThroughCoreRecordsPerSec',
      format: integer('records/s'),
      target: atLeast(750_000, '≥ 750,000'),
      source: 'wal',
    },
    { section: 'Ring', figure: 'SPSC ring, one publish per message', path: 'ring.messagesPerSec', format: integer('msgs/s'), source: 'ring' },
    { section: 'Ring', figure: 'SPSC ring, batched publish', path: 'ring.batchedMessagesPerSec', format: integer('msgs/s'), source: 'ring' },
    { section: 'Ring', figure: 'SPSC ring, batched, TradeEvent codec', path: 'ring.codecMessagesPerSec', format: integer('msgs/s'), source: 'ring' },
    { section: 'Ring', figure: 'postMessage of a small object', path: 'ring.postMessagePerSec', format: integer('msgs/s'), source: 'ring' },
    {
      section: 'Pipeline',
      figure: `sustained, default layout, fsync on (best window: ${String(get(report, 'pipeline.window') ?? '?')} in flight)`,
      path: 'pipeline.commandsPerSec',
      format: integer('commands/s'),
      target: atLeast(500_000, '≥ 500,000'),
      source: 'pipeline',
    },
    { section: 'Pipeline', figure: 'latency p50 at that rate, submit → result', path: 'pipeline.p50Ms', format: milliseconds, source: 'pipeline' },
    { section: 'Pipeline', figure: 'latency p99 at that rate', path: 'pipeline.p99Ms', format: milliseconds, target: atMost(5, '≤ 5 ms'), source: 'pipeline' },
    { section: 'Pipeline', figure: 'latency p99.9 at that rate', path: 'pipeline.p999Ms', format: milliseconds, source: 'pipeline' },
    {
      section: 'Pipeline',
      figure: 'latency p99 at a fixed 100,000 commands/s',
      path: 'pipeline.fixedRate.p99Ms',
      format: (value, full) => `${milliseconds(value)} (p50 ${milliseconds(getNumber(full, 'pipeline.fixedRate.p50Ms'))}, p99.9 ${milliseconds(getNumber(full, 'pipeline.fixedRate.p999Ms'))})`,
      target: atMost(5, '≤ 5 ms'),
      source: 'pipeline',
    },
    {
      section: 'Pipeline',
      figure: 'best sustained rate whose p99 ≤ 5 ms',
      path: 'pipeline.commandsPerSecWithinP99Target',
      format: (value) => (value === 0 ? 'none of the windows' : integer('commands/s')(value)),
      source: 'pipeline',
    },
    ...segmentRows(report, 'default'),
    ...segmentRows(report, 'alternative'),
    ...segmentRows(report, 'withoutSnapshots'),
    {
      section: 'Pipeline',
      figure: 'WAL records per fdatasync; fdatasync mean (default layout, whole run)',
      path: 'pipeline.default.recordsPerFsync',
      format: (value, full) => `${value.toFixed(0)}; ${milliseconds(getNumber(full, 'pipeline.default.fsyncMeanMs'))}`,
      source: 'pipeline',
    },
    { section: 'HTTP', figure: `POST /orders, real server, ${String(get(report, 'http.connections') ?? 64)} connections, fsync on`, path: 'http.ordersPerSec', format: integer('orders/s'), source: 'http' },
    { section: 'HTTP', figure: 'no-op route, same schema (ceiling)', path: 'http.ceilingReqPerSec', format: integer('req/s'), source: 'http' },
    { section: 'HTTP', figure: 'real ÷ ceiling', path: 'http.ratio', format: (value) => value.toFixed(2), target: atLeast(0.6, '≥ 0.60'), source: 'http' },
    { section: 'HTTP', figure: 'latency p50, real server', path: 'http.p50Ms', format: milliseconds, source: 'http' },
    { section: 'HTTP', figure: 'latency p99, real server', path: 'http.p99Ms', format: milliseconds, target: atMost(10, '≤ 10 ms'), source: 'http' },
    {
      section: 'HTTP',
      figure: "latency p99, real ÷ the no-op route's p99 (with N closed-loop connections a route's mean latency is N ÷ its req/s)",
      path: 'http.p99Ms',
      format: (value, full) => {
        const ceilingP99 = getNumber(full, 'http.ceiling.p99Ms');
        const ceilingMeanMs = (getNumber(full, 'http.connections') / getNumber(full, 'http.ceilingReqPerSec')) * 1000;
        return `${(value / ceilingP99).toFixed(2)}× (no-op p99 ${milliseconds(ceilingP99)}, no-op mean ${milliseconds(ceilingMeanMs)})`;
      },
      source: 'http',
    },
    { section: 'HTTP', figure: 'latency p99.9, real server', path: 'http.p999Ms', format: milliseconds, source: 'http' },
    {
      section: 'HTTP',
      figure: 'non-2xx replies, real server (503 = load shed)',
      path: 'http.non2xx',
      format: (value, full) => {
        const byStatus = (get(full, 'http.server.byStatus') ?? {}) as Record<string, number>;
        const errors = Object.entries(byStatus).filter(([status]) => !status.startsWith('2'));
        const detail = errors.length === 0 ? '' : ` (${errors.map(([status, count]) => `${count} × ${status}`).join(', ')})`;
        const connectionErrors = getNumber(full, 'http.server.errors');
        const errorText = connectionErrors > 0 ? `; ${connectionErrors} connection errors` : '';
        return `${value.toLocaleString('en-US')} of ${getNumber(full, 'http.server.responses').toLocaleString('en-US')}${detail}${errorText}`;
      },
      target: {
        text: '~0 (≤ 0.1%)',
        passes: (value, full) => value + getNumber(full, 'http.server.errors') <= 0.001 * getNumber(full, 'http.server.responses'),
      },
      source: 'http',
    },
    { section: 'HTTP', figure: 'latency, ceiling', path: 'http.ceiling.p99Ms', format: (_value, full) => latencies(full, 'http.ceiling'), source: 'http' },
    {
      section: 'HTTP',
      figure: 'inside the real server (/metrics): submit → result mean; fdatasync mean; records per fdatasync',
      path: 'http.server.serverMetrics.pipelineLatencyMeanMs',
      format: (value, full) =>
        `${milliseconds(value)}; ${milliseconds(getNumber(full, 'http.server.serverMetrics.fsyncMeanMs'))}; ` +
        `${getNumber(full, 'http.server.serverMetrics.recordsPerFsync').toFixed(1)}`,
      source: 'http',
    },
    {
      section: 'HTTP',
      figure: 'CPU: real server / its load generator (cores)',
      path: 'http.server.serverCpuCores',
      format: (value, full) => `${value.toFixed(2)} / ${getNumber(full, 'http.server.loadGeneratorCpuCores').toFixed(2)}`,
      source: 'http',
    },
    {
      section: 'Memory',
      figure: 'pipeline benchmark process: peak RSS (maxRSS, main + workers)',
      path: 'memory.peakRssMb',
      format: (value, full) => `${megabytesText(value)} (of which the recorded flow ${megabytesText(getNumber(full, 'memory.recordedFlowMb'))})`,
      source: 'pipeline',
    },
    {
      section: 'Memory',
      figure: 'pipeline process: heap used / total after the run',
      path: 'memory.heapUsedMb',
      format: (value, full) => `${value.toFixed(0)} / ${getNumber(full, 'memory.heapTotalMb').toFixed(0)} MB`,
      source: 'pipeline',
    },
    { section: 'Memory', figure: 'HTTP server process: peak RSS (VmHWM)', path: 'memory.serverPeakRssMb', format: megabytesText, source: 'http' },
    ...snapshotRows(report),
  ];
  return rows;
}

function renderTable(report: Report, sections: readonly SectionName[]): string {
  const lines = ['| section | figure | value | target | |', '|---|---|---:|---|:-:|'];
  for (const row of rowsFor(report)) {
    if (!sections.includes(row.source)) continue;
    const value = row.path === undefined ? NaN : getNumber(report, row.path);
    const failed = report.errors[row.source] !== undefined;
    const text = failed ? 'error (see stderr)' : Number.isNaN(value) ? 'n/a' : row.format(value, report);
    let mark = '';
    if (row.target !== undefined) mark = failed || Number.isNaN(value) ? '–' : row.target.passes(value, report) ? '✅ pass' : '❌ miss';
    lines.push(`| ${row.section} | ${row.figure} | ${text} | ${row.target?.text ?? ''} | ${mark} |`);
  }
  return lines.join('\n');
}

/** Section results → the report's shape (the JSON keys the README and the lead rely on). */
function assemble(report: Report, section: SectionName, result: unknown): void {
  const value = result as Record<string, unknown>;
  switch (section) {
    case 'engine':
      report['engine'] = { ...((report['engine'] as object | undefined) ?? {}), ...value };
      break;
    case 'core': {
      report['core'] = value;
      report['engine'] = { ...((report['engine'] as object | undefined) ?? {}), coreOpsPerSec: value['commandsPerSec'] };
      break;
    }
    case 'wal': {
      const replay = value['replayThroughCore'] as { recordsPerSec: number };
      report['wal'] = { ...value, replayThroughCoreRecordsPerSec: replay.recordsPerSec };
      break;
    }
    case 'ring':
      report['ring'] = value;
      break;
    case 'pipeline': {
      const { memory, ...pipeline } = value as { memory: Record<string, number> };
      report['pipeline'] = pipeline;
      report['memory'] = { ...((report['memory'] as object | undefined) ?? {}), ...memory };
      break;
    }
    case 'snapshot':
      report['snapshot'] = value;
      break;
    case 'http': {
      report['http'] = value;
      const server = value['server'] as { serverPeakRssMb?: number };
      report['memory'] = { ...((report['memory'] as object | undefined) ?? {}), serverPeakRssMb: server.serverPeakRssMb };
      break;
    }
  }
}

/** The figures the README and the lead's tooling read: always present, null when their section failed. */
const REQUIRED_KEYS = [
  'engine.opsPerSec',
  'engine.peerOpsPerSec',
  'engine.ratioVsPeer',
  'engine.coreOpsPerSec',
  'engine.deepCancelsPerSec',
  'engine.peerDeepCancelsPerSec',
  'wal.groupCommitRecordsPerSec',
  'wal.perRecordFsyncRecordsPerSec',
  'wal.speedup',
  'wal.replayRecordsPerSec',
  'wal.replayThroughCoreRecordsPerSec',
  'pipeline.commandsPerSec',
  'pipeline.p50Ms',
  'pipeline.p99Ms',
  'pipeline.p999Ms',
  'http.ordersPerSec',
  'http.ceilingReqPerSec',
  'http.ratio',
  'http.p50Ms',
  'http.p99Ms',
  'http.p999Ms',
  'memory.peakRssMb',
  'snapshot.records',
  'snapshot.restartMs',
  'snapshot.fullReplayMs',
];

function fillRequiredKeys(report: Report): void {
  for (const dotted of REQUIRED_KEYS) {
    const keys = dotted.split('.');
    let node = report as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const last = keys[keys.length - 1]!;
    if (typeof node[last] !== 'number') node[last] = null;
  }
}

/** "; CPU steal 3% (engine 1%, core 2%, …)": the share of CPU time the hypervisor took during the run, when the report has it. */
function stealText(report: Report): string {
  const steal = report['cpuStealPercent'] as { run: number | null; bySection: Record<string, number | null> } | undefined;
  if (steal === undefined || steal.run === null) return '';
  const bySection = Object.entries(steal.bySection)
    .filter((entry): entry is [string, number] => entry[1] !== null)
    .map(([section, value]) => `${section} ${value.toFixed(0)}%`);
  return `; CPU time taken by the hypervisor (steal) ${steal.run.toFixed(0)}% over the run (${bySection.join(', ')})`;
}

/** "; memory latency 150 ns at the start, 160 ns at the end", when the report has it. */
function memoryText(report: Report): string {
  const memory = report['memoryLatencyNs'] as { start: number; end: number } | undefined;
  if (memory === undefined) return '';
  return `; memory latency (dependent random loads over 32 MB) ${memory.start.toFixed(0)} ns at the start, ${memory.end.toFixed(0)} ns at the end`;
}

function readmeSection(report: Report, table: string, options: RunOptions): string {
  const loadText = (key: string): string => (report[key] as number[]).map((value) => value.toFixed(2)).join(' ');
  const command = `npm run bench${options.quick ? ' -- --quick' : ''}`;
  return [
    `Measured ${String(report['date']).slice(0, 10)} with \`${command}\` on ${String(report['cpuModel'])}, ${String(report['cpus'])} cores, ` +
      `Node.js ${String(report['node'])}; load average ${loadText('loadAverageStart')} at the start, ${loadText('loadAverageEnd')} at the end` +
      `${stealText(report)}${memoryText(report)}${options.quick ? ' (quick run: fewer iterations)' : ''}.`,
    '',
    table,
    '',
    'Reproduce: `npm run bench` (full run, under 15 minutes on 2 cores), `npm run bench -- --quick` (under 3 minutes),',
    '`npm run bench -- --json FILE` (also writes every figure as JSON), `--only pipeline,http` (some sections),',
    '`--profile` (CPU profiles of the pipeline and of the server under load, summarized with file:line), `--readme` (updates this table),',
    '`--from FILE --readme` (this table from the JSON of an earlier run).',
    'Progress goes to stderr, the table to stdout. Each section runs in a process of its own:',
    '',
    '- **Engine**: the matching engine alone vs nodejs-order-book on the same seeded flow (`bench/engine_bench.ts`).',
    '- **Core**: sequencer + matching + settlement in one thread (`ExchangeCore.submit`) on the recorded mixed flow of',
    '  `bench/flows.ts` (generation not timed); heap after GC before, halfway and after a long run with a bounded book.',
    '- **WAL**: group commit vs one fdatasync per record through the same writer (`bench/wal_bench.ts`); replay through the',
    '  core = `recoverState` on a WAL of the mixed flow (core built, WAL read + verified + decoded, every record applied),',
    '  as start-up and `npm run replay` run it, each run in a fresh process (cold, as the replay command meets it), with',
    '  the WAL read inline and by the reader thread alternately (page cache: the CPU side of recovery).',
    '- **Pipeline**: the real threaded pipeline composed and configured as `npm start` does it (`startServer`, no flags:',
    '  fsync on, data on disk), driven from the main thread with N commands in flight (closed loop) and at a fixed rate',
    '  (open loop); latency is submit → result per command. The same windows with the layout',
    '  `sequencer,wal,matching+settlement` (the previous default); the full run also measures the default with snapshots off.',
    '- **HTTP**: autocannon, 64 connections, distinct limit orders from 1,000 funded accounts, against the real server',
    '  (child process, fsync on) and against a no-op route with the same schema (`bench/noop_server.ts`): both servers run',
    '  side by side and the measured windows alternate between them (ABBA), so both see the same machine; per-round ratios',
    '  and main-thread CPU per reply are in the JSON. Under load (1-minute load average above 1.5) the ratio reads high.',
    '- **Memory**: peak RSS of the pipeline benchmark process and of the HTTP server process under load.',
    '- **Snapshot**: restart (`recoverState`, read models fed, in a fresh process: cold, as after a crash) with a log of',
    '  10,000,000 records of the mixed flow (quick: 1,000,000), from the snapshot one policy interval before its end (the',
    '  worst case) and by full replay; the full run replays the first 1,000,000 records and extrapolates to the whole log',
    '  (labelled). Then the real server (`npm start`) on that log, from spawn to a healthy `/health`, with the phases its',
    '  log reports (`bench/snapshot_bench.ts`).',
    '',
    'On a shared 2-core machine every figure is noisy (the pipeline rows show how much CPU the process actually got):',
    'compare runs made on a quiet machine. The line above the table gives, when the run recorded it, the CPU steal of the run and of each section',
    '(the share of the machine\'s CPU time the hypervisor gave to other guests, from /proc/stat) and the memory latency',
    'at its start and end: figures measured under heavy steal, or with a slow memory probe, say as much about the',
    'neighbours as about this code (the core\'s hash tables and order slots are bound by memory latency).',
  ].join('\n');
}

function updateReadme(section: string): void {
  const file = path.join(REPO_ROOT, 'README.md');
  const text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf('<!-- bench:start -->');
  const end = text.indexOf('<!-- bench:end -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- bench:start --> ... <!-- bench:end --> section');
  const updated = `${text.slice(0, start)}<!-- bench:start -->\n${section}\n${text.slice(end)}`;
  fs.writeFileSync(file, updated);
}

/** --from: the table (and README section) of an earlier run's JSON, without running anything. */
function renderFrom(options: RunOptions, file: string): void {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  report.errors ??= {};
  const sections = (report['sections'] as SectionName[] | undefined) ?? [...SECTIONS];
  const table = renderTable(report, sections);
  process.stdout.write(`${table}\n`);
  if (options.readme) {
    updateReadme(readmeSection(report, table, { ...options, quick: report['quick'] === true }));
    progress('bench: README.md benchmark section updated');
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.fromFile !== undefined) {
    renderFrom(options, options.fromFile);
    return;
  }
  const facts = machineFacts();
  const report: Report = {
    node: facts.node,
    cpus: facts.cpus,
    cpuModel: facts.cpuModel,
    date: new Date().toISOString(),
    quick: options.quick,
    profile: options.profile,
    loadAverageStart: facts.loadAverage,
    sections: options.sections,
    errors: {},
  };
  progress(
    `bench${options.quick ? ' --quick' : ''}: ${options.sections.join(', ')}; node ${facts.node}, ${facts.cpus} CPUs (${facts.cpuModel}), ` +
      `load average ${facts.loadAverage.map((value) => value.toFixed(2)).join(' ')}`,
  );
  const build = options.profile ? buildForProfiling() : undefined;
  const memoryAtStart = memoryLatencyNs();
  progress(`bench: memory latency ${memoryAtStart.toFixed(0)} ns per dependent load (random cycle through 32 MB)`);
  const started = performance.now();
  const cpuAtStart = cpuTimes();
  const stealBySection: Record<string, number | null> = {};
  for (const [index, section] of options.sections.entries()) {
    const sectionStarted = performance.now();
    const cpuAtSectionStart = cpuTimes();
    progress(`── ${section} (${index + 1}/${options.sections.length}) ──`);
    try {
      assemble(report, section, await runSection(section, options, build));
      const steal = stealPercent(cpuAtSectionStart, cpuTimes());
      stealBySection[section] = steal;
      progress(`── ${section} done in ${((performance.now() - sectionStarted) / 1000).toFixed(1)} s${steal === null ? '' : `, CPU steal ${steal.toFixed(0)}%`} ──`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.errors[section] = message;
      progress(`── ${section} FAILED after ${((performance.now() - sectionStarted) / 1000).toFixed(1)} s: ${message}`);
    }
  }
  report['durationSec'] = (performance.now() - started) / 1000;
  report['loadAverageEnd'] = machineFacts().loadAverage;
  report['cpuStealPercent'] = { run: stealPercent(cpuAtStart, cpuTimes()), bySection: stealBySection };
  report['memoryLatencyNs'] = { start: memoryAtStart, end: memoryLatencyNs() };
  if (build !== undefined) summarizeProfiles(build);
  const table = renderTable(report, options.sections);
  process.stdout.write(`${table}\n`);
  progress(`bench: ${(report['durationSec'] as number).toFixed(0)} s in all`);
  fillRequiredKeys(report);
  if (options.jsonFile !== undefined) {
    fs.writeFileSync(options.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    progress(`bench: figures written to ${options.jsonFile}`);
  }
  if (options.readme) {
    updateReadme(readmeSection(report, table, options));
    progress('bench: README.md benchmark section updated');
  }
  if (Object.keys(report.errors).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
