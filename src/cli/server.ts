/**
 * The server entry (`npm start`): configuration, logging, the threaded pipeline with start-up
 * recovery, the Fastify gateway (composed by start_server.ts), and a graceful stop on
 * SIGTERM/SIGINT that drains every ring, does the final fsync and logs the state digest (compare
 * with `npm run replay`).
 */
import pino from 'pino';
import { ConfigError, parseConfig } from './config.ts';
import type { ServerConfig } from './config.ts';
import { startServer } from './start_server.ts';

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
  const server = await startServer(config, {
    log,
    onFatal: (error) => {
      log.fatal({ err: error }, 'fatal: exiting so that recovery from the WAL takes over');
      process.exit(1);
    },
  });
  log.info(
    { threads: config.threads.map((stages) => stages.join('+')), fsync: config.wal.durability, startupMs: server.startupMs },
    `listening on ${server.url} with data in ${config.dataDir}`,
  );
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: intake closed, draining the pipeline');
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`server failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
