/**
 * The SDK on local storage against the files as they are on disk: `getRecordFileUrl` points at the
 * record's real file (the store's own folder, hashed names, the file's own extension), and
 * stores Crawlee wrote under names the API would refuse open by those names, unchanged.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { closeKeyValueStores, KeyValueStore, openKeyValueStore } from '../../src/sdk/index.js';
import { LocalBackend } from '../../src/sdk/local-backend.js';
import { crawleeWrite, recordFiles, snapshot } from '../storage/crawlee.js';

const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-sdk-files-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(() => closeKeyValueStores());
afterAll(() => Promise.all(tempDirs.map((dir) => fsp.rm(dir, { recursive: true, force: true }))));

/** The file a public URL names, which must exist and hold `body`. */
async function fileOf(url: string | undefined, body: string | Buffer): Promise<string> {
  expect(url).toMatch(/^file:\/\//);
  const file = fileURLToPath(url!);
  expect(await fsp.readFile(file)).toEqual(Buffer.isBuffer(body) ? body : Buffer.from(body));
  return file;
}

const storesDir = (dir: string) => path.join(dir, 'key_value_stores');

describe('getRecordFileUrl on local storage names the record file as it is on disk', () => {
  it('in a store whose folder is not its name: renamed, unnamed then named, Crawlee-named', async () => {
    const dir = await tempDir();
    const renamed = await openKeyValueStore('before', { storageDir: dir });
    await renamed.setValue('k', 'v', { contentType: 'text/plain' });
    await closeKeyValueStores(); // one engine on a folder at a time
    const storage = new FileStorage({ storageDir: dir, sweep: false });
    await storage.updateStore(renamed.id, { name: 'after' });
    const { store: unnamed } = await storage.getOrCreateStore({ user: LOCAL_USER });
    await storage.putRecord(unnamed.id, 'k', Buffer.from('u'), { contentType: 'text/plain' });
    await storage.updateStore(unnamed.id, { name: 'named-later' });
    await storage.close();
    await crawleeWrite(dir, 'my_store', { INPUT: { value: { a: 1 }, contentType: 'application/json; charset=utf-8' } });

    const after = await openKeyValueStore('after', { storageDir: dir });
    expect(path.relative(dir, await fileOf(await after.getRecordFileUrl('k'), 'v'))).toBe(path.join('key_value_stores', 'before', 'k.txt'));
    const later = await openKeyValueStore('named-later', { storageDir: dir });
    expect(path.relative(dir, await fileOf(await later.getRecordFileUrl('k'), 'u'))).toBe(path.join('key_value_stores', unnamed.id, 'k.txt'));
    const crawlee = await openKeyValueStore('my_store', { storageDir: dir });
    const file = await fileOf(await crawlee.getRecordFileUrl('INPUT'), JSON.stringify({ a: 1 }, null, 2));
    expect(path.relative(dir, file)).toBe(path.join('key_value_stores', 'my_store', 'INPUT.json'));
  });

  it('for a key too long for a plain file name (a hashed name)', async () => {
    const dir = await tempDir();
    const store = await openKeyValueStore('long', { storageDir: dir });
    const key = `k${'x'.repeat(254)}`;
    await store.setValue(key, 'long body', { contentType: 'text/plain' });
    const file = await fileOf(await store.getRecordFileUrl(key), 'long body');
    expect(path.basename(file)).not.toContain(key);
    expect(path.dirname(file)).toBe(path.join(storesDir(dir), 'long'));
  });

  it('for keys that differ only in case on a case-insensitive file system (a hashed name for the second)', async () => {
    const dir = await tempDir();
    const backend = new LocalBackend(dir, new FileStorage({ storageDir: dir, sweep: false, caseInsensitive: true }));
    try {
      const { store } = await backend.getOrCreateStore('cases');
      await backend.putRecord(store.id, 'Key', Buffer.from('upper'), 'text/plain');
      await backend.putRecord(store.id, 'key', Buffer.from('lower'), 'text/plain');
      const upper = await fileOf(await backend.recordFileUrl(store, 'Key'), 'upper');
      const lower = await fileOf(await backend.recordFileUrl(store, 'key'), 'lower');
      expect(path.basename(upper)).toBe('Key.txt');
      expect(path.basename(lower).toLowerCase()).not.toBe('key.txt');
    } finally {
      await backend.close();
    }
  });

  it("for files whose extension is not the one the content type maps to (Crawlee's own names, hand-made files)", async () => {
    const dir = await tempDir();
    await crawleeWrite(dir, 'site', { 'page.html': { value: '<p>hi</p>', contentType: 'text/html' } });
    await fsp.writeFile(path.join(storesDir(dir), 'site', 'old.htm'), '<p>old</p>');
    await fsp.writeFile(path.join(storesDir(dir), 'site', 'README'), 'no extension');
    await fsp.writeFile(path.join(storesDir(dir), 'site', 'photo.jpeg'), Buffer.from([0xff, 0xd8, 0xff]));
    const before = await snapshot(dir);

    const store = await openKeyValueStore('site', { storageDir: dir });
    const expected: Array<[string, string, string | Buffer]> = [
      ['page.html', 'page.html', '<p>hi</p>'],
      ['old', 'old.htm', '<p>old</p>'],
      ['README', 'README', 'no extension'],
      ['photo', 'photo.jpeg', Buffer.from([0xff, 0xd8, 0xff])],
    ];
    for (const [key, fileName, body] of expected) {
      expect(path.basename(await fileOf(await store.getRecordFileUrl(key), body))).toBe(fileName);
    }
    expect(await store.getRecordFileUrl('missing')).toBeUndefined();
    // Asking wrote nothing.
    expect(await snapshot(dir)).toEqual(before);
  });
});

/** Names Crawlee allows that the API refuses for a new store, one of them with a `~` that a store reference reads as `username~name`. */
const ODD = ['my_store', 'Store.v2', 'crawl~2021'] as const;
const INPUT = { value: { start: 'https://example.com' }, contentType: 'application/json; charset=utf-8' };
const PAGE = { value: '<p>hello</p>', contentType: 'text/html' };

for (const writeMetadata of [true, false]) {
  describe(`SDK on stores Crawlee named (metadata ${writeMetadata ? 'on' : 'off'})`, () => {
    it('opens each by its name in every form, reads and iterates it, writing nothing', async () => {
      const dir = await tempDir();
      for (const name of ODD) await crawleeWrite(dir, name, { INPUT, 'page.html': PAGE }, writeMetadata);
      const before = await snapshot(dir);

      for (const name of ODD) {
        const opened = [
          await openKeyValueStore(name, { storageDir: dir }),
          await openKeyValueStore({ name }, { storageDir: dir }),
          await KeyValueStore.open(name, { storageDir: dir }),
        ];
        for (const store of opened) {
          expect(store.name).toBe(name);
          expect(store.id).toBe(opened[0]!.id);
          expect(await store.getValue('INPUT')).toEqual(INPUT.value);
          const keys: string[] = [];
          await store.forEachKey(async (key) => {
            keys.push(key);
          });
          expect(keys).toEqual(['INPUT', writeMetadata ? 'page.html' : 'page']);
        }
      }
      await closeKeyValueStores();
      expect(await snapshot(dir)).toEqual(before);
    });

    it('writes into each under its own folder, renaming and adding no store, Crawlee files byte-identical', async () => {
      const dir = await tempDir();
      for (const name of ODD) await crawleeWrite(dir, name, { INPUT, 'page.html': PAGE }, writeMetadata);
      const before = await recordFiles(dir);

      for (const name of ODD) {
        const store = await openKeyValueStore({ name }, { storageDir: dir });
        await store.setValue('OUTPUT', { from: name });
        expect(await (await KeyValueStore.open(name, { storageDir: dir })).getValue('OUTPUT')).toEqual({ from: name });
      }
      await closeKeyValueStores();

      expect((await fsp.readdir(storesDir(dir))).sort()).toEqual([...ODD].sort());
      const after = await recordFiles(dir);
      for (const [file, hash] of Object.entries(before)) expect(after[file]).toBe(hash);
      for (const name of ODD) {
        expect(JSON.parse(await fsp.readFile(path.join(storesDir(dir), name, 'OUTPUT.json'), 'utf8'))).toEqual({ from: name });
      }
      // Crawlee reads what we wrote, in the store of that name.
      const { MemoryStorage } = await import('@crawlee/memory-storage');
      const crawlee = new MemoryStorage({ localDataDirectory: dir, writeMetadata: false, persistStorage: false });
      const info = await crawlee.keyValueStores().getOrCreate('my_store');
      const record = await crawlee.keyValueStore(info.id).getRecord('OUTPUT');
      expect(record?.value).toEqual({ from: 'my_store' });
    });
  });
}
