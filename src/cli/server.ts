/**
 * The server entry (`npm start`): configuration, logging, the threaded pipeline with start-up
 * recovery, the Fastify gateway, and a graceful stop on SIGTERM/SIGINT that drains every ring,
 * does the final fsync and logs the state digest (compare with `npm run replay`).
 */
import pino from 'pino';
import { ReadModels } from '../gateway/read_models.ts';
import { build } from '../gateway/app.ts';
import { ThreadedPipeline } from '../pipeline/threaded_pipeline.ts';
import { walConfig } from '../wal/wal_config.ts';
import { ConfigError, parseConfig } from './config.ts';
import type { ServerConfig } from './config.ts';

function loadConfig(): ServerConfig {
  try {
    return parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`configuration refused:\n${error.problems.map((problem) => `  - ${problem}`).join('\n')}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.logLevel });
  if (config.wal.durability === 'none') {
    log.warn('!!! --fsync=none: the WAL is NOT fsynced. Acknowledged orders can be lost on a crash. Benchmarks only. !!!');
  }
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
    onFatal: (error) => {
      log.fatal({ err: error }, 'fatal: exiting so that recovery from the WAL takes over');
      process.exit(1);
    },
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
  const recovery = await pipeline.start();
  log.info({ ...recovery }, 'recovery complete');
  await app.listen({ host: config.host, port: config.port });
  const address = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  log.info(
    { threads: config.threads.map((stages) => stages.join('+')), fsync: config.wal.durability },
    `listening on ${address} with data in ${config.dataDir}`,
  );
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: intake closed, draining the pipeline');
    const summary = await pipeline.stop();
    log.info({ ...summary }, `stopped; state digest ${summary.digest}`);
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`server failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
