/**
 * The server's composition, shared by the entry (`server.ts`) and the end-to-end tests: the
 * gateway's read models, the threaded pipeline with start-up recovery, the Fastify gateway, and a
 * listening socket. `stop()` is the graceful stop: intake closed, every accepted command drained,
 * the final fsync done, the workers stopped and the state digest computed (the replay command's
 * digest for the same data directory, logged); then the HTTP server is closed.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { build } from '../gateway/app.ts';
import { ReadModels } from '../gateway/read_models.ts';
import { ThreadedPipeline } from '../pipeline/threaded_pipeline.ts';
import type { RecoveryReport, StopReport } from '../pipeline/threaded_pipeline.ts';
import { walConfig } from '../wal/wal_config.ts';
import type { ServerConfig } from './config.ts';

export interface StartServerOptions {
  log: Logger;
  /** A worker died or the pipeline broke: the process must end (the server exits 1). */
  onFatal: (error: Error) => void;
}

export interface RunningServer {
  readonly config: ServerConfig;
  readonly app: FastifyInstance;
  readonly pipeline: ThreadedPipeline;
  readonly readModels: ReadModels;
  readonly recovery: RecoveryReport;
  /**
   * Where the start's time went, in ms from the process's start: `boot` until recovery began
   * (node, modules, the gateway's routes), then `recovery`, `workers` and `listen`; `total` until
   * the socket listened.
   */
  readonly startupMs: { boot: number; recovery: number; workers: number; listen: number; total: number };
  /** The port actually bound (the configured one, or the one the system chose for port 0). */
  readonly port: number;
  /** `http://host:port`, ready for a client. */
  readonly url: string;
  /**
   * Graceful stop: the pipeline first (new commands get 503 SHUTTING_DOWN, accepted ones are
   * drained and made durable), then the HTTP server. `beforeHttpClose` runs in between, while the
   * socket still answers. Calling it again returns the first call's result.
   */
  stop(beforeHttpClose?: () => Promise<void>): Promise<StopReport>;
}

export async function startServer(config: ServerConfig, options: StartServerOptions): Promise<RunningServer> {
  const { log } = options;
  const readModels = new ReadModels(config.marketSet, { closedOrdersMax: config.closedOrdersMax, tradesMax: config.tradesMax });
  const pipeline = new ThreadedPipeline({
    marketSet: config.marketSet,
    limits: config.coreLimits,
    wal: walConfig(config.dataDir, {
      batchRecordsMax: config.wal.batchRecordsMax,
      segmentBytesMax: config.wal.segmentBytesMax,
      durability: config.wal.durability,
    }),
    walPolicy: { batchRecords: config.wal.batchRecordsMax, batchDelayMs: config.wal.batchDelayMs },
    ringCapacity: config.ringCapacity,
    layout: config.threads,
    repair: config.repair,
    sink: readModels,
    log,
    onFatal: options.onFatal,
    // Recovery starts from the newest valid snapshot; a background worker writes new ones.
    snapshots: { policy: config.snapshots, readModels },
  });
  const app = await build({
    pipeline,
    readModels,
    marketSet: config.marketSet,
    listenHost: config.host,
    bodyLimitBytes: config.bodyLimitBytes,
    logger: log,
    limits: { bookDepthMax: config.bookDepthMax },
    ...(config.adminToken === undefined ? {} : { adminToken: config.adminToken }),
  });
  const recoveryStartedAt = performance.now();
  // Recovery runs at once (synchronously); while the stage workers then boot on the other core,
  // the gateway compiles its routes and serializers (app.ready), which listen would do after.
  const [recovery, notReady] = await Promise.all([
    pipeline.start(),
    app.ready().then(
      () => null,
      (error: unknown) => error,
    ),
  ]);
  if (notReady !== null) {
    await pipeline.stop().catch(() => undefined);
    throw notReady;
  }
  log.info({ ...recovery }, 'recovery complete');
  const listenStartedAt = performance.now();
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // Not listening (e.g. the port is taken): stop the workers cleanly, report the listen error.
    await pipeline.stop().catch(() => undefined);
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  const now = performance.now();
  // Where a start's time went, from the process's start (performance.now() counts from it).
  const startupMs = {
    boot: Math.round(recoveryStartedAt),
    recovery: Math.round(recovery.elapsedMs),
    workers: Math.round(recovery.workersMs),
    listen: Math.round(now - listenStartedAt),
    total: Math.round(now),
  };
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let stopping: Promise<StopReport> | undefined;
  const stop = (beforeHttpClose?: () => Promise<void>): Promise<StopReport> => {
    stopping ??= (async () => {
      const summary = await pipeline.stop();
      log.info({ ...summary }, `stopped; state digest ${summary.digest}`);
      if (beforeHttpClose !== undefined) await beforeHttpClose();
      await app.close();
      return summary;
    })();
    return stopping;
  };
  return { config, app, pipeline, readModels, recovery, startupMs, port, url, stop };
}
