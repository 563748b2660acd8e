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
    esbuildPlugins: [browserPlatform],
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
    esbuildPlugins: [browserPlatform],
    outExtension: () => ({ js: '.js' }),
  },
]);
