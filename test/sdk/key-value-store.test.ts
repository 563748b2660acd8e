/**
 * One behaviour suite for the SDK's KeyValueStore, run on both backends: the local file store
 * used directly, and the API through ApifyClient against the real local server.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import {
  closeKeyValueStores,
  getInput,
  KeyValueStore,
  KeyValueStoreError,
  openKeyValueStore,
  type OpenKeyValueStoreOptions,
} from '../../src/sdk/index.js';
import type { KeyPage, StorageBackend, StoreSummary } from '../../src/sdk/backend.js';
import { freshTestStorageOptions, testStorageKind } from '../server/helpers.js';

const TOKEN = 'sdk-suite-token-0123456789';
const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-sdk-'));
  tempDirs.push(dir);
  return dir;
}

interface Fixture {
  /** Options that select this backend. */
  options: OpenKeyValueStoreOptions;
  /** Environment that selects this backend when no options are given. */
  env: Record<string, string>;
  kind: 'local' | 'cloud';
  close(): Promise<void>;
}

async function localFixture(): Promise<Fixture> {
  const dir = await tempDir();
  return {
    kind: 'local',
    options: { storageDir: dir },
    env: { APIFY_LOCAL_STORAGE_DIR: dir },
    close: async () => {},
  };
}

async function cloudFixture(): Promise<Fixture> {
  const server: RunningServer = await startServer({
    host: '127.0.0.1',
    port: 0,
    ...((await freshTestStorageOptions()) ?? { storageDir: await tempDir() }),
    token: TOKEN,
    logger: { warn: () => {}, error: () => {} },
  });
  // The default consistency window: after drop(), reads of the store's records must not wait it out.
  const client = new ApifyClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
  return {
    kind: 'cloud',
    options: { client },
    env: { APIFY_TOKEN: TOKEN, APIFY_API_BASE_URL: server.url },
    close: () => server.close(),
  };
}

afterAll(async () => {
  await closeKeyValueStores();
  await Promise.all(tempDirs.map((dir) => fsp.rm(dir, { recursive: true, force: true })));
});

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

