/** Starts a worker thread running a TypeScript module (see ts_worker_bootstrap.mjs for why). */
import { Worker } from 'node:worker_threads';

export function spawnTsWorker(moduleUrl: URL, workerData: unknown): Worker {
  return new Worker(new URL('./ts_worker_bootstrap.mjs', import.meta.url), {
    argv: [moduleUrl.href],
    workerData,
  });
}
