/** Starts a worker thread running a TypeScript module, from its esbuild bundle like the server's workers. */
import type { Worker } from 'node:worker_threads';
import { startBundleWorker } from '../../src/boot/source_bundle.mjs';

export function spawnTsWorker(moduleUrl: URL, workerData: unknown): Worker {
  return startBundleWorker(moduleUrl, { workerData });
}
