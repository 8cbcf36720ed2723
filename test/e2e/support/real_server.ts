/**
 * The real server in this process, exactly as `npm start` composes it (src/cli/start_server.ts):
 * configuration parsed by the real parser, the threaded pipeline with its worker threads, the WAL
 * with fsync, the Fastify gateway, listening on 127.0.0.1 on a port the system chooses. Tests talk
 * to it over a real socket with fetch (or raw HTTP for requests fetch would normalise).
 *
 * stop() is the graceful stop of SIGTERM; restart() stops and starts again on the same data dir.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseConfig } from '../../../src/cli/config.ts';
import type { ServerConfig } from '../../../src/cli/config.ts';
import { startServer } from '../../../src/cli/start_server.ts';
import type { RunningServer } from '../../../src/cli/start_server.ts';
import type { StopReport } from '../../../src/pipeline/threaded_pipeline.ts';

export interface RealServerOptions {
  /** Default: a new directory under os.tmpdir(), removed by dispose(). */
  dataDir?: string;
  /** Extra command-line flags, e.g. ['--ring-capacity', '64']. */
  flags?: readonly string[];
  /** The environment the configuration is read from (never process.env), e.g. { ADMIN_TOKEN }. */
  env?: Readonly<Record<string, string>>;
  /** Remove the data dir on dispose() (default: only when this harness created it). */
  removeDataDir?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  // any: the parsed JSON under test; the assertions are what check its shape.
  body: any;
  text: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

export interface RealServer {
  readonly server: RunningServer;
  readonly config: ServerConfig;
  readonly dataDir: string;
  readonly url: string;
  /** Errors the pipeline reported through onFatal (the real server would have exited 1). */
  readonly fatalErrors: readonly Error[];
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResponse>;
  /** A body sent verbatim (a string is not JSON-encoded again), as application/json unless headers say otherwise. */
  send(method: string, path: string, rawBody: string | undefined, headers?: Record<string, string>): Promise<HttpResponse>;
  /** The request line's path exactly as given (no URL normalisation), over node:http. */
  raw(method: string, path: string, rawBody?: string | Buffer, headers?: Record<string, string>): Promise<RawResponse>;
  get(path: string): Promise<HttpResponse>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpResponse>;
  del(path: string): Promise<HttpResponse>;
  deposit(accountId: number, asset: string, amount: string): Promise<HttpResponse>;
  withdraw(accountId: number, asset: string, amount: string): Promise<HttpResponse>;
  place(body: Record<string, unknown>): Promise<HttpResponse>;
  /** Graceful stop (pipeline drained and digested, then HTTP closed); idempotent. */
  stop(beforeHttpClose?: () => Promise<void>): Promise<StopReport>;
  /** Graceful stop, then a new server on the same data dir and flags (a new port). */
  restart(): Promise<RealServer>;
  /** Stops if still running and removes the data dir if this harness created it. */
  dispose(): Promise<void>;
}

export function tempDataDir(prefix = 'exchange-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Bytes of every file under <dataDir>/wal (0 before the first segment exists). */
export function walBytes(dataDir: string): number {
  const dir = join(dataDir, 'wal');
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) total += statSync(join(dir, name)).size;
  return total;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function startRealServer(options: RealServerOptions = {}): Promise<RealServer> {
  const ownsDir = options.removeDataDir ?? options.dataDir === undefined;
  const dataDir = options.dataDir ?? tempDataDir();
  const flags = options.flags ?? [];
  const env = { ...options.env };
  const config = parseConfig(['--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--log-level', 'silent', ...flags], env);
  const fatalErrors: Error[] = [];
  const log = pino({ level: process.env['E2E_LOG_LEVEL'] ?? config.logLevel });
  const server = await startServer(config, { log, onFatal: (error) => fatalErrors.push(error) });
  const url = server.url;
  const adminHeaders: Record<string, string> = env['ADMIN_TOKEN'] === undefined ? {} : { authorization: `Bearer ${env['ADMIN_TOKEN']}` };

  const send = async (method: string, path: string, rawBody: string | undefined, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...(rawBody === undefined ? {} : { 'content-type': 'application/json' }), ...headers } };
    if (rawBody !== undefined) init.body = rawBody;
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseJson(text), text };
  };
  const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send(method, path, body === undefined ? undefined : JSON.stringify(body), headers);

  const raw = (method: string, path: string, rawBody?: string | Buffer, headers: Record<string, string> = {}) =>
    new Promise<RawResponse>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, method, path, headers: { connection: 'close', ...headers }, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parseJson(text), text });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (rawBody !== undefined) req.write(rawBody);
      req.end();
    });

  let disposed = false;
  const self: RealServer = {
    server,
    config,
    dataDir,
    url,
    fatalErrors,
    request,
    send,
    raw,
    get: (path) => request('GET', path),
    post: (path, body, headers) => request('POST', path, body, headers),
    del: (path) => request('DELETE', path),
    deposit: (accountId, asset, amount) => request('POST', `/accounts/${accountId}/deposits`, { asset, amount }, adminHeaders),
    withdraw: (accountId, asset, amount) => request('POST', `/accounts/${accountId}/withdrawals`, { asset, amount }, adminHeaders),
    place: (body) => request('POST', '/orders', body),
    stop: (beforeHttpClose) => server.stop(beforeHttpClose),
    restart: async () => {
      await server.stop();
      return startRealServer({ dataDir, flags, env, removeDataDir: ownsDir });
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await server.stop();
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}

/** Sends bytes on a fresh TCP connection and returns everything the server answers before closing. */
export function rawTcp(port: number, bytes: string | Buffer, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(error);
    });
  });
}
