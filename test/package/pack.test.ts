/**
 * The packed package as users get it: its files, publint and arethetypeswrong on the tarball
 * (both local, no network), and an install leaner than apify-client's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { measureOffline } from '../../scripts/install-size.mjs';
import { ensureBuilt } from '../cli/helpers.js';
import { packedFiles, ROOT } from './helpers.js';

let work: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(os.tmpdir(), 'apify-kv-pack-'));
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim()
    .split('\n')
    .pop()!;
  tarball = path.join(work, name);
  files = packedFiles();
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('holds the builds, the docs users need and the licence, and no tests, sources or Node source maps', () => {
    for (const needed of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/server/index.js', 'dist/sdk/index.cjs', 'dist/cli/index.js', 'dist/browser/apify-kv.min.js', 'dist/browser/apify-kv.esm.js', 'dist/browser/apify-kv-bulk.min.js', 'dist/browser/apify-kv-bulk.esm.js', 'dist/browser/apify-kv-bulk.d.ts', 'dist/browser/apify-kv-integrity.min.js', 'dist/browser/apify-kv-integrity.esm.js', 'dist/browser/apify-kv-integrity.d.ts', 'dist/browser/apify-kv-progress.min.js', 'dist/browser/apify-kv-progress.esm.js', 'dist/browser/apify-kv-progress.d.ts', 'dist/web/index.html']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((file) => !file.startsWith('dist/') && !['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].includes(file))).toEqual([]);
    // Source maps only for what is served to browsers (the bundles and the storage browser).
    expect(files.filter((file) => file.endsWith('.map') && !/^dist\/(browser|web)\//.test(file))).toEqual([]);
    expect(files.some((file) => /\.test\.|(^|\/)test\/|^src\//.test(file))).toBe(false);
  });

  it('publint finds nothing to report', async () => {
    const bytes = readFileSync(tarball);
    const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const { messages } = await publint({ pack: { tarball: data }, strict: true });
    expect(messages).toEqual([]);
  }, 60_000);

  it('arethetypeswrong finds every entry point typed under node10, node16 and bundler resolution', () => {
    const bin = path.join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    let out: string;
    try {
      out = execFileSync(process.execPath, [bin, tarball, '--format', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // attw exits 1 when it reports a problem; its JSON is still on stdout.
      out = String((error as { stdout?: string }).stdout ?? '');
    }
    const report = JSON.parse(out) as { analysis: { problems: { kind: string; entrypoint: string; resolutionKind: string }[]; entrypoints: Record<string, unknown> } };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(['.', './browser', './browser/bulk', './browser/integrity', './browser/progress', './package.json', './sdk', './server']);
    // The expected findings: the browser bundles are ES modules only, so `require` from Node 16+ CJS cannot load them.
    expect(report.analysis.problems).toEqual([
      { kind: 'CJSResolvesToESM', entrypoint: './browser', resolutionKind: 'node16-cjs' },
      { kind: 'CJSResolvesToESM', entrypoint: './browser/bulk', resolutionKind: 'node16-cjs' },
      { kind: 'CJSResolvesToESM', entrypoint: './browser/integrity', resolutionKind: 'node16-cjs' },
      { kind: 'CJSResolvesToESM', entrypoint: './browser/progress', resolutionKind: 'node16-cjs' },
    ]);
    // It type-checks every entry point under four resolutions: 20-30 s on a quiet 2-core machine.
  }, 180_000);

  it('installs fewer packages and fewer bytes than apify-client', () => {
    const { own, peer } = measureOffline(ROOT);
    expect(peer.packages).toBeGreaterThan(10);
    expect(own.packages).toBeLessThan(peer.packages);
    expect(own.bytes).toBeLessThan(peer.bytes);
    // The optional AWS SDK is not part of it.
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).filter((name) => name.startsWith('@aws-sdk/'))).toEqual([]);
  }, 60_000);
});