// On S3 storage (test/s3/sdk.test.ts) only the API backend runs: the local one is a folder.
const backends = [
  ['local', localFixture],
  ['cloud', cloudFixture],
] as const;
describe.each(testStorageKind() === 'folder' ? backends : backends.filter(([kind]) => kind === 'cloud'))('KeyValueStore on the %s backend', (kind, makeFixture) => {
  let fx: Fixture;
  let counter = 0;
  /** A fresh named store per test, so tests do not see each other's records. */
  const freshStore = () => openKeyValueStore(`store-${kind}-${++counter}`, fx.options);

  beforeAll(async () => {
    fx = await makeFixture();
  });
  afterAll(async () => {
    await fx.close();
  });

  it('opens the default store, named "default", and the same store again', async () => {
    const first = await openKeyValueStore(undefined, fx.options);
    const again = await openKeyValueStore(null, fx.options);
    expect(first).toBeInstanceOf(KeyValueStore);
    expect(first.name).toBe('default');
    expect(again.id).toBe(first.id);
    expect(first.backendKind).toBe(fx.kind);
  });

  it('opens a store by name (creating it) and then by id', async () => {
    const byName = await openKeyValueStore('by-name', fx.options);
    await byName.setValue('k', 1);
    const byId = await openKeyValueStore(byName.id, fx.options);
    expect(byId.id).toBe(byName.id);
    expect(byId.name).toBe('by-name');
    expect(await byId.getValue('k')).toBe(1);
  });

  it('refuses a name that is neither an existing id nor a valid store name', async () => {
    await expect(openKeyValueStore('-bad name-', fx.options)).rejects.toMatchObject({
      name: 'KeyValueStoreError',
      type: 'invalid-store-name',
    });
  });

  it('stores plain values as JSON and reads them back parsed', async () => {
    const store = await freshStore();
    const value = { a: 1, nested: { list: [1, 'two', null], ok: true } };
    await store.setValue('obj', value);
    await store.setValue('num', 42);
    await store.setValue('str', 'just a string');
    await store.setValue('arr', [3, 2, 1]);
    expect(await store.getValue('obj')).toEqual(value);
    expect(await store.getValue('num')).toBe(42);
    expect(await store.getValue('str')).toBe('just a string');
    expect(await store.getValue('arr')).toEqual([3, 2, 1]);
  });

  it('returns null, or the default value, for a missing record', async () => {
    const store = await freshStore();
    expect(await store.getValue('missing')).toBeNull();
    expect(await store.getValue('missing', { fallback: true })).toEqual({ fallback: true });
    await store.setValue('present', 0);
    expect(await store.getValue('present', 99)).toBe(0);
  });

  it('stores strings, Buffers and streams as they are with a content type', async () => {
    const store = await freshStore();
    await store.setValue('text', 'héllo wörld', { contentType: 'text/plain; charset=utf-8' });
    await store.setValue('xml', '<a>b</a>', { contentType: 'application/xml' });
    await store.setValue('png', PNG, { contentType: 'image/png' });
    await store.setValue('streamed', Readable.from([Buffer.from('ab'), Buffer.from('cd')]), {
      contentType: 'application/x-custom',
    });
    await store.setValue('raw-json', '{"x": [1]}', { contentType: 'application/json' });

    expect(await store.getValue('text')).toBe('héllo wörld');
    expect(await store.getValue('xml')).toBe('<a>b</a>');
    const png = await store.getValue('png');
    expect(Buffer.isBuffer(png)).toBe(true);
    expect((png as Buffer).equals(PNG)).toBe(true);
    expect(await store.getValue<Buffer>('streamed')).toEqual(Buffer.from('abcd'));
    expect(await store.getValue('raw-json')).toEqual({ x: [1] });
  });

  it('stores a Buffer without a content type as binary', async () => {
    const store = await freshStore();
    const bytes = Buffer.from([0, 1, 2, 255]);
    await store.setValue('bin', bytes);
    const back = await store.getValue('bin');
    expect(Buffer.isBuffer(back) && back.equals(bytes)).toBe(true);
  });

  it('decodes text in the charset of its content type', async () => {
    const store = await freshStore();
    await store.setValue('latin', Buffer.from([0x63, 0x61, 0x66, 0xe9]), { contentType: 'text/plain; charset=iso-8859-1' });
    expect(await store.getValue('latin')).toBe('café');
  });

  it('rejects a content type with a value that is not a string, Buffer or stream, storing nothing', async () => {
    const store = await freshStore();
    const error = await store.setValue('obj', { a: 1 }, { contentType: 'application/json' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyValueStoreError);
    expect(error).toMatchObject({ type: 'invalid-value' });
    expect((error as Error).message).toMatch(/string, Buffer or stream/);
    expect(await store.recordExists('obj')).toBe(false);
  });

  it('rejects values that cannot be JSON', async () => {
    const store = await freshStore();
    await expect(store.setValue('u', undefined)).rejects.toMatchObject({ type: 'invalid-value' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(store.setValue('c', circular)).rejects.toMatchObject({ type: 'invalid-value' });
    await expect(store.setValue('b', 10n)).rejects.toMatchObject({ type: 'invalid-value' });
  });

  it('deletes a record when the value is null', async () => {
    const store = await freshStore();
    await store.setValue('gone', { x: 1 });
    expect(await store.recordExists('gone')).toBe(true);
    await store.setValue('gone', null);
    expect(await store.recordExists('gone')).toBe(false);
    expect(await store.getValue('gone')).toBeNull();
    await store.setValue('never-there', null); // no error
  });

  it.each([
    ['a/b'],
    [''],
    ['x'.repeat(257)],
    ['with space'],
    ['ümlaut'],
  ])('rejects the invalid key %j with a typed error', async (key) => {
    const store = await freshStore();
    for (const call of [
      () => store.getValue(key),
      () => store.setValue(key, 1),
      () => store.recordExists(key),
      async () => store.getPublicUrl(key),
    ]) {
      await expect(call()).rejects.toMatchObject({ name: 'KeyValueStoreError', type: 'invalid-record-key' });
    }
  });

  it('accepts every character the API allows in a key', async () => {
    const store = await freshStore();
    const key = "a(b)'!-_.Z9";
    await store.setValue(key, 'ok');
    expect(await store.getValue(key)).toBe('ok');
    expect(await store.recordExists(key)).toBe(true);
  });

  it('iterates keys in order with index and size, honouring prefix and exclusiveStartKey', async () => {
    const store = await freshStore();
    for (const key of ['b-2', 'a-1', 'b-1', 'c-1']) await store.setValue(key, key);
    const seen: Array<[string, number, number]> = [];
    await store.forEachKey((key, index, { size }) => {
      seen.push([key, index, size]);
    });
    // '"a-1"' as JSON is 5 bytes.
    expect(seen).toEqual([
      ['a-1', 0, 5],
      ['b-1', 1, 5],
      ['b-2', 2, 5],
      ['c-1', 3, 5],
    ]);

    const prefixed: string[] = [];
    await store.forEachKey((key) => void prefixed.push(key), { prefix: 'b-' });
    expect(prefixed).toEqual(['b-1', 'b-2']);

    const after: string[] = [];
    await store.forEachKey((key) => void after.push(key), { exclusiveStartKey: 'b-1' });
    expect(after).toEqual(['b-2', 'c-1']);
  });

  it('awaits the callback of forEachKey before the next key', async () => {
    const store = await freshStore();
    for (const key of ['k1', 'k2', 'k3']) await store.setValue(key, 1);
    const events: string[] = [];
    await store.forEachKey(async (key) => {
      events.push(`start ${key}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${key}`);
    });
    expect(events).toEqual(['start k1', 'end k1', 'start k2', 'end k2', 'start k3', 'end k3']);
  });

  it('iterates keys, values and entries', async () => {
    const store = await freshStore();
    await store.setValue('one', { n: 1 });
    await store.setValue('two', 'text', { contentType: 'text/plain' });
    await store.setValue('three', PNG, { contentType: 'image/png' });

    const keys: string[] = [];
    for await (const key of store.keys()) keys.push(key);
    expect(keys).toEqual(['one', 'three', 'two']);

    const values: unknown[] = [];
    for await (const value of store.values({ prefix: 't' })) values.push(value);
    expect(values).toEqual([PNG, 'text']);

    const entries: Array<[string, unknown]> = [];
    for await (const entry of store.entries()) entries.push(entry);
    expect(entries).toEqual([
      ['one', { n: 1 }],
      ['three', PNG],
      ['two', 'text'],
    ]);
  });

  it('gives a public URL that reads the record', async () => {
    const store = await freshStore();
    await store.setValue('report', { total: 3 });
    const url = store.getPublicUrl('report');
    if (fx.kind === 'local') {
      expect(url).toMatch(/^file:\/\//);
      // As in Crawlee: the store's folder and the key; the record's own file has its extension.
      expect(fileURLToPath(url).endsWith(path.join('key_value_stores', store.name!, 'report'))).toBe(true);
      const file = fileURLToPath((await store.getRecordFileUrl('report'))!);
      expect(file.endsWith(path.join('key_value_stores', store.name!, 'report.json'))).toBe(true);
      expect(JSON.parse(await fsp.readFile(file, 'utf8'))).toEqual({ total: 3 });
    } else {
      expect(url).toContain(`/v2/key-value-stores/${store.id}/records/report`);
      // No token: the URL itself must grant the read.
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ total: 3 });
    }
  });

  it('stores and reads a value over 9 MiB', async () => {
    const store = await freshStore();
    const big = Buffer.alloc(9 * 1024 * 1024 + 4096);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    await store.setValue('big', big, { contentType: 'application/octet-stream' });
    const back = await store.getValue<Buffer>('big');
    expect(back!.length).toBe(big.length);
    expect(back!.equals(big)).toBe(true);
  });

  it('drops a store: its records are gone and writes fail with store-not-found', async () => {
    const store = await openKeyValueStore(`dropped-${kind}`, fx.options);
    await store.setValue('k', 1);
    await store.drop();
    await expect(store.setValue('k', 2)).rejects.toMatchObject({ name: 'KeyValueStoreError', type: 'store-not-found' });
    expect(await store.getValue('k')).toBeNull();
    await expect(store.forEachKey(() => {})).rejects.toMatchObject({ type: 'store-not-found' });

    const reopened = await openKeyValueStore(`dropped-${kind}`, fx.options);
    expect(reopened.id).not.toBe(store.id);
    expect(await reopened.getValue('k')).toBeNull();
  });

  it('reads INPUT, or the key named by ACTOR_INPUT_KEY, with getInput()', async () => {
    const store = await openKeyValueStore(undefined, fx.options);
    await store.setValue('INPUT', { from: 'INPUT' });
    await store.setValue('INPUT-METAMORPH-1', { from: 'metamorph' });
    expect(await getInput({ ...fx.options, env: {} })).toEqual({ from: 'INPUT' });
    expect(await getInput({ ...fx.options, env: { ACTOR_INPUT_KEY: 'INPUT-METAMORPH-1' } })).toEqual({ from: 'metamorph' });
  });

  it('picks this backend from the environment alone', async () => {
    const store = await openKeyValueStore('from-env', { env: fx.env });
    expect(store.backendKind).toBe(fx.kind);
    await store.setValue('k', 'v');
    // The same store, seen through the explicit options, has the value.
    expect(await (await openKeyValueStore('from-env', fx.options)).getValue('k')).toBe('v');
  });

  it('fails clearly on a JSON record whose body is not JSON', async () => {
    const store = await freshStore();
    await store.setValue('broken', '{not json', { contentType: 'application/json' });
    await expect(store.getValue('broken')).rejects.toMatchObject({ type: 'invalid-record-body' });
  });
});

// Folder and in-memory checks: not run again on S3 storage.
if (testStorageKind() === 'folder') {
  describe('KeyValueStore backend selection and paging', () => {
    it('uses the local storage directory from APIFY_LOCAL_STORAGE_DIR, else CRAWLEE_STORAGE_DIR', async () => {
      const apifyDir = await tempDir();
      const crawleeDir = await tempDir();
      const a = await openKeyValueStore('where', { env: { APIFY_LOCAL_STORAGE_DIR: apifyDir, CRAWLEE_STORAGE_DIR: crawleeDir } });
      await a.setValue('k', 1);
      const b = await openKeyValueStore('where', { env: { CRAWLEE_STORAGE_DIR: crawleeDir } });
      await b.setValue('k', 2);
      expect(a.backendKind).toBe('local');
      expect(JSON.parse(await fsp.readFile(path.join(apifyDir, 'key_value_stores', 'where', 'k.json'), 'utf8'))).toBe(1);
      expect(JSON.parse(await fsp.readFile(path.join(crawleeDir, 'key_value_stores', 'where', 'k.json'), 'utf8'))).toBe(2);
    });

    it('follows nextExclusiveStartKey across pages until it is null', async () => {
      const keys = ['a', 'b', 'c', 'd', 'e'];
      const calls: Array<string | undefined> = [];
      const backend = {
        kind: 'local',
        async listKeys(_id: string, args: { exclusiveStartKey?: string }): Promise<KeyPage> {
          calls.push(args.exclusiveStartKey);
          const start = args.exclusiveStartKey ? keys.indexOf(args.exclusiveStartKey) + 1 : 0;
          const items = keys.slice(start, start + 2).map((key) => ({ key, size: 1 }));
          const last = start + 2 >= keys.length;
          return { items, nextExclusiveStartKey: last ? null : items[items.length - 1]!.key };
        },
      } as unknown as StorageBackend;
      const info: StoreSummary = { id: 'x', name: 'x', createdAt: null, modifiedAt: null, accessedAt: null, storageBytes: null };
      const store = new KeyValueStore(backend, info);
      const seen: string[] = [];
      for await (const key of store.keys()) seen.push(key);
      expect(seen).toEqual(keys);
      expect(calls).toEqual([undefined, 'b', 'd']);
    });
  });
}
