/**
 * The browser bundle: built with the project's own esbuild plugins (the ones in tsup.config.ts
 * that swap `platform/node` for `platform/browser` and put stand-ins for dependency modules the
 * browser client never runs), it must hold no Node built-in, stay within the size budget, and
 * work: its client sends a request through the fetch adapter, and says clearly what is not there.
 * The bulk methods come in bundles of their own that install onto the main bundle's classes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import nock from 'nock';
import { build, type Options } from 'tsup';
import { beforeAll, describe, expect, it } from 'vitest';
import tsupConfig from '../../tsup.config.js';
import { API, useNock } from './helpers.js';

useNock();

/** 32 KiB (32,768 bytes) gzipped at level 9: the client with the apify-client v2 surface, adaptive rate limiting and the retry budget. */
const BUDGET_BYTES = 32_768;
/** The bulk bundle's budget (scripts/size.mjs checks the same). */
const BULK_BUDGET_BYTES = 4_096;
/** The integrity add-on's budget (scripts/size.mjs checks the same). */
const INTEGRITY_BUDGET_BYTES = 2_048;
/** The progress add-on's budget (scripts/size.mjs checks the same). */
const PROGRESS_BUDGET_BYTES = 1_024;
let outDir: string;
let bundles: Record<string, string>;
let bulkBundles: Record<string, string>;
let integrityBundles: Record<string, string>;
let progressBundles: Record<string, string>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

function browserOptions(globalName = 'ApifyKv'): Options {
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as Options[];
  const iife = configs.find((c) => c.globalName === globalName);
  if (!iife?.esbuildPlugins?.length) throw new Error(`tsup.config.ts has no browser build of ${globalName} with its plugins`);
  return iife;
}

/** The globals a browser page has that the bundles use. */
function browserSandbox(): Record<string, unknown> {
  const sandbox: Record<string, unknown> = {};
  for (const name of [
    'fetch', 'Request', 'Response', 'Headers', 'FormData', 'Blob', 'ReadableStream', 'TextEncoder', 'TextDecoder',
    'URL', 'URLSearchParams', 'AbortController', 'AbortSignal', 'DOMException', 'setTimeout', 'clearTimeout', 'console',
  ]) {
    sandbox[name] = (globalThis as Record<string, unknown>)[name];
  }
  sandbox.window = sandbox;
  sandbox.self = sandbox;
  sandbox.globalThis = sandbox;
  return sandbox;
}

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), 'kv-browser-'));
  const base = browserOptions();
  for (const format of ['iife', 'esm'] as const) {
    await build({
      config: false,
      entry: { [`apify-kv.${format}`]: 'src/browser.ts' },
      format: [format],
      globalName: 'ApifyKv',
      platform: 'browser',
      target: base.target,
      minify: true,
      noExternal: [/.*/],
      esbuildPlugins: base.esbuildPlugins,
      outDir,
      outExtension: () => ({ js: '.js' }),
      silent: true,
    });
  }
  bundles = {
    iife: readFileSync(path.join(outDir, 'apify-kv.iife.js'), 'utf8'),
    esm: readFileSync(path.join(outDir, 'apify-kv.esm.js'), 'utf8'),
  };
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as Options[];
  const bulkEsm = configs.find((c) => typeof c.entry === 'object' && 'browser/apify-kv-bulk.esm' in c.entry);
  if (!bulkEsm?.esbuildPlugins?.length) throw new Error('tsup.config.ts has no ES module build of the bulk bundle');
  for (const [name, base] of [['bulk.iife', browserOptions('ApifyKvBulk')], ['bulk.esm', bulkEsm]] as const) {
    await build({ ...base, config: false, entry: { [name]: 'src/browser-bulk.ts' }, outDir, sourcemap: false, onSuccess: undefined, silent: true });
  }
  bulkBundles = {
    iife: readFileSync(path.join(outDir, 'bulk.iife.js'), 'utf8'),
    esm: readFileSync(path.join(outDir, 'bulk.esm.js'), 'utf8'),
  };
  for (const format of ['min', 'esm'] as const) {
    const integrity = configs.find((c) => typeof c.entry === 'object' && `browser/apify-kv-integrity.${format}` in c.entry);
    if (!integrity?.esbuildPlugins?.length) throw new Error(`tsup.config.ts has no ${format} build of the integrity bundle`);
    await build({ ...integrity, config: false, entry: { [`integrity.${format}`]: 'src/browser-integrity.ts' }, outDir, sourcemap: false, onSuccess: undefined, silent: true });
  }
  integrityBundles = {
    iife: readFileSync(path.join(outDir, 'integrity.min.js'), 'utf8'),
    esm: readFileSync(path.join(outDir, 'integrity.esm.js'), 'utf8'),
  };
  for (const format of ['min', 'esm'] as const) {
    const progress = configs.find((c) => typeof c.entry === 'object' && `browser/apify-kv-progress.${format}` in c.entry);
    if (!progress) throw new Error(`tsup.config.ts has no ${format} build of the progress bundle`);
    await build({ ...progress, config: false, entry: { [`progress.${format}`]: 'src/browser-progress.ts' }, outDir, sourcemap: false, onSuccess: undefined, silent: true });
  }
  progressBundles = {
    iife: readFileSync(path.join(outDir, 'progress.min.js'), 'utf8'),
    esm: readFileSync(path.join(outDir, 'progress.esm.js'), 'utf8'),
  };
  // `npm test` builds dist/ first: check what would be published too, unless it is older than
  // the client's sources (a leftover of an earlier build says nothing about this code).
  const newestSource = Math.max(...sourceFiles('src/client').concat('src/index.ts').map((f) => statSync(f).mtimeMs));
  for (const file of ['apify-kv.min.js', 'apify-kv.esm.js', 'apify-kv-bulk.min.js', 'apify-kv-bulk.esm.js']) {
    const built = path.join('dist/browser', file);
    const into = file.includes('bulk') ? bulkBundles : bundles;
    if (existsSync(built) && statSync(built).mtimeMs >= newestSource) into[`dist/${file}`] = readFileSync(built, 'utf8');
  }
}, 120_000);

