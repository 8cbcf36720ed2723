// Entry of the test worker threads: on Node 20, tsx's `--import tsx` does not register its hooks
// inside worker threads (tsx 4.23 registers there only on Node >= 22.3), and workers do not
// inherit the main thread's hooks, so the worker registers tsx itself and then imports the
// TypeScript module named by its first argument.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
