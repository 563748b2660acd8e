/**
 * Recovery from each state a crash can leave, built by hand: the same files a write
 * would have left had the process died between two of its steps.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { fileStemFor } from '../../src/storage/fs/layout.js';
import { waitFor } from './crawlee.js';
import { listFiles, makeTempDir, openStorage, readAll, removeDir } from './helpers.js';

/** A key too long for its own file names: stored under a hashed stem. */
const LONG_KEY = `long-${'k'.repeat(245)}`;

let dir: string;
let storage: FileStorage;
let storeId: string;
let folder: string;
let tempDir: string;
let key: string;
/** A data file name of the key under test. */
let file: (ext: string) => string;

const etag = (data: string) => `"${createHash('md5').update(data).digest('hex')}"`;
const sidecar = (key: string, contentType: string, extension: string, data: string) =>
  JSON.stringify({ key, contentType, extension, size: Buffer.byteLength(data), etag: etag(data), modifiedAt: new Date().toISOString() });

async function setUp(recordKey: string) {
  key = recordKey;
  file = (ext) => `${fileStemFor(key)}.${ext}`;
  dir = await makeTempDir();
  storage = await openStorage(dir);
  storeId = (await storage.getOrCreateStore({ name: 'store', user: LOCAL_USER })).store.id;
  await storage.putRecord(storeId, key, Buffer.from('old body'), { contentType: 'text/plain; charset=ascii' });
  await storage.close();
  folder = path.join(dir, 'key_value_stores', 'store');
  tempDir = path.join(folder, '.tmp');
  await fsp.mkdir(tempDir, { recursive: true });
}

afterEach(async () => {
  await storage.close();
  await removeDir(dir);
});

async function reopenAndRead() {
  storage = await openStorage(dir);
  const record = await storage.getRecord(storeId, key);
  return record && { contentType: record.contentType, etag: record.etag, body: (await readAll(record.openStream())).toString() };
}