describe('browser bundle', () => {
  it('contains no require( and no node: import', () => {
    for (const [name, code] of Object.entries({ ...bundles, ...bulkBundles, ...integrityBundles, ...progressBundles })) {
      expect(code, name).not.toMatch(/\brequire\(/);
      expect(code, name).not.toMatch(/["']node:/);
      expect(code, name).not.toMatch(/\bfrom\s*["'](fs|zlib|http|https|stream|crypto)["']/);
    }
  });

  it(`is at most ${BUDGET_BYTES} bytes gzipped`, () => {
    for (const [name, code] of Object.entries(bundles)) {
      expect(gzipSync(code, { level: 9 }).length, name).toBeLessThanOrEqual(BUDGET_BYTES);
    }
    for (const [name, code] of Object.entries(bulkBundles)) {
      expect(gzipSync(code, { level: 9 }).length, name).toBeLessThanOrEqual(BULK_BUDGET_BYTES);
    }
    for (const [name, code] of Object.entries(integrityBundles)) {
      expect(gzipSync(code, { level: 9 }).length, name).toBeLessThanOrEqual(INTEGRITY_BUDGET_BYTES);
    }
    for (const [name, code] of Object.entries(progressBundles)) {
      expect(gzipSync(code, { level: 9 }).length, name).toBeLessThanOrEqual(PROGRESS_BUDGET_BYTES);
    }
  });

  it('leaves out the integrity checks (no MD5 in the main bundle; the integrity add-on brings them): the client sends no Content-MD5', () => {
    for (const [name, code] of Object.entries(bundles)) expect(code, name).not.toContain('Content-MD5');
  });

  it('leaves the bulk methods to the bulk bundle, which takes the classes and errors from the main one', () => {
    for (const [name, code] of Object.entries(bundles)) {
      // The bulk options are checked only by the bulk code.
      expect(code, name).not.toContain('stopOnError');
      expect(code, name).toContain("import 'apify-kv-client/browser/bulk'");
    }
    for (const [name, code] of Object.entries(bulkBundles)) {
      expect(code, name).toContain('stopOnError');
      expect(code, name).not.toMatch(/axios|class \w+ extends Error/);
    }
    expect(bulkBundles.esm).toMatch(/from\s*"\.\/apify-kv\.esm\.js"/);
  });

  it('runs the bulk methods once the bulk bundle is loaded after the main one', async () => {
    const sandbox = browserSandbox();
    vm.runInNewContext(bundles.iife!, sandbox);
    const kv = sandbox.ApifyKv as typeof import('../../src/index.js');
    const client = new kv.ApifyClient({ token: 't', storeId: 's1', maxRetries: 0 });
    expect(() => client.keyValueStore('s1').putRecords([])).toThrow("putRecords is in the bulk bundle: import 'apify-kv-client/browser/bulk'");
    expect(() => client.keyValueStores.getRecords([])).toThrow('getRecords is in the bulk bundle');

    vm.runInNewContext(bulkBundles.iife!, sandbox);
    expect((sandbox.ApifyKvBulk as { DEFAULT_BULK_CONCURRENCY: number }).DEFAULT_BULK_CONCURRENCY).toBe(8);
    const scope = nock(API)
      .put('/v2/key-value-stores/s1/records/a').reply(200)
      .put('/v2/key-value-stores/s1/records/b').reply(200)
      .get('/v2/key-value-stores/s1/records/a').reply(200, '1', { 'content-type': 'application/json' });
    const results: Array<{ key: string; ok: boolean; error?: unknown }> = [];
    for await (const r of client.keyValueStore('s1').putRecords([{ key: 'a', value: 1 }, { key: 'b', value: 2 }, { key: 'bad key', value: 3 }])) results.push(r);
    expect(results.filter((r) => r.ok).map((r) => r.key).sort()).toEqual(['a', 'b']);
    // The bad key fails with the main bundle's own error class: there is one of it.
    expect(results.find((r) => !r.ok)?.error).toBeInstanceOf(kv.ApifyArgumentError);
    const gets: unknown[] = [];
    for await (const r of client.keyValueStores.getRecords(['a'])) gets.push(r);
    expect(gets).toEqual([{ key: 'a', ok: true, record: expect.objectContaining({ key: 'a', body: 1 }) }]);
    expect(() => client.keyValueStore('s1').deleteRecords([], { concurrency: 0 })).toThrow(kv.ApifyArgumentError);
    scope.done();
  });

  it('the integrity add-on brings the checks and its MD5, and takes the errors from the main bundle', () => {
    for (const [name, code] of Object.entries(integrityBundles)) {
      expect(code, name).toContain('Content-MD5');
      expect(code, name).not.toMatch(/axios|class \w+ extends Error/);
    }
    expect(integrityBundles.esm).toMatch(/from\s*"\.\/apify-kv\.esm\.js"/);
    expect(() => vm.runInNewContext(integrityBundles.iife!, browserSandbox())).toThrow('load apify-kv.min.js before apify-kv-integrity.min.js');
  });

  it('checks downloads against their ETag once the integrity add-on is loaded after the main bundle', async () => {
    const sandbox = browserSandbox();
    vm.runInNewContext(bundles.iife!, sandbox);
    const kv = sandbox.ApifyKv as typeof import('../../src/index.js');
    const client = new kv.ApifyClient({ token: 't', storeId: 's1', maxRetries: 0 });
    const sent = Buffer.from('the stored bytes');
    const etag = `"${createHash('md5').update(sent).digest('hex')}"`;
    const flipped = Buffer.from(sent);
    flipped[0] ^= 1;
    const reply = { 'content-type': 'application/octet-stream', etag };
    // Without the add-on the flipped body is read unchecked.
    let scope = nock(API).get('/v2/key-value-stores/s1/records/k').reply(200, flipped, reply);
    const unchecked = await client.keyValueStores.getRecord({ key: 'k' });
    expect(Buffer.from(unchecked!.body as ArrayBuffer)).toEqual(flipped);
    scope.done();

    vm.runInNewContext(integrityBundles.iife!, sandbox);
    scope = nock(API).get('/v2/key-value-stores/s1/records/k').times(2).reply(200, flipped, reply);
    const error = await client.keyValueStores.getRecord({ key: 'k' }).catch((e) => e);
    expect(kv.isApifyApiError(error) && error.type).toBe('integrity-mismatch');
    scope.done();
    scope = nock(API).get('/v2/key-value-stores/s1/records/k').reply(200, sent, reply);
    const intact = await client.keyValueStores.getRecord({ key: 'k' });
    expect(Buffer.from(intact!.body as ArrayBuffer)).toEqual(sent);
    scope.done();
  });

  it('the progress add-on brings the XMLHttpRequest upload adapter and nothing of axios or the client', () => {
    for (const [name, code] of Object.entries(progressBundles)) {
      expect(code.match(/new XMLHttpRequest/g) ?? [], name).toHaveLength(1);
      expect(code, name).toContain('apify-kv-client.progress');
      expect(code, name).not.toMatch(/\bimport\b|axios|class \w+ extends Error/);
    }
    // It needs nothing from the main bundle, so it may come first.
    const sandbox = browserSandbox();
    vm.runInNewContext(progressBundles.iife!, sandbox);
    expect(vm.runInContext("typeof globalThis[Symbol.for('apify-kv-client.progress')]", sandbox)).toBe('function');
  });

  it('says to load the main bundle first when the bulk bundle comes alone', () => {
    expect(() => vm.runInNewContext(bulkBundles.iife!, browserSandbox())).toThrow('load apify-kv.min.js before apify-kv-bulk.min.js');
  });

  it('leaves out what the browser client never runs: the xhr adapter, forms, CancelToken, status names, error codes', () => {
    for (const [name, code] of Object.entries(bundles)) {
      // axios's xhr adapter stays out, and so does the client's own upload adapter (the progress add-on's).
      expect(code, name).not.toMatch(/XMLHttpRequest|onreadystatechange|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
      // axios's rules for repeated headers (its raw header parser is a plain one).
      expect(code, name).not.toContain('max-forwards');
      expect(code, name).not.toMatch(/NetworkAuthenticationRequired|multipart\/form-data; boundary|executor must be a function/);
      expect(code, name).toContain("axios's xhr adapter is not in this bundle");
      // axios's `params` serializer and same-origin check (the client builds its query strings itself).
      expect(code, name).not.toMatch(/_pairs|document\.baseURI/);
      expect(code, name).toContain("axios's params option is not in the apify-kv-client browser bundle: put the query in the URL");
    }
  });

  it('defines the ApifyKv global whose client works over fetch', async () => {
    nock(API, { reqheaders: { authorization: 'Bearer browser-token' } })
      .get('/v2/key-value-stores/s1/records/k')
      .reply(200, { from: 'browser' }, { 'content-type': 'application/json' });
    const sandbox: Record<string, unknown> = {};
    for (const name of [
      'fetch', 'Request', 'Response', 'Headers', 'FormData', 'Blob', 'ReadableStream', 'TextEncoder', 'TextDecoder',
      'URL', 'URLSearchParams', 'AbortController', 'AbortSignal', 'DOMException', 'setTimeout', 'clearTimeout', 'console',
    ]) {
      sandbox[name] = (globalThis as Record<string, unknown>)[name];
    }
    sandbox.window = sandbox;
    sandbox.self = sandbox;
    vm.runInNewContext(bundles.iife!, sandbox);
    const kv = sandbox.ApifyKv as typeof import('../../src/index.js');
    expect(typeof kv.ApifyClient).toBe('function');
    const client = new kv.ApifyClient({ token: 'browser-token', storeId: 's1', maxRetries: 0 });
    const record = await client.keyValueStores.getRecord({ key: 'k' });
    expect(record?.body).toEqual({ from: 'browser' });
    const bytes = await client.keyValueStores.getRecord({ key: 'k', disableBodyParser: true }).catch((e) => e);
    // The second read has no mock: it fails as a network error, typed by the bundle's own class.
    expect(bytes.name).toBe('ApifyNetworkError');
    const xhr = new kv.ApifyClient({ storeId: 's1', maxRetries: 3, adapter: 'xhr' });
    const error = await xhr.keyValueStores.getRecord({ key: 'k' }).catch((e) => e);
    expect(error.message).toBe("axios's xhr adapter is not in this bundle: use adapter 'fetch'");
  });

  it('names the host it could not reach and the likely causes (server down, CORS, mixed content)', async () => {
    const sandbox: Record<string, unknown> = {};
    for (const name of ['fetch', 'Request', 'Response', 'Headers', 'Blob', 'ReadableStream', 'TextEncoder', 'TextDecoder',
      'URL', 'URLSearchParams', 'AbortController', 'AbortSignal', 'DOMException', 'setTimeout', 'clearTimeout', 'console']) {
      sandbox[name] = (globalThis as Record<string, unknown>)[name];
    }
    // A page served over https, calling a local server over http.
    sandbox.location = { protocol: 'https:', origin: 'https://app.example' };
    sandbox.window = sandbox;
    sandbox.self = sandbox;
    vm.runInNewContext(bundles.iife!, sandbox);
    const kv = sandbox.ApifyKv as typeof import('../../src/index.js');
    // A refused connection: nothing listens on port 9 of loopback. nock lets it through.
    nock.enableNetConnect('127.0.0.1:9');
    const client = new kv.ApifyClient({ baseUrl: 'http://127.0.0.1:9', token: 'secret-browser-token', maxRetries: 0 });
    const error = (await client.keyValueStore('s1').getRecord('k').catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('ApifyNetworkError');
    expect(error.message).toContain('could not reach 127.0.0.1:9');
    expect(error.message).toContain('server may be down');
    expect(error.message).toContain('CORS');
    expect(error.message).toContain('mixed content');
    expect(error.message).not.toContain('secret-browser-token');
  });
});
