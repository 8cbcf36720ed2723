/**
 * The real server as a child process (`node src/boot/start.mjs`, what `npm start` runs) on 127.0.0.1 and a free port, with its data directory on the same disk as the repository
 * (never a tmpfs: fsync must mean something). Every child is tracked so that `killAllServers()`
 * (afterEach / afterAll) leaves none behind, even when a test fails half-way.
 *
 * Each run gets a directory under data/crash-tests/ (git-ignored; CRASH_DATA_ROOT overrides it)
 * holding `data/` and one log file per server start; a passing test removes it, a failing one
 * keeps it for the post-mortem and says where it is.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpClient } from './http_client.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** `npm start`'s entry: the server's sources as one esbuild bundle (src/boot/start.mjs). */
const SERVER_ENTRY = path.join(REPO_ROOT, 'src/boot/start.mjs');
const HEALTH_TIMEOUT_MS = 120_000;
const HEALTH_POLL_MS = 50;
const EXIT_TIMEOUT_MS = 60_000;

/** Environment variables of the server's configuration that a test must not inherit by accident. */
const CONFIG_ENV = [
  'PORT', 'HOST', 'DATA_DIR', 'ADMIN_TOKEN', 'MARKETS_FILE', 'WAL_BATCH_RECORDS', 'WAL_BATCH_DELAY_MS', 'WAL_SEGMENT_BYTES',
  'FSYNC', 'RING_CAPACITY', 'PIPELINE_THREADS', 'ORDERS_OPEN_MAX', 'ACCOUNTS_MAX', 'FILLS_PER_COMMAND_MAX', 'CLIENT_ORDER_IDS_MAX',
  'CLOSED_ORDERS_MAX', 'TRADES_MAX', 'BOOK_DEPTH_MAX', 'BODY_LIMIT_BYTES', 'LOG_LEVEL', 'REPAIR', 'EXCHANGE_TEST_WAL_FAULT',
  'SNAPSHOT_EVERY_RECORDS', 'SNAPSHOT_EVERY_MINUTES', 'SNAPSHOT_KEEP', 'WAL_RETENTION',
];

const liveServers = new Set<ServerProcess>();

export interface RunDirectory {
  dir: string;
  dataDir: string;
  walDir: string;
  /** A fresh log file path for the next server start. */
  nextLogFile(): string;
  /** Removes the directory (call on success only). */
  remove(): void;
}

export function crashRunDirectory(name: string): RunDirectory {
  const root = process.env['CRASH_DATA_ROOT'] ?? path.join(REPO_ROOT, 'data', 'crash-tests');
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, `${name}-`));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  let logs = 0;
  return {
    dir,
    dataDir,
    walDir: path.join(dataDir, 'wal'),
    nextLogFile: () => path.join(dir, `server-${String(++logs).padStart(3, '0')}.log`),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A port that is free right now, drawn outside Linux's ephemeral range (32768-60999) so that the
 * ports other processes get from the kernel do not collide with ours between two starts.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port found');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface ServerOptions {
  dataDir: string;
  port: number;
  logFile: string;
  /** Extra environment (configuration, EXCHANGE_TEST_WAL_FAULT). */
  env?: Record<string, string>;
  /** Run under `ulimit -f <blocks>` (1 KiB blocks): a real file size limit, EFBIG on the WAL. */
  fileSizeLimitBlocks?: number;
  /** Resolve once the process runs, without waiting for /health (a start that is expected to fail). */
  noWait?: boolean;
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;
  /** Resolves when the process has exited and its output is fully in the log file. */
  readonly closed: Promise<ServerExit>;
  private exitValue: ServerExit | null = null;

  private constructor(options: ServerOptions) {
    this.port = options.port;
    this.logFile = options.logFile;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of CONFIG_ENV) delete env[name];
    Object.assign(env, { HOST: '127.0.0.1', PORT: String(options.port), DATA_DIR: options.dataDir }, options.env ?? {});
    const nodeArgs = [SERVER_ENTRY];
    if (options.fileSizeLimitBlocks === undefined) {
      this.child = spawn(process.execPath, nodeArgs, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } else {
      // exec: the pid we signal is node itself, under the limit bash set.
      const script = `ulimit -f ${options.fileSizeLimitBlocks} && exec "$0" "$@"`;
      this.child = spawn('bash', ['-c', script, process.execPath, ...nodeArgs], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    }
    // The parent writes the log: a pipe is not subject to the child's file size limit.
    const log = fs.createWriteStream(this.logFile, { flags: 'a' });
    this.child.stdout!.pipe(log, { end: false });
    this.child.stderr!.pipe(log, { end: false });
    this.closed = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exitValue = { code, signal };
        liveServers.delete(this);
        log.end(() => resolve({ code, signal }));
      });
    });
    liveServers.add(this);
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const server = new ServerProcess(options);
    if (options.noWait !== true) await server.waitHealthy();
    return server;
  }

  get exited(): ServerExit | null {
    return this.exitValue;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Polls GET /health until 200; fails with the log's tail when the process exits or takes too long. */
  async waitHealthy(): Promise<{ seq: number; durableSeq: number }> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    const client = new HttpClient({ port: this.port, maxSockets: 1, timeoutMs: 5_000 });
    try {
      while (Date.now() < deadline) {
        if (this.exitValue !== null) throw new Error(`server exited during start-up (${JSON.stringify(this.exitValue)}):\n${this.logTail()}`);
        // Only our own process counts: another one may answer on this port.
        if (!this.logText().includes(`listening on http://127.0.0.1:${this.port} `)) {
          await sleep(HEALTH_POLL_MS);
          continue;
        }
        try {
          const response = await client.get('/health');
          if (response.status === 200) return response.json as { seq: number; durableSeq: number };
        } catch {
          // Not listening yet.
        }
        await sleep(HEALTH_POLL_MS);
      }
    } finally {
      client.close();
    }
    throw new Error(`server not healthy after ${HEALTH_TIMEOUT_MS} ms:\n${this.logTail()}`);
  }

  /** SIGKILL and wait until it is gone: the crash. */
  async kill9(): Promise<ServerExit> {
    if (this.exitValue === null) this.child.kill('SIGKILL');
    return this.waitClosed();
  }

  /** Graceful stop (SIGTERM); returns the exit and the state digest the server logged. */
  async terminate(): Promise<ServerExit & { digest: string | null }> {
    if (this.exitValue === null) this.child.kill('SIGTERM');
    const exit = await this.waitClosed();
    const match = /stopped; state digest ([0-9a-f]{64})/.exec(this.logText());
    return { ...exit, digest: match === null ? null : match[1]! };
  }

  async waitClosed(timeoutMs = EXIT_TIMEOUT_MS): Promise<ServerExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`server pid ${this.pid} did not exit in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  logText(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40): string {
    return this.logText().split('\n').slice(-lines).join('\n');
  }
}

/** SIGKILLs every server still running and waits for them: for afterEach/afterAll. */
export async function killAllServers(): Promise<void> {
  const servers = [...liveServers];
  await Promise.all(servers.map((server) => server.kill9().catch(() => undefined)));
}

// A test worker that dies must not leave servers behind either.
process.once('exit', () => {
  for (const server of liveServers) {
    try {
      server.child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sum of the sizes of the files under `dir` (recursively); 0 when it does not exist. */
export function directoryBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : fs.statSync(full).size;
  }
  return total;
}
