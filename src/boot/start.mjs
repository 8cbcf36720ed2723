// `npm start`: the server from its TypeScript sources, as one esbuild bundle (source_bundle.mjs)
// rather than through a loader that transforms module by module. Stack traces name the .ts files.
import { sourceBundleUrl } from './source_bundle.mjs';

process.setSourceMapsEnabled(true);
await import(sourceBundleUrl(new URL('../cli/server.ts', import.meta.url)).href);
