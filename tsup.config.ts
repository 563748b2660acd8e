import path from 'node:path';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

/**
 * The client keeps everything Node-specific (zlib, fs streams, keep-alive agents, the
 * node:http fast path) behind `src/client/platform/node.ts`. The browser bundle swaps that
 * module for `src/client/platform/browser.ts`, so no Node built-in reaches the bundle.
 */
const browserPlatform: Plugin = {
  name: 'browser-platform',
  setup(build) {
    build.onResolve({ filter: /platform\/node(\.js)?$/ }, () => ({
      path: path.resolve('src/client/platform/browser.ts'),
    }));
  },
};

/**
 * Stand-ins for two dependency modules the browser client never runs, to keep the bundles within
 * their 30 KiB gzipped budget:
 *
 * - axios's XMLHttpRequest adapter (about 1.2 KB gzipped). The browser client always uses axios's
 *   fetch adapter: only fetch hands back a response body as a stream. A client created with
 *   `adapter: 'xhr'` from a bundle fails its first request with a message saying so.
 * - is-retry-allowed (about 0.4 KB), the list of error codes behind axios-retry's default retry
 *   condition. The client always passes a retry condition of its own (`http/retry.ts`).
 */
const STUBS = [
  {
    module: /^\.\/xhr\.js$/,
    importer: /[\\/]axios[\\/]lib[\\/]adapters$/,
    contents: `export default function xhrAdapter() {
  return Promise.reject(new Error("axios's xhr adapter is not in this bundle: use adapter 'fetch'"));
}`,
  },
  {
    module: /^is-retry-allowed$/,
    importer: /[\\/]axios-retry[\\/]/,
    contents: 'export default function isRetryAllowed() { return true; }',
  },
];

const browserStubs: Plugin = {
  name: 'browser-stubs',
  setup(build) {
    STUBS.forEach((stub, index) => {
      build.onResolve({ filter: stub.module }, (args) =>
        stub.importer.test(args.resolveDir) ? { path: String(index), namespace: 'stub' } : undefined,
      );
    });
    build.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ loader: 'js', contents: STUBS[Number(args.path)]!.contents }));
  },
};

const dtsOptions = { compilerOptions: { ignoreDeprecations: '6.0' } };

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'server/index': 'src/server/index.ts',
      'sdk/index': 'src/sdk/index.ts',
    },
    format: ['esm', 'cjs'],
    platform: 'node',
    target: 'node20',
    dts: dtsOptions,
    // The CJS build gets `import.meta.url` from `__filename` (the server finds the browser bundle by it).
    shims: true,
    sourcemap: true,
    clean: true,
    splitting: false,
  },
  {
    entry: { 'cli/index': 'src/cli/index.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    splitting: false,
  },
  {
    entry: { 'browser/apify-kv.min': 'src/index.ts' },
    format: ['iife'],
    globalName: 'ApifyKv',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    noExternal: [/.*/],
    esbuildPlugins: [browserPlatform, browserStubs],
    outExtension: () => ({ js: '.js' }),
  },
  {
    entry: { 'browser/apify-kv.esm': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    noExternal: [/.*/],
    esbuildPlugins: [browserPlatform, browserStubs],
    outExtension: () => ({ js: '.js' }),
  },
]);
