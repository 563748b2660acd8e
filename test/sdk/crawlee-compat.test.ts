/**
 * The Crawlee / Apify SDK surface of KeyValueStore on both backends (local storage, and the client
 * against the real local server): listing as arrays and iterables, getRecord, the default-store
 * shortcuts, getAutoSavedValue, setValue's options, getPublicUrl, open({ id } | { name }), the
 * environment rules, and a Crawlee-style script run unchanged.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import {
  closeKeyValueStores,
  getAutoSavedValue,
  getInput,
  getInputOrThrow,
  getValue,
  KeyValueStore,
  openKeyValueStore,
  recordExists,
  resolveLocation,
  saveAutoSavedValues,
  setValue,
  type OpenKeyValueStoreOptions,
} from '../../src/sdk/index.js';
import { ensureBuilt } from '../cli/helpers.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../cli/proxy.js';

const TOKEN = 'sdk-compat-token-0123456789';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'test/sdk/fixtures/crawlee-script.mjs');
const SLOW = { timeout: 120_000 };
const run = promisify(execFile);
const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-sdk-compat-'));
  tempDirs.push(dir);
  return dir;
}

interface Fixture {
  kind: 'local' | 'cloud';
  options: OpenKeyValueStoreOptions;
  /** Environment that selects this backend on its own (for the default-store shortcuts and scripts). */
  env: Record<string, string>;
  close(): Promise<void>;
}

async function localFixture(): Promise<Fixture> {
  const dir = await tempDir();
  return { kind: 'local', options: { storageDir: dir }, env: { APIFY_LOCAL_STORAGE_DIR: dir }, close: async () => {} };
}

async function cloudFixture(): Promise<Fixture> {
  const server: RunningServer = await startServer({ host: '127.0.0.1', port: 0, storageDir: await tempDir(), token: TOKEN, logger: { warn() {}, error() {} } });
  return {
    kind: 'cloud',
    options: { client: new ApifyClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 }) },
    env: { APIFY_TOKEN: TOKEN, APIFY_API_BASE_URL: server.url },
    close: () => server.close(),
  };
}

