/**
 * Runs one section of the benchmark in a process of its own, started by bench/run.ts, and sends
 * the figures back over the IPC channel. A fresh process per section keeps each one's JIT state,
 * heap and peak RSS its own (the memory figures are the pipeline process's, not the sum of every
 * section before it), and a section that crashes cannot take the others down.
 *
 * Usage (by run.ts): section_child.ts SECTION [--quick] [--server-node-args JSON]
 */
import { SECTIONS } from './bench_support.ts';
import type { SectionMessage, SectionName } from './bench_support.ts';
import { benchEngine } from './engine_bench.ts';
import { benchCore, benchWalReplayThroughCore } from './core_bench.ts';
import { benchHttp } from './http_bench.ts';
import type { HttpBenchOptions } from './http_bench.ts';
import { benchPipeline } from './pipeline_bench.ts';
import { benchRing } from './ring_bench.ts';
import { benchSnapshot } from './snapshot_bench.ts';
import { benchWal } from './wal_bench.ts';

async function runSection(section: SectionName, argv: readonly string[]): Promise<unknown> {
  const quick = argv.includes('--quick');
  switch (section) {
    case 'engine':
      return benchEngine({ quick });
    case 'core':
      return benchCore({ quick });
    case 'wal':
      return { ...(await benchWal({ quick })), replayThroughCore: await benchWalReplayThroughCore({ quick }) };
    case 'ring':
      return benchRing({ quick });
    case 'pipeline':
      return benchPipeline({ quick });
    case 'http': {
      const options: HttpBenchOptions = { quick };
      const argsIndex = argv.indexOf('--server-node-args');
      if (argsIndex >= 0) options.serverNodeArgs = JSON.parse(argv[argsIndex + 1]!) as string[];
      return benchHttp(options);
    }
    case 'snapshot':
      return benchSnapshot({ quick });
  }
}

function send(message: SectionMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(message, null, 2));
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

const [section, ...rest] = process.argv.slice(2);
if (!(SECTIONS as readonly string[]).includes(section ?? '')) {
  process.stderr.write(`section_child: unknown section "${section}" (sections: ${SECTIONS.join(', ')})\n`);
  process.exit(2);
}
try {
  const result = await runSection(section as SectionName, rest);
  await send({ ok: true, result });
  process.exit(0);
} catch (error) {
  await send({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
