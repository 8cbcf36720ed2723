/**
 * A script with nothing open but the pipeline: starts it on the data directory named by its
 * argument, stops it, and prints the stop's digest. The process must not end
 * before the stop has finished (the main thread's consumer sleeps without holding the event loop).
 */
import pino from 'pino';
import { DEFAULT_CORE_LIMITS } from '../../../src/domain/limits.ts';
import { defaultMarketSet } from '../../../src/domain/markets.ts';
import { ReadModels } from '../../../src/gateway/read_models.ts';
import { DEFAULT_THREAD_LAYOUT, parseThreadLayout } from '../../../src/pipeline/thread_layout.ts';
import { ThreadedPipeline } from '../../../src/pipeline/threaded_pipeline.ts';
import { walConfig } from '../../../src/wal/wal_config.ts';

const dataDir = process.argv[2]!;
const marketSet = defaultMarketSet();
const readModels = new ReadModels(marketSet, {});
const pipeline = new ThreadedPipeline({
  marketSet,
  limits: { ...DEFAULT_CORE_LIMITS, ordersOpenMax: 1024, accountsMax: 64, clientOrderIdsMax: 1024 },
  wal: walConfig(dataDir, { batchRecordsMax: 64, segmentBytesMax: 64 << 20, durability: 'fsync' }),
  walPolicy: { batchRecords: 64, batchDelayMs: 0 },
  ringCapacity: 64,
  layout: parseThreadLayout(DEFAULT_THREAD_LAYOUT),
  repair: false,
  sink: readModels,
  log: pino({ level: 'silent' }),
  onFatal: (error) => {
    process.stderr.write(`fatal: ${error.message}\n`);
    process.exit(3);
  },
});
await pipeline.start();
const report = await pipeline.stop();
process.stdout.write(`stopped ${report.digest} ${report.lastSeq}\n`);