/** Runs `fn` with these variables in process.env (the default-store shortcuts read it). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  const keys = ['APIFY_LOCAL_STORAGE_DIR', 'CRAWLEE_STORAGE_DIR', 'APIFY_TOKEN', 'APIFY_API_BASE_URL', 'APIFY_IS_AT_HOME',
    'ACTOR_DEFAULT_KEY_VALUE_STORE_ID', 'APIFY_DEFAULT_KEY_VALUE_STORE_ID', 'ACTOR_INPUT_KEY', 'APIFY_INPUT_KEY', 'CRAWLEE_INPUT_KEY'];
  for (const key of keys) delete process.env[key];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const key of keys) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

// The child processes import the built package (`apify-kv-client/sdk`).
beforeAll(() => ensureBuilt(), 180_000);

afterAll(async () => {
  await closeKeyValueStores();
  await Promise.all(tempDirs.map((dir) => fsp.rm(dir, { recursive: true, force: true })));
});

describe.each([
  ['local', localFixture],
  ['cloud', cloudFixture],
] as const)('Crawlee-compatible KeyValueStore on the %s backend', (kind, makeFixture) => {
  let fx: Fixture;
  let counter = 0;
  const freshStore = () => KeyValueStore.open(`compat-${kind}-${++counter}`, fx.options);
  /** A value as another process left it: locally through a newly loaded engine (this process's one caches its index). */
  const readAfresh = async (ref: string | null, key: string) => {
    await closeKeyValueStores();
    return (await KeyValueStore.open(ref, fx.options)).getValue(key);
  };

  beforeAll(async () => {
    fx = await makeFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('lists keys, values and entries both awaited as arrays and with for await; the store itself iterates entries', async () => {
    const store = await freshStore();
    await store.setValue('b', 2);
    await store.setValue('a', 'one', { contentType: 'text/plain' });
    await store.setValue('c', { three: 3 });

    expect(await store.keys()).toEqual(['a', 'b', 'c']);
    expect(await store.keys({ prefix: 'b' })).toEqual(['b']);
    expect(await store.values()).toEqual(['one', 2, { three: 3 }]);
    expect(await store.entries({ exclusiveStartKey: 'a' })).toEqual([['b', 2], ['c', { three: 3 }]]);

    const iterated: string[] = [];
    for await (const key of store.keys()) iterated.push(key);
    expect(iterated).toEqual(['a', 'b', 'c']);
    const pairs: Array<[string, unknown]> = [];
    for await (const pair of store) pairs.push(pair);
    expect(pairs).toEqual([['a', 'one'], ['b', 2], ['c', { three: 3 }]]);

    await expect(store.keys({ bogus: 1 } as never)).rejects.toMatchObject({ type: 'invalid-argument' });
  });

  it('getRecord gives the raw bytes and content type, or null', async () => {
    const store = await freshStore();
    await store.setValue('doc', { a: 1 });
    await store.setValue('bytes', Buffer.from([1, 2, 3]), { contentType: 'application/x-thing' });
    const doc = await store.getRecord('doc');
    expect(doc!.key).toBe('doc');
    expect(doc!.contentType).toMatch(/^application\/json/);
    expect(Buffer.isBuffer(doc!.value)).toBe(true);
    expect(JSON.parse(doc!.value.toString('utf8'))).toEqual({ a: 1 });
    expect(await store.getRecord('bytes')).toEqual({ key: 'bytes', value: Buffer.from([1, 2, 3]), contentType: 'application/x-thing' });
    expect(await store.getRecord('nothing')).toBeNull();
  });

  it('getValue with a default is typed without null', async () => {
    const store = await freshStore();
    const count = await store.getValue('count', 0);
    expectTypeOf(count).toEqualTypeOf<number>();
    expect(count).toBe(0);
    const maybe = await store.getValue<number>('count');
    expectTypeOf(maybe).toEqualTypeOf<number | null>();
    expect(maybe).toBeNull();
  });

  it('setValue refuses unknown or malformed options, storing nothing', async () => {
    const store = await freshStore();
    for (const options of [{ timeoutSec: 5 }, { contenttype: 'text/plain' }, { timeoutSecs: -1 }, { maxRetries: 1.5 }, { doNotRetryTimeouts: 'yes' }]) {
      await expect(store.setValue('k', 1, options as never)).rejects.toMatchObject({ name: 'KeyValueStoreError', type: 'invalid-argument' });
    }
    expect(await store.recordExists('k')).toBe(false);
    await store.setValue('k', 1, { timeoutSecs: 30, maxRetries: 2, doNotRetryTimeouts: true });
    expect(await store.getValue('k')).toBe(1);
  });

  it('getPublicUrl is a string at once, as in Crawlee, even for a missing record', async () => {
    const store = await freshStore();
    const url = store.getPublicUrl('missing');
    expect(typeof url).toBe('string');
    expect(`${url}`).not.toContain('[object Promise]');
    if (kind === 'local') expect(fileURLToPath(url)).toBe(path.join(fx.options.storageDir!, 'key_value_stores', store.name ?? store.id, 'missing'));
    else expect(url).toContain(`/v2/key-value-stores/${store.id}/records/missing`);
  });

  it('getValue gives the default for a stored null, as Crawlee does', async () => {
    const store = await freshStore();
    await store.setValue('nothing', null);
    expect(await store.getValue('nothing')).toBeNull();
    expect(await store.getValue('nothing', { fallback: true })).toEqual({ fallback: true });
    await store.setValue('zero', 0);
    expect(await store.getValue('zero', 5)).toBe(0);
  });

  it("takes Crawlee's collection option in forEachKey, keys, values and entries", async () => {
    const store = await freshStore();
    await store.setValue('a', 1);
    const seen: string[] = [];
    if (kind === 'local') {
      // Local stores have no schema: every key, as Crawlee's local storage lists them.
      await store.forEachKey((key) => void seen.push(key), { collection: 'images' });
      expect(seen).toEqual(['a']);
      expect(await store.keys({ collection: 'images' })).toEqual(['a']);
      expect(await store.values({ collection: 'images' })).toEqual([1]);
      expect(await store.entries({ collection: 'images' })).toEqual([['a', 1]]);
    } else {
      // The server answers for the schema it has none of: the option reached it.
      await expect(store.keys({ collection: 'images' })).rejects.toMatchObject({ statusCode: 400 });
    }
    await expect(store.keys({ collection: 5 as never })).rejects.toMatchObject({ type: 'invalid-argument' });
  });

  it('opens { id } (which must exist) and { name } (created when missing)', async () => {
    const byName = await KeyValueStore.open({ name: `named-${kind}` }, fx.options);
    expect(byName.name).toBe(`named-${kind}`);
    await byName.setValue('k', 'v');
    const byId = await KeyValueStore.open({ id: byName.id }, fx.options);
    expect(byId.name).toBe(`named-${kind}`);
    expect(await byId.getValue('k')).toBe('v');
    await expect(KeyValueStore.open({ id: 'NoSuchStoreId123' }, fx.options)).rejects.toMatchObject({ type: 'store-not-found' });
    await expect(KeyValueStore.open({ id: 'x', name: 'y' } as never, fx.options)).rejects.toMatchObject({ type: 'invalid-argument' });
  });

  it('the default-store shortcuts use the store named by ACTOR_DEFAULT_KEY_VALUE_STORE_ID, else "default"', async () => {
    await withEnv(fx.env, async () => {
      await setValue('shortcut', { n: 1 });
      expect(await recordExists('shortcut')).toBe(true);
      expect(await getValue('shortcut')).toEqual({ n: 1 });
      expect(await KeyValueStore.getValue('shortcut')).toEqual({ n: 1 });
      expect(await getValue('absent', 'fallback')).toBe('fallback');
      expect((await openKeyValueStore()).name).toBe('default');
    });
    const run = await KeyValueStore.open(`run-store-${kind}`, fx.options);
    await withEnv({ ...fx.env, ACTOR_DEFAULT_KEY_VALUE_STORE_ID: run.id }, async () => {
      await KeyValueStore.setValue('in-run', true);
      expect(await KeyValueStore.recordExists('in-run')).toBe(true);
      expect((await KeyValueStore.open()).id).toBe(run.id);
    });
    expect(await run.getValue('in-run')).toBe(true);
    await withEnv({ ...fx.env, APIFY_DEFAULT_KEY_VALUE_STORE_ID: `by-name-${kind}` }, async () => {
      expect((await openKeyValueStore()).name).toBe(`by-name-${kind}`);
    });
  });

  it('reads the input from INPUT or the key in ACTOR_INPUT_KEY / APIFY_INPUT_KEY / CRAWLEE_INPUT_KEY; getInputOrThrow', async () => {
    const store = await KeyValueStore.open(`input-${kind}`, fx.options);
    const env = { ACTOR_DEFAULT_KEY_VALUE_STORE_ID: store.id };
    const options = { ...fx.options, env };
    await expect(getInputOrThrow(options)).rejects.toMatchObject({ type: 'input-not-found' });
    expect(await getInput(options)).toBeNull();
    await store.setValue('INPUT', { from: 'INPUT' });
    await store.setValue('ALT', { from: 'ALT' });
    expect(await getInputOrThrow(options)).toEqual({ from: 'INPUT' });
    for (const name of ['ACTOR_INPUT_KEY', 'APIFY_INPUT_KEY', 'CRAWLEE_INPUT_KEY']) {
      expect(await getInput({ ...fx.options, env: { ...env, [name]: 'ALT' } })).toEqual({ from: 'ALT' });
    }
  });

  it('getAutoSavedValue returns one object per key, saves it, and restores it', async () => {
    const store = await freshStore();
    const state = await store.getAutoSavedValue('STATE', { count: 0 });
    expect(await store.getAutoSavedValue('STATE')).toBe(state);
    state.count = 5;
    await saveAutoSavedValues();
    expect(await store.getValue('STATE')).toEqual({ count: 5 });
    await store.setValue('OLD', { count: 9 });
    expect(await store.getAutoSavedValue('OLD', { count: 0 })).toEqual({ count: 9 });
    await withEnv(fx.env, async () => {
      const shared = await getAutoSavedValue<{ list: number[] }>('SHARED', { list: [] });
      shared.list.push(1);
      await saveAutoSavedValues();
      expect(await getValue('SHARED')).toEqual({ list: [1] });
    });
  });

  it('saves auto-saved values on SIGTERM and on an interval in a separate process', SLOW, async () => {
    const code = `
      import { KeyValueStore } from 'apify-kv-client/sdk';
      const state = await KeyValueStore.getAutoSavedValue('SIGNAL_STATE', { ticks: 0 });
      const store = await KeyValueStore.open();
      const other = await store.getAutoSavedValue('TICKS', { n: 0 }, { intervalMillis: 50 });
      state.ticks = 42;
      other.n = 7;
      setInterval(() => {}, 1000);
      console.log('ready');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...fx.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.on('close', () => reject(new Error(`exited early: ${stderr}`)));
    });
    // The interval save happens while the process runs.
    for (let i = 0; i < 200 && (await readAfresh(null, 'TICKS')) === null; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await readAfresh(null, 'TICKS')).toEqual({ n: 7 });
    child.kill('SIGTERM');
    const [, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect(signal).toBe('SIGTERM');
    expect(stderr).toBe('');
    expect(await readAfresh(null, 'SIGNAL_STATE')).toEqual({ ticks: 42 });
  });

  it('runs a Crawlee-style script unchanged, twice, with its state restored', SLOW, async () => {
    const env = { PATH: process.env.PATH ?? '', ...fx.env };
    const inputStore = await KeyValueStore.open(null, fx.options);
    await inputStore.setValue('INPUT', { startUrls: ['https://a.example', 'https://b.example'] });
    const first = JSON.parse((await run(process.execPath, [SCRIPT], { cwd: ROOT, env })).stdout);
    expect(first).toEqual({
      titles: [
        [0, 'Title of https://a.example', true],
        [1, 'Title of https://b.example', true],
      ],
      keys: ['page-0', 'page-1', 'report.html'],
      entries: [
        ['page-0', 'https://a.example'],
        ['page-1', 'https://b.example'],
      ],
      exists: true,
      missing: { fallback: true },
      lastRun: { runs: 1 },
    });
    const second = JSON.parse((await run(process.execPath, [SCRIPT], { cwd: ROOT, env })).stdout);
    expect(second.lastRun).toEqual({ runs: 2 });
    expect(second.keys).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'report.html']);
    expect(await readAfresh(null, 'CRAWL_STATE')).toEqual({ runs: 2, pages: ['page-0', 'page-1', 'page-2', 'page-3'] });
    expect(await readAfresh('crawl-results', 'report.html')).toBe('<h1>4 pages</h1>');
  });
});

describe('setValue request options through the API', () => {
  let server: RunningServer;
  let proxy: FaultProxy;
  let fault: (method: string, p: string) => Fault = () => null;
  let store: KeyValueStore;

  beforeAll(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, storageDir: await tempDir(), token: TOKEN, logger: { warn() {}, error() {} } });
    proxy = await startFaultProxy(server.url, (method, p) => fault(method, p));
    // The client's own default is patient; each call below sets its own limits.
    store = await KeyValueStore.open('options', { client: new ApifyClient({ baseUrl: proxy.url, token: TOKEN }) });
  });
  afterEach(() => {
    fault = () => null;
  });
  afterAll(async () => {
    await proxy.close();
    await server.close();
  });

  const puts = () => proxy.seen.filter((line) => line === `PUT /v2/key-value-stores/${store.id}/records/k`).length;

  it('applies maxRetries', async () => {
    let failures = 2;
    fault = (method) => (method === 'PUT' && failures-- > 0 ? { kind: 'status', status: 500 } : null);
    const before = puts();
    await expect(store.setValue('k', 1, { maxRetries: 1 })).rejects.toMatchObject({ statusCode: 500 });
    expect(puts() - before).toBe(2);
    failures = 2;
    await store.setValue('k', 2, { maxRetries: 2 });
    expect(puts() - before).toBe(5);
    expect(await store.getValue('k')).toBe(2);
  });

  it('applies timeoutSecs, and doNotRetryTimeouts makes one attempt where retries would be made', SLOW, async () => {
    fault = (method) => (method === 'PUT' ? { kind: 'hang' } : null);
    let before = puts();
    await expect(store.setValue('k', 3, { timeoutSecs: 0.3, maxRetries: 2 })).rejects.toMatchObject({ name: 'ApifyNetworkError', type: 'timeout' });
    expect(puts() - before).toBe(3);
    before = puts();
    await expect(store.setValue('k', 3, { timeoutSecs: 0.3, maxRetries: 2, doNotRetryTimeouts: true })).rejects.toMatchObject({ type: 'timeout' });
    expect(puts() - before).toBe(1);
  });
});

describe('where data goes (resolveLocation)', () => {
  it('is local by default and with a token alone, and the API when the environment or options say so', () => {
    expect(resolveLocation({}, { APIFY_TOKEN: 't' })).toEqual({ kind: 'local', storageDir: path.resolve('./storage') });
    expect(resolveLocation({}, { CRAWLEE_STORAGE_DIR: '/c' })).toEqual({ kind: 'local', storageDir: '/c' });
    expect(resolveLocation({}, { APIFY_IS_AT_HOME: '1', APIFY_TOKEN: 't' })).toEqual({ kind: 'cloud', baseUrl: 'https://api.apify.com', token: 't' });
    expect(resolveLocation({}, { APIFY_IS_AT_HOME: '0' }).kind).toBe('local');
    expect(resolveLocation({}, { APIFY_API_BASE_URL: 'http://127.0.0.1:9/' })).toEqual({ kind: 'cloud', baseUrl: 'http://127.0.0.1:9', token: undefined });
    expect(resolveLocation({ forceCloud: true }, {})).toMatchObject({ kind: 'cloud', baseUrl: 'https://api.apify.com' });
    expect(resolveLocation({ storageDir: '/s' }, { APIFY_IS_AT_HOME: '1' })).toEqual({ kind: 'local', storageDir: '/s' });
    expect(() => resolveLocation({ storageDir: '/s', forceCloud: true }, {})).toThrow(/not both/);
  });

  it('the SDK with only APIFY_TOKEN set writes to local storage and creates nothing remote', async () => {
    const dir = await tempDir();
    const store = await openKeyValueStore(undefined, { env: { APIFY_TOKEN: 'tok', APIFY_LOCAL_STORAGE_DIR: dir } });
    expect(store.backendKind).toBe('local');
    await store.setValue('k', 1);
    expect(JSON.parse(await fsp.readFile(path.join(dir, 'key_value_stores', 'default', 'k.json'), 'utf8'))).toBe(1);
  });
});
