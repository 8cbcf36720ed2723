/**
 * A small HTTP/1.1 client for the crash tests on node:http: a keep-alive agent with a bounded
 * number of sockets (many concurrent connections, like real clients), JSON or raw bodies, and
 * connection failures surfaced as HttpConnectionError so that the caller can tell "no answer"
 * (outcome unknown) from any answer at all. Plus `rawExchange` for bytes that are not valid HTTP.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // any: a parsed JSON body under test; the checks decide what shape it must have.
  json: any;
}

/** The request got no response: refused, reset, timed out. Its outcome is unknown to the client. */
export class HttpConnectionError extends Error {
  override readonly name = 'HttpConnectionError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  /** JSON-encoded as the body, with content-type application/json. */
  body?: unknown;
  /** Sent as is (instead of `body`). */
  raw?: string | Buffer;
  /** Content-Type for `raw`; null sends none. Default application/json. */
  contentType?: string | null;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface HttpClientOptions {
  host?: string;
  port: number;
  /** Most sockets the agent opens to the server (concurrent connections). */
  maxSockets?: number;
  /** Default per-request timeout. */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` unless a request sets its own Authorization. */
  adminToken?: string;
}

const RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

export class HttpClient {
  readonly host: string;
  readonly port: number;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly adminToken: string | undefined;

  constructor(options: HttpClientOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.adminToken = options.adminToken;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32, maxFreeSockets: options.maxSockets ?? 32 });
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    let payload: Buffer | undefined;
    const headers: Record<string, string> = {};
    if (this.adminToken !== undefined) headers['authorization'] = `Bearer ${this.adminToken}`;
    if (options.raw !== undefined) {
      payload = typeof options.raw === 'string' ? Buffer.from(options.raw) : options.raw;
      const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
      if (contentType !== null) headers['content-type'] = contentType;
    } else if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = 'application/json';
    }
    if (payload !== undefined) headers['content-length'] = String(payload.length);
    Object.assign(headers, options.headers ?? {});
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const request = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= RESPONSE_BYTES_MAX) chunks.push(chunk);
        });
        response.on('error', (error: NodeJS.ErrnoException) => reject(new HttpConnectionError(error.message, error.code ?? 'ERESPONSE')));
        response.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          if (text !== '' && String(response.headers['content-type'] ?? '').includes('json')) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
      });
      const timer = setTimeout(() => {
        request.destroy(new HttpConnectionError(`${method} ${path}: no response in ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(error instanceof HttpConnectionError ? error : new HttpConnectionError(`${method} ${path}: ${error.message}`, error.code ?? 'ECONN'));
      });
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }

  get(path: string): Promise<HttpResponse> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown): Promise<HttpResponse> {
    return this.request('POST', path, { body });
  }

  delete(path: string): Promise<HttpResponse> {
    return this.request('DELETE', path);
  }

  /** Closes every socket; requests still in flight fail. */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * Writes raw bytes to a fresh connection and returns everything the server sends back until it
 * closes the connection (or `timeoutMs` passes): for requests that no HTTP client would send.
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5_000, idleMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    let idle: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // A kept-alive connection stays open: once the answer has stopped coming, it is complete.
      clearTimeout(idle);
      idle = setTimeout(() => socket.destroy(), idleMs);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      clearTimeout(idle);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(idle);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/**
 * Splits the text of raw HTTP/1.1 responses (several when requests were pipelined) into status and
 * JSON body each, using Content-Length; a body that is not JSON is left undefined.
 */
export function parseRawResponses(text: string): { status: number; json: unknown }[] {
  const responses: { status: number; json: unknown }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(rest);
    const separator = rest.indexOf('\r\n\r\n');
    if (statusMatch === null || separator < 0) {
      responses.push({ status: 0, json: undefined });
      break;
    }
    const head = rest.slice(0, separator);
    const lengthMatch = /\r\ncontent-length: *(\d+)/i.exec(head);
    const length = lengthMatch === null ? rest.length - separator - 4 : Number(lengthMatch[1]);
    const body = rest.slice(separator + 4, separator + 4 + length);
    let json: unknown = undefined;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    responses.push({ status: Number(statusMatch[1]), json });
    rest = rest.slice(separator + 4 + length);
  }
  return responses;
}
