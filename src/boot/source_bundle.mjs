// Running from TypeScript sources without a per-module loader. `npm start` and every worker thread
// started from sources run an esbuild bundle of their entry module (esbuild is tsx's own
// transpiler): one ESM file under node_modules/.cache/exchange-bundles, with packages left
// external so they resolve from the repository's node_modules. Loading one bundle costs a fraction
// of what tsx's hooks cost (a transform and a resolve per module, and on Node 20 a hooks thread per
// worker), which is most of a cold start's CPU.
//
// - Each module's `import.meta.url` is replaced by that module's own source URL, so code that
//   locates files next to itself (`new URL('./x.ts', import.meta.url)`) behaves exactly as it does
//   unbundled.
// - A manifest per entry records the inputs of the last build (path, SHA-256 of the content):
//   when none changed (a few ms to check), the bundle is reused without running esbuild; otherwise it is rebuilt, by this file
//   run as a child process (esbuild's plugins need its asynchronous API, and callers need the
//   answer synchronously). Bundles are named by the hash of their content and written to a
//   temporary file then renamed, so concurrent processes never see a partial one.
// - Inline source maps, enabled by the launcher (process.setSourceMapsEnabled), so stack traces
//   name the .ts files and lines.
import { build, version as esbuildVersion } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, threadId } from 'node:worker_threads';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'exchange-bundles');
/** Bump when the build options or the plugin below change: old manifests then stop matching. */
const FORMAT = 3;

/** Each of the repository's modules keeps its own source URL as `import.meta.url`. */
const ownUrlPlugin = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}-${threadId}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** Bundles are kept a day after they were written (a running process may still start workers from one), then removed. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

function removeStaleBundles(current) {
  for (const name of readdirSync(CACHE_DIR)) {
    if (name === current || !name.endsWith('.mjs')) continue;
    const file = path.join(CACHE_DIR, name);
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_AFTER_MS) unlinkSync(file);
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

function contentHash(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function inputsUnchanged(inputs) {
  for (const [file, hash] of inputs) {
    try {
      if (contentHash(file) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function entryPathOf(entry) {
  return entry instanceof URL || String(entry).startsWith('file:') ? fileURLToPath(entry) : path.resolve(String(entry));
}

function manifestFileOf(entryPath) {
  const key = createHash('sha256').update(`${FORMAT}\0${esbuildVersion}\0${process.version}\0${entryPath}`).digest('hex').slice(0, 16);
  return path.join(CACHE_DIR, `${path.basename(entryPath, '.ts')}-${key}.json`);
}

/** The bundle the manifest names, if it exists and none of its inputs changed since it was built. */
function cachedBundle(entryPath) {
  try {
    const manifest = JSON.parse(readFileSync(manifestFileOf(entryPath), 'utf8'));
    if (existsSync(manifest.bundle) && inputsUnchanged(manifest.inputs)) return manifest.bundle;
  } catch {
    // No manifest yet, or an unreadable one: build.
  }
  return undefined;
}

async function buildBundle(entryPath) {
  const built = await build({
    entryPoints: [entryPath],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'error',
    plugins: [ownUrlPlugin],
  });
  const code = built.outputFiles[0].contents;
  const bundle = path.join(CACHE_DIR, `${path.basename(entryPath, '.ts')}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  mkdirSync(CACHE_DIR, { recursive: true });
  if (!existsSync(bundle)) writeAtomically(bundle, code);
  removeStaleBundles(path.basename(bundle));
  const inputs = Object.keys(built.metafile.inputs).map((input) => {
    const file = path.resolve(process.cwd(), input);
    return [file, contentHash(file)];
  });
  writeAtomically(manifestFileOf(entryPath), JSON.stringify({ bundle, inputs }));
  return bundle;
}

/**
 * The bundle of the TypeScript module at `entry` (a file URL or path), reused or built now: the
 * file URL to import or to start a Worker with. Synchronous; a build runs in a child process.
 */
export function sourceBundleUrl(entry) {
  const entryPath = entryPathOf(entry);
  let bundle = cachedBundle(entryPath);
  if (bundle === undefined) {
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), entryPath], { stdio: ['ignore', 'ignore', 'inherit'] });
    bundle = cachedBundle(entryPath);
    if (bundle === undefined) throw new Error(`source bundle: building ${entryPath} left no usable bundle`);
  }
  return pathToFileURL(bundle);
}

/** Loaders of TypeScript sources: `--import tsx` and its spellings (`--import=tsx`, `--loader`, `--require`). */
const TS_LOADER = /^(tsx|tsx\/.*)$/;
const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);
/** V8 options: process-wide (a worker has them anyway), and a worker refuses them in its own list. */
const V8_FLAG = /^--(expose[-_]gc|max[-_]|stack[-_]size|allow[-_]natives[-_]syntax|no[-_]opt\b)/;

/**
 * Node options for a worker thread that runs a bundle: the parent's (`execArgv`), less a loader of
 * TypeScript sources and V8 options. A bundle is plain JavaScript: a loader inherited from
 * `node --import tsx` (npm run replay, the benchmark, tests) would cost every worker ~40 ms more to
 * start, and on Node 20 a thread of its own for its hooks. Profiling flags (--cpu-prof) are kept.
 */
export function bundleWorkerExecArgv(execArgv = process.execArgv) {
  const kept = [];
  for (let index = 0; index < execArgv.length; index++) {
    const arg = execArgv[index];
    if (LOADER_FLAGS.has(arg) && TS_LOADER.test(execArgv[index + 1] ?? '')) {
      index += 1;
      continue;
    }
    const [flag, value] = arg.split('=', 2);
    if (value !== undefined && LOADER_FLAGS.has(flag) && TS_LOADER.test(value)) continue;
    if (V8_FLAG.test(arg)) continue;
    kept.push(arg);
  }
  return kept;
}

/**
 * A Worker running the bundle of the TypeScript module at `entry`, with `bundleWorkerExecArgv()`.
 * Should Node refuse one of the options kept (ERR_WORKER_INVALID_EXEC_ARGV), the worker inherits
 * the parent's options instead, as any worker does: slower to start, never broken.
 */
export function startBundleWorker(entry, options = {}) {
  const url = sourceBundleUrl(entry);
  try {
    return new Worker(url, { ...options, execArgv: bundleWorkerExecArgv() });
  } catch (error) {
    if (error?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(url, options);
  }
}

// Run as a program: build the bundle of the entry named by the argument.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildBundle(entryPathOf(process.argv[2]));
}
