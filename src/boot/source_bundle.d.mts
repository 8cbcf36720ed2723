/** See source_bundle.mjs: the esbuild bundle of a TypeScript entry module, reused or built now. */
export function sourceBundleUrl(entry: URL | string): URL;
