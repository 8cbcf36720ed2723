// Entry of a worker thread when the server runs from TypeScript sources: on Node 20, tsx's
// `--import tsx` does not register its hooks inside worker threads, and workers do not inherit
// the main thread's hooks, so the worker registers tsx itself and then imports the TypeScript
// module named by its first argument. Compiled builds (npm run build) start the .js worker directly.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
