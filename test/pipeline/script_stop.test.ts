/**
 * The pipeline in a process that holds nothing else open (a script, not the server): stop() must
 * finish, and the process exit 0 after it, rather than end while the stop is still pending.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./support/start_stop_script.ts', import.meta.url));

it('stops completely in a script with nothing else open', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-script-'));
  try {
    const child = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, dataDir], { encoding: 'utf8', timeout: 90_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/^stopped [0-9a-f]{64} 0\n$/);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
