import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleWorkerExecArgv, sourceBundleUrl, startBundleWorker } from '../../src/boot/source_bundle.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'source-bundle-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('source bundles (npm start and worker threads from TypeScript sources)', () => {
  const helper = write('helper.ts', `export const helperUrl: string = import.meta.url;\nexport const answer: number = 41;\n`);
  const entry = write(
    'entry.ts',
    `import { answer, helperUrl } from './helper.ts';\nexport const entryUrl: string = import.meta.url;\nexport { helperUrl };\nexport const value: number = answer + 1;\n`,
  );

  it('bundles a TypeScript module whose every module keeps its own import.meta.url', async () => {
    const bundle = sourceBundleUrl(pathToFileURL(entry));
    expect(bundle.href).toContain('/node_modules/.cache/exchange-bundles/entry-');
    const loaded = (await import(bundle.href)) as { entryUrl: string; helperUrl: string; value: number };
    expect(loaded.value).toBe(42);
    expect(loaded.entryUrl).toBe(pathToFileURL(entry).href);
    expect(loaded.helperUrl).toBe(pathToFileURL(helper).href);
  });

  it('reuses the bundle while no input changed and rebuilds when one did', async () => {
    const first = sourceBundleUrl(entry);
    expect(sourceBundleUrl(pathToFileURL(entry))).toEqual(first);
    fs.writeFileSync(helper, `export const helperUrl: string = import.meta.url;\nexport const answer: number = 99;\n`);
    const rebuilt = sourceBundleUrl(entry);
    expect(rebuilt).not.toEqual(first);
    const loaded = (await import(rebuilt.href)) as { value: number };
    expect(loaded.value).toBe(100);
  });

  it('fails with the compiler error for a module that does not build', () => {
    const broken = write('broken.ts', `export const x: number = ;\n`);
    expect(() => sourceBundleUrl(broken)).toThrow(/Command failed/);
  });

  it('starts workers on a bundle without the TypeScript loader and V8 options of the parent, keeping the rest', async () => {
    expect(bundleWorkerExecArgv(['--import', 'tsx', '--expose-gc', '--cpu-prof', '--cpu-prof-dir=/tmp/p'])).toEqual(['--cpu-prof', '--cpu-prof-dir=/tmp/p']);
    expect(bundleWorkerExecArgv(['--import=tsx', '--require', 'tsx/cjs', '--max-old-space-size=4096', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    // Another module imported at start is the user's, not a TypeScript loader: kept.
    expect(bundleWorkerExecArgv(['--import', './instrument.mjs'])).toEqual(['--import', './instrument.mjs']);
    const worker = startBundleWorker(pathToFileURL(write('worker.ts', `import { parentPort } from 'node:worker_threads';\nparentPort!.postMessage(process.execArgv);\n`)));
    const execArgv = await new Promise<string[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    expect(execArgv).toEqual(bundleWorkerExecArgv());
    expect(execArgv.some((arg) => /tsx/.test(arg))).toBe(false);
  });
});