describe.each([
  ['a short key', 'k'],
  ['a long key', LONG_KEY],
])('recovery on open, %s', (_, recordKey) => {
  beforeEach(() => setUp(recordKey));

  it('drops a write that died before its body was moved into place', async () => {
    await fsp.writeFile(path.join(tempDir, 's1.data'), 'new body');
    await fsp.writeFile(path.join(tempDir, 's1.meta'), sidecar(key, 'application/json', 'json', 'new body'));
    expect(await reopenAndRead()).toEqual({ contentType: 'text/plain; charset=ascii', etag: etag('old body'), body: 'old body' });
    expect(await listFiles(tempDir)).toEqual([]);
  });

  it('finishes a write that died between moving the body and its metadata (same extension)', async () => {
    // Body already renamed over the old one; the old sidecar still names the old content type.
    await fsp.writeFile(path.join(folder, file('txt')), 'new body');
    await fsp.writeFile(path.join(tempDir, 's1.meta'), sidecar(key, 'text/plain; charset=utf-8', 'txt', 'new body'));
    expect(await reopenAndRead()).toEqual({ contentType: 'text/plain; charset=utf-8', etag: etag('new body'), body: 'new body' });
    expect(await listFiles(tempDir)).toEqual([]);
  });

  it('finishes a write that changed the extension and died before the old body was removed', async () => {
    await fsp.writeFile(path.join(folder, file('json')), '{"new":1}');
    await fsp.writeFile(path.join(tempDir, 's1.meta'), sidecar(key, 'application/json', 'json', '{"new":1}'));
    expect(await reopenAndRead()).toEqual({ contentType: 'application/json', etag: etag('{"new":1}'), body: '{"new":1}' });
    expect((await fsp.readdir(folder)).sort()).toEqual(['.tmp', '__metadata__.json', file('__metadata__.json'), file('json')].sort());
    expect((await storage.listKeys(storeId)).items).toEqual([{ key, size: 9 }]);
  });

  it('ignores a leftover sidecar that does not describe the body on disk', async () => {
    await fsp.writeFile(path.join(tempDir, 's1.meta'), sidecar(key, 'application/json', 'txt', 'some other body'));
    await fsp.writeFile(path.join(tempDir, 's2.meta'), '{ torn');
    await fsp.writeFile(path.join(tempDir, 's3.meta'), sidecar('../../escape', 'text/plain', 'txt', 'x'));
    expect(await reopenAndRead()).toMatchObject({ contentType: 'text/plain; charset=ascii', body: 'old body' });
    expect(await listFiles(tempDir)).toEqual([]);
    expect(await fsp.readdir(path.dirname(dir))).not.toContain('escape.__metadata__.json');
  });

  it('removes leftover temp files and half-made or half-deleted store folders', async () => {
    await fsp.writeFile(path.join(tempDir, 'x.tmp'), '{"half":');
    await fsp.writeFile(path.join(tempDir, 'y.data'), 'partial');
    const stores = path.join(dir, 'key_value_stores');
    await fsp.mkdir(path.join(stores, '.creating-abc'));
    await fsp.writeFile(path.join(stores, '.creating-abc', '__metadata__.json'), '{}');
    await fsp.mkdir(path.join(stores, '.deleting-def'));
    await fsp.writeFile(path.join(stores, '.deleting-def', 'k.txt'), 'gone');
    expect(await reopenAndRead()).toMatchObject({ body: 'old body' });
    expect((await fsp.readdir(stores)).sort()).toEqual(['store']);
    expect(await listFiles(tempDir)).toEqual([]);
    expect((await storage.listStores({ unnamed: true })).total).toBe(1);
  });

  it('drops the sidecar of a delete that died after removing the body, at the next delete of the key (never by a scan)', async () => {
    await fsp.rm(path.join(folder, file('txt')));
    expect(await reopenAndRead()).toBeNull();
    expect((await storage.listKeys(storeId)).items).toEqual([]);
    expect(await fsp.readdir(folder)).toContain(file('__metadata__.json'));
    expect(await storage.deleteRecord(storeId, key)).toBe(false);
    expect(await fsp.readdir(folder)).not.toContain(file('__metadata__.json'));
  });

  it('works from the folder name while store metadata is unreadable, and never replaces that file', async () => {
    await fsp.writeFile(path.join(folder, '__metadata__.json'), '{ torn');
    storage = await openStorage(dir);
    const store = (await storage.getStore('store'))!;
    expect(store.name).toBe('store');
    // The byte count is taken from the folder in the background.
    const sized = await waitFor(async () => {
      const bytes = (await storage.getStore('store'))!.stats.storageBytes;
      return bytes > 0 ? bytes : undefined;
    });
    expect(sized).toBe(8);
    expect((await readAll((await storage.getRecord(store.id, key))!.openStream())).toString()).toBe('old body');
    // Maybe another program is writing it: left as it is, even by a close that saves.
    await storage.close();
    expect(await fsp.readFile(path.join(folder, '__metadata__.json'), 'utf8')).toBe('{ torn');
  });

  it('takes the name recorded in the metadata over the folder name, leaving the folder where it is', async () => {
    const metaPath = path.join(folder, '__metadata__.json');
    const meta = JSON.parse(await fsp.readFile(metaPath, 'utf8'));
    await fsp.writeFile(metaPath, JSON.stringify({ ...meta, name: 'renamed' }));
    const folders = await fsp.readdir(path.join(dir, 'key_value_stores'));
    storage = await openStorage(dir);
    expect((await storage.getStore('renamed'))!.id).toBe(storeId);
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual(folders);
    expect((await readAll((await storage.getRecord(storeId, key))!.openStream())).toString()).toBe('old body');
  });

  it('notices a record file replaced or removed by hand while open', async () => {
    storage = await openStorage(dir);
    await storage.listKeys(storeId);
    await fsp.writeFile(path.join(tempDir, 'edited'), 'edited by hand');
    await fsp.rename(path.join(tempDir, 'edited'), path.join(folder, file('txt')));
    const record = (await storage.getRecord(storeId, key))!;
    expect(record.size).toBe(14);
    expect(record.etag).toBe(etag('edited by hand'));
    expect((await readAll(record.openStream())).toString()).toBe('edited by hand');
    await fsp.rm(path.join(folder, file('txt')));
    expect(await storage.getRecord(storeId, key)).toBeNull();
    expect((await storage.listKeys(storeId)).items).toEqual([]);
  });
});

describe('long-key files', () => {
  beforeEach(() => setUp(LONG_KEY));

  it('leaves hashed files alone that have no sidecar naming their key', async () => {
    const other = `${LONG_KEY.slice(0, -1)}x`;
    // A body without its sidecar, and a sidecar whose key does not hash to its name.
    await fsp.writeFile(path.join(folder, `${fileStemFor(other)}.txt`), 'orphan');
    await fsp.writeFile(path.join(folder, `${fileStemFor(other)}.__metadata__.json`), sidecar(LONG_KEY, 'text/plain', 'txt', 'orphan'));
    expect(await reopenAndRead()).toMatchObject({ body: 'old body' });
    expect((await storage.listKeys(storeId)).items).toEqual([{ key, size: 8 }]);
    expect(await storage.getRecord(storeId, other)).toBeNull();
    expect((await storage.getStore(storeId))!.stats.storageBytes).toBe(8);
  });

  it('keeps the hashed record over the plain file it replaced when a crash left both', async () => {
    // As Crawlee would name it: in full. Older than the record we wrote.
    const plain = path.join(folder, `${LONG_KEY}.json`);
    await fsp.writeFile(plain, '{"stale":true}');
    await fsp.utimes(plain, new Date(0), new Date(0));
    expect(await reopenAndRead()).toMatchObject({ contentType: 'text/plain; charset=ascii', body: 'old body' });
    // Not provably ours (no sidecar of ours names it): kept, and not served.
    expect(await fsp.readdir(folder)).toContain(`${LONG_KEY}.json`);
    expect((await storage.listKeys(storeId)).items).toEqual([{ key, size: 8 }]);
  });
});
