/** See source_bundle.mjs: the esbuild bundle of a TypeScript entry module, reused or built now. */
export function sourceBundleUrl(entry: URL | string): URL;
/** See source_bundle.mjs: Node options for a worker that runs a bundle (the parent's, less a TypeScript loader and V8 options). */
export function bundleWorkerExecArgv(execArgv?: readonly string[]): string[];
/** See source_bundle.mjs: a Worker running the bundle of `entry`, without the parent's TypeScript loader. */
export function startBundleWorker(entry: URL | string, options?: import('node:worker_threads').WorkerOptions): import('node:worker_threads').Worker;
