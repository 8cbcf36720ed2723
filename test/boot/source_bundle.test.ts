import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceBundleUrl } from '../../src/boot/source_bundle.mjs';

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
});
