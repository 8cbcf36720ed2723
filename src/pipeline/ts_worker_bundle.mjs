// Entry of a stage worker thread when the server runs from TypeScript sources. Registering tsx in
// each worker (ts_worker_bootstrap.mjs) costs about a second of CPU per thread: its hooks thread
// and a transform per module. Instead the worker module named by the first argument is bundled
// once by esbuild (tsx's own transpiler) into one ESM file under node_modules/.cache, named by the
// hash of its content, so identical bundles are written once and threads never see a partial file,
// and imported from there; packages stay external and resolve from the repository's node_modules.
// Only for modules that do not locate files relative to their own URL (import.meta.url).
// Compiled builds (npm run build) start the .js worker directly.
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';

const entry = fileURLToPath(process.argv[2]);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cacheDir = path.join(repoRoot, 'node_modules', '.cache', 'exchange-worker-bundles');
const built = buildSync({
  entryPoints: [entry],
  bundle: true,
  write: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'silent',
});
const code = built.outputFiles[0].contents;
const name = `${path.basename(entry, '.ts')}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
const file = path.join(cacheDir, name);
if (!existsSync(file)) {
  mkdirSync(cacheDir, { recursive: true });
  const temporary = `${file}.${process.pid}-${threadId}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, file);
}
await import(pathToFileURL(file).href);
