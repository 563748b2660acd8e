import { createHash } from 'node:crypto';
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage, IntegrityMismatchError, LOCAL_USER, PayloadTooLargeError, StorageError, type StorageUser } from '../../src/storage/index.js';
import { listFiles, makeTempDir, openStorage, readAll, removeDir } from './helpers.js';

const ALICE: StorageUser = { id: 'alice-id', username: 'alice' };
const BOB: StorageUser = { id: 'bob-id', username: 'bob' };

let dir: string;
let storage: FileStorage;

beforeEach(async () => {
  dir = await makeTempDir();
  storage = await openStorage(dir);
});

afterEach(async () => {
  await storage.close();
  await removeDir(dir);
});

async function named(name = 'my-store', user = LOCAL_USER) {
  return (await storage.getOrCreateStore({ name, user })).store;
}

async function put(storeId: string, key: string, body: string | Uint8Array, contentType = 'text/plain') {
  return storage.putRecord(storeId, key, typeof body === 'string' ? Buffer.from(body) : body, { contentType });
}

async function body(storeId: string, key: string, s: FileStorage = storage): Promise<Buffer | null> {
  const record = await s.getRecord(storeId, key);
  return record ? readAll(record.openStream()) : null;
}

const storeDir = (folder: string) => path.join(dir, 'key_value_stores', folder);

describe('records', () => {
  it('round-trips JSON, text and binary with their exact content types', async () => {
    const store = await named();
    const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    await put(store.id, 'INPUT', '{"a":1}', 'application/json; charset=utf-8');
    await put(store.id, 'notes', 'héllo', 'text/plain; charset=utf-8');
    await put(store.id, 'blob', binary, 'application/x-custom');
    await put(store.id, 'photo', binary, 'image/png');

    for (const s of [storage, await reopen()]) {
      const json = await s.getRecord(store.id, 'INPUT');
      expect(json).toMatchObject({ key: 'INPUT', contentType: 'application/json; charset=utf-8', size: 7 });
      expect((await readAll(json!.openStream())).toString()).toBe('{"a":1}');
      expect((await s.getRecord(store.id, 'notes'))!.contentType).toBe('text/plain; charset=utf-8');
      expect((await body(store.id, 'notes', s))!.toString()).toBe('héllo');
      expect((await s.getRecord(store.id, 'blob'))!.contentType).toBe('application/x-custom');
      expect(await body(store.id, 'blob', s)).toEqual(binary);
      expect((await s.getRecord(store.id, 'photo'))!.contentType).toBe('image/png');
    }
    expect(await listFiles(storeDir('my-store'))).toEqual([
      'INPUT.__metadata__.json',
      'INPUT.json',
      '__metadata__.json',
      'blob.__metadata__.json',
      'blob.bin',
      'notes.__metadata__.json',
      'notes.txt',
      'photo.__metadata__.json',
      'photo.png',
    ]);
    const sidecar = JSON.parse(await fsp.readFile(path.join(storeDir('my-store'), 'notes.__metadata__.json'), 'utf8'));
    expect(sidecar).toMatchObject({ key: 'notes', contentType: 'text/plain; charset=utf-8', extension: 'txt' });
  });

  it('gives an md5 ETag, size and modification time', async () => {
    const store = await named();
    const info = await put(store.id, 'k', 'hello');
    expect(info).toMatchObject({ key: 'k', size: 5, etag: '"5d41402abc4b2a76b9719d911017c592"' });
    const record = await storage.getRecord(store.id, 'k');
    expect(record!.etag).toBe(info.etag);
    expect(record!.modifiedAt).toBeInstanceOf(Date);
  });

  it('streams a Readable body and reads byte ranges', async () => {
    const store = await named();
    const data = Buffer.alloc(300_000, 7);
    data.write('start', 0);
    data.write('end', data.length - 3);
    const source = Readable.from((function* () {
      for (let i = 0; i < data.length; i += 10_000) yield data.subarray(i, i + 10_000);
    })());
    const info = await storage.putRecord(store.id, 'big', source, { contentType: 'application/octet-stream' });
    expect(info.size).toBe(data.length);
    const record = await storage.getRecord(store.id, 'big');
    expect(await readAll(record!.openStream())).toEqual(data);
    expect((await readAll(record!.openStream({ start: 0, end: 4 }))).toString()).toBe('start');
    expect((await readAll(record!.openStream({ start: data.length - 3, end: data.length + 100 }))).toString()).toBe('end');
  });

  it('stores empty bodies', async () => {
    const store = await named();
    await put(store.id, 'empty', '');
    const record = await storage.getRecord(store.id, 'empty');
    expect(record!.size).toBe(0);
    expect(await readAll(record!.openStream())).toEqual(Buffer.alloc(0));
  });

  it('changes the file extension when the content type changes, leaving one data file', async () => {
    const store = await named();
    await put(store.id, 'k', '{}', 'application/json');
    await put(store.id, 'k', 'text', 'text/plain');
    expect(await listFiles(storeDir('my-store'))).toEqual(['__metadata__.json', 'k.__metadata__.json', 'k.txt']);
    const s = await reopen();
    expect((await s.getRecord(store.id, 'k'))!.contentType).toBe('text/plain');
  });

  it('returns null for missing records and false when deleting them', async () => {
    const store = await named();
    expect(await storage.getRecord(store.id, 'nope')).toBeNull();
    expect(await storage.deleteRecord(store.id, 'nope')).toBe(false);
    await put(store.id, 'k', 'v');
    expect(await storage.deleteRecord(store.id, 'k')).toBe(true);
    expect(await storage.getRecord(store.id, 'k')).toBeNull();
    expect(await listFiles(storeDir('my-store'))).toEqual(['__metadata__.json']);
  });

  it('throws store-not-found for unknown stores', async () => {
    await expect(storage.getRecord('nope', 'k')).rejects.toMatchObject({ code: 'store-not-found' });
    await expect(put('nope', 'k', 'v')).rejects.toMatchObject({ code: 'store-not-found' });
    await expect(storage.listKeys('nope')).rejects.toMatchObject({ code: 'store-not-found' });
    await expect(storage.deleteRecord('nope', 'k')).rejects.toMatchObject({ code: 'store-not-found' });
    await expect(storage.updateStore('nope', { name: 'x' })).rejects.toMatchObject({ code: 'store-not-found' });
    expect(await storage.deleteStore('nope')).toBe(false);
  });

  it('serializes concurrent writes to one key: the last to commit wins, complete', async () => {
    const store = await named();
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(20_000 + i * 1000, 65 + i));
    const finished: number[] = [];
    const results = await Promise.all(
      bodies.map((b, i) => storage.putRecord(store.id, 'same', Readable.from([b.subarray(0, 5000), b.subarray(5000)]), {
        contentType: i % 2 ? 'text/plain' : 'application/json',
      }).then((info) => {
        finished.push(i);
        return info;
      })),
    );
    expect(results).toHaveLength(20);
    const last = finished[finished.length - 1]!;
    const record = await storage.getRecord(store.id, 'same');
    expect(await readAll(record!.openStream())).toEqual(bodies[last]);
    expect(record!.contentType).toBe(last % 2 ? 'text/plain' : 'application/json');
    const ext = last % 2 ? 'txt' : 'json';
    expect((await listFiles(storeDir('my-store'))).filter((f) => f.startsWith('same'))).toEqual(['same.__metadata__.json', `same.${ext}`]);
    expect(await listFiles(path.join(storeDir('my-store'), '.tmp'))).toEqual([]);
  });

  it('keeps reads consistent while the key is rewritten', async () => {
    const store = await named();
    await put(store.id, 'k', 'a'.repeat(1000));
    const writes = Array.from({ length: 30 }, (_, i) => put(store.id, 'k', String.fromCharCode(98 + (i % 20)).repeat(1000 + i)));
    const reads = Array.from({ length: 30 }, async () => {
      const record = await storage.getRecord(store.id, 'k');
      const data = await readAll(record!.openStream()).catch((error: unknown) => error);
      if (data instanceof Buffer) {
        expect(data.length).toBe(record!.size);
        expect(new Set(data.toString()).size).toBe(1);
      } else {
        // The file was swapped between reading metadata and opening it: reported, not mixed.
        expect(data).toBeInstanceOf(StorageError);
      }
    });
    await Promise.all([...writes, ...reads]);
  });

  it('rejects a body over maxBytes, leaving the old record and no temp file', async () => {
    const store = await named();
    await put(store.id, 'k', 'old value');
    const source = new PassThrough();
    const writing = storage.putRecord(store.id, 'k', source, { contentType: 'text/plain', maxBytes: 10 });
    source.write(Buffer.alloc(6, 120));
    source.write(Buffer.alloc(6, 121));
    const error = await writing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ limit: 10, received: 12 });
    expect(source.destroyed).toBe(false);
    await expect(storage.putRecord(store.id, 'k', Buffer.alloc(11), { contentType: 'text/plain', maxBytes: 10 })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect((await body(store.id, 'k'))!.toString()).toBe('old value');
    expect(await listFiles(path.join(storeDir('my-store'), '.tmp'))).toEqual([]);
    await expect(storage.putRecord(store.id, 'k', Buffer.alloc(10), { contentType: 'text/plain', maxBytes: 10 })).resolves.toMatchObject({ size: 10 });
  });

  it('checks an uploader\'s MD5 with the one it computes for the ETag, before anything is stored', async () => {
    const store = await named();
    await put(store.id, 'k', 'old value');
    expect(storage.checksMd5).toBe(true);
    const md5 = (text: string) => createHash('md5').update(text).digest();
    for (const data of [() => Buffer.from('new value'), () => Readable.from([Buffer.from('new '), Buffer.from('value')])]) {
      const refused = await storage.putRecord(store.id, 'k', data(), { contentType: 'text/plain', md5: md5('new valuf') }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(IntegrityMismatchError);
      expect((await body(store.id, 'k'))!.toString()).toBe('old value');
      expect(await listFiles(path.join(storeDir('my-store'), '.tmp'))).toEqual([]);
    }
    const stored = await storage.putRecord(store.id, 'k', Buffer.from('new value'), { contentType: 'text/plain', md5: md5('new value') });
    expect(stored.etag).toBe(`"${md5('new value').toString('hex')}"`);
    expect((await body(store.id, 'k'))!.toString()).toBe('new value');
  });

  it('fails a write whose body stream errors, leaving the old record', async () => {
    const store = await named();
    await put(store.id, 'k', 'old');
    const source = new PassThrough();
    const writing = storage.putRecord(store.id, 'k', source, { contentType: 'text/plain' });
    source.write('partial');
    source.destroy(new Error('client went away'));
    await expect(writing).rejects.toThrow('client went away');
    expect((await body(store.id, 'k'))!.toString()).toBe('old');
    expect(await listFiles(path.join(storeDir('my-store'), '.tmp'))).toEqual([]);
  });

  it('keeps keys that look like metadata file names apart from metadata', async () => {
    const store = await named();
    await put(store.id, '__metadata__', '{"evil":true}', 'application/json');
    await put(store.id, 'x.__metadata__', '{"x":1}', 'application/json');
    await put(store.id, 'x', 'plain');
    const s = await reopen();
    expect((await s.getStore(store.id))!.name).toBe('my-store');
    expect((await body(store.id, '__metadata__', s))!.toString()).toBe('{"evil":true}');
    expect((await s.getRecord(store.id, '__metadata__'))!.contentType).toBe('application/json');
    expect((await body(store.id, 'x.__metadata__', s))!.toString()).toBe('{"x":1}');
    expect((await s.getRecord(store.id, 'x'))!.contentType).toBe('text/plain');
    expect((await s.listKeys(store.id)).items.map((i) => i.key)).toEqual(['__metadata__', 'x', 'x.__metadata__']);
  });

  async function reopen(): Promise<FileStorage> {
    await storage.close();
    storage = await openStorage(dir);
    return storage;
  }
});

describe('long keys', () => {
  /** Every kind of extension: json, txt, bin, png, the longest one, and a custom type (bin). */
  const CONTENT_TYPES = [
    'application/json',
    'text/plain; charset=utf-8',
    'application/octet-stream',
    'image/png',
    'application/appinstaller',
    'application/x-acme-custom; v=2',
  ];
  const BASE = "a.b(c)!d'e_f-".repeat(20);
  /**
   * Keys of every length from 237 (the longest plain one) to 256, and every content type at
   * 237, 238 and 256. They share their first 200 characters (a hashed stem keeps 128).
   */
  const keys = Array.from({ length: 20 }, (_, i) => 237 + i).flatMap((length) =>
    CONTENT_TYPES.map((_, t) => `${BASE.slice(0, 200)}${`-${length}-${t}`.padStart(length - 200, 'z')}`)
      .filter((_, t) => [237, 238, 256].includes(length) || t === length % CONTENT_TYPES.length),
  );
  const typeOf = (key: string, shift = 0) => CONTENT_TYPES[(Number(key.split('-').pop()) + shift) % CONTENT_TYPES.length]!;
  const bodyOf = (key: string, version = 1) => `v${version} of ${key.length}:${key.slice(-8)}`;

  async function expectAll(s: FileStorage, storeId: string, shift: number, version: number) {
    for (const key of keys) {
      const record = (await s.getRecord(storeId, key))!;
      expect(record).toMatchObject({ key, contentType: typeOf(key, shift) });
      expect((await readAll(record.openStream())).toString()).toBe(bodyOf(key, version));
    }
  }

  async function expectNamesFit() {
    const files = await listFiles(storeDir('my-store'));
    for (const file of files) expect(Buffer.byteLength(path.basename(file))).toBeLessThanOrEqual(255);
    expect(files.filter((file) => file.includes('.tmp'))).toEqual([]);
    return files;
  }

  it('stores keys of 237 to 256 characters with any content type, through reopen', async () => {
    expect(new Set(keys.map((key) => key.length)).size).toBe(20);
    expect(keys).toHaveLength(20 + 3 * 5);
    expect(new Set(keys).size).toBe(keys.length);
    const store = await named();
    await Promise.all(
      keys.map(async (key) => {
        const info = await put(store.id, key, bodyOf(key), typeOf(key));
        expect(info).toMatchObject({ key, contentType: typeOf(key), size: bodyOf(key).length });
      }),
    );
    await expectAll(storage, store.id, 0, 1);
    const sorted = [...keys].sort();
    expect((await storage.listKeys(store.id)).items).toEqual(sorted.map((key) => ({ key, size: bodyOf(key).length })));
    const page = await storage.listKeys(store.id, { exclusiveStartKey: sorted[9], limit: 5, prefix: BASE.slice(0, 150) });
    expect(page.items.map((item) => item.key)).toEqual(sorted.slice(10, 15));
    // Short keys keep their plain names; one data file and one sidecar per record.
    await put(store.id, 'short', 'plain');
    let files = await expectNamesFit();
    expect(files).toContain('short.txt');
    expect(files).toContain(`${keys[0]}.json`);
    // The 6 keys of 237 characters keep their names too; longer ones are hashed.
    expect(files.filter((file) => file.includes('~'))).toHaveLength(2 * (keys.length - 6));
    expect(files).toHaveLength(1 + 2 * (keys.length + 1));

    // Overwrite every record with another content type (so another extension).
    await Promise.all(keys.map((key) => put(store.id, key, bodyOf(key, 2), typeOf(key, 1))));
    await expectAll(storage, store.id, 1, 2);
    files = await expectNamesFit();
    expect(files).toHaveLength(1 + 2 * (keys.length + 1));

    await storage.close();
    storage = await openStorage(dir);
    await expectAll(storage, store.id, 1, 2);
    expect((await storage.listKeys(store.id)).items.map((item) => item.key)).toEqual([...sorted, 'short'].sort());
    expect((await storage.getStore(store.id))!.stats.storageBytes).toBe(
      keys.reduce((sum, key) => sum + bodyOf(key, 2).length, 0) + 5,
    );

    // Delete every other record; the rest stay readable, before and after a reopen.
    const deleted = keys.filter((_, i) => i % 2 === 0);
    for (const key of deleted) expect(await storage.deleteRecord(store.id, key)).toBe(true);
    for (const key of deleted) expect(await storage.deleteRecord(store.id, key)).toBe(false);
    await storage.close();
    storage = await openStorage(dir);
    const kept = keys.filter((_, i) => i % 2 === 1);
    for (const key of deleted) expect(await storage.getRecord(store.id, key)).toBeNull();
    for (const key of kept) expect((await body(store.id, key))!.toString()).toBe(bodyOf(key, 2));
    expect((await storage.listKeys(store.id)).items.map((item) => item.key)).toEqual([...kept, 'short'].sort());
    expect(await expectNamesFit()).toHaveLength(1 + 2 * (kept.length + 1));
  });

  it('reads a long key written under its own name, and moves it to the hashed name on write', async () => {
    await storage.close();
    const key = 'c'.repeat(240);
    const folder = storeDir('default');
    await fsp.mkdir(folder, { recursive: true });
    await fsp.writeFile(path.join(folder, `${key}.txt`), 'from crawlee');
    storage = await openStorage(dir);
    const store = (await storage.getStore('default'))!;
    expect((await storage.listKeys(store.id)).items).toEqual([{ key, size: 12 }]);
    expect((await storage.getRecord(store.id, key))!.contentType).toBe('text/plain; charset=utf-8');
    expect((await body(store.id, key))!.toString()).toBe('from crawlee');

    await put(store.id, key, '{"ours":1}', 'application/json');
    const names = await fsp.readdir(folder);
    expect(names).not.toContain(`${key}.txt`);
    expect(names.filter((name) => name.startsWith('ccc'))).toHaveLength(2);
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.getRecord(store.id, key))!.contentType).toBe('application/json');
    expect((await storage.listKeys(store.id)).items).toEqual([{ key, size: 10 }]);
    expect(await storage.deleteRecord(store.id, key)).toBe(true);
    expect((await fsp.readdir(folder)).sort()).toEqual(['.tmp', '__metadata__.json']);
  });

  it('keeps two long keys that differ only at the end apart', async () => {
    const store = await named();
    const a = `${'s'.repeat(250)}-a`;
    const b = `${'s'.repeat(250)}-b`;
    await put(store.id, a, 'A');
    await put(store.id, b, 'B', 'application/json');
    expect((await body(store.id, a))!.toString()).toBe('A');
    expect((await body(store.id, b))!.toString()).toBe('B');
    expect(await storage.deleteRecord(store.id, a)).toBe(true);
    expect((await body(store.id, b))!.toString()).toBe('B');
    expect((await storage.listKeys(store.id)).items).toEqual([{ key: b, size: 1 }]);
  });
});

describe('validation and path safety', () => {
  it('rejects bad keys with invalid-record-key and writes nothing', async () => {
    const store = await named();
    const before = await listFiles(dir);
    for (const key of ['', 'x'.repeat(257), 'a/b', '../x', '..\\x', 'a b', 'é', '%2F', '/etc/passwd', 'a\0b']) {
      await expect(put(store.id, key, 'v')).rejects.toMatchObject({ code: 'invalid-record-key' });
      await expect(storage.getRecord(store.id, key)).rejects.toMatchObject({ code: 'invalid-record-key' });
      await expect(storage.deleteRecord(store.id, key)).rejects.toMatchObject({ code: 'invalid-record-key' });
    }
    expect(await listFiles(dir)).toEqual(before);
  });

  it('refuses the keys "." and "..", and stores "..." and ".env" inside the store folder', async () => {
    const store = await named();
    for (const key of ['.', '..']) {
      await expect(put(store.id, key, 'x')).rejects.toMatchObject({ code: 'invalid-record-key' });
    }
    for (const key of ['...', '.env']) await put(store.id, key, `value of ${key}`);
    for (const key of ['...', '.env']) expect((await body(store.id, key))!.toString()).toBe(`value of ${key}`);
    expect((await storage.listKeys(store.id)).items.map((i) => i.key)).toEqual(['...', '.env']);
    // Nothing outside the store folder was touched.
    const all = await listFiles(dir);
    expect(all.every((f) => f.startsWith(path.join('key_value_stores', 'my-store') + path.sep))).toBe(true);
    expect(await storage.deleteRecord(store.id, '...')).toBe(true);
    expect((await body(store.id, '.env'))!.toString()).toBe('value of .env');
  });

  it('rejects bad store names with invalid-store-name and creates nothing', async () => {
    for (const name of ['', '-a', 'a-', 'a_b', '..', '.', 'a/b', '../x', 'x'.repeat(64), 'a~b']) {
      await expect(storage.getOrCreateStore({ name, user: LOCAL_USER })).rejects.toMatchObject({ code: 'invalid-store-name' });
    }
    const store = await named();
    await expect(storage.updateStore(store.id, { name: '../evil' })).rejects.toMatchObject({ code: 'invalid-store-name' });
    expect((await fsp.readdir(path.join(dir, 'key_value_stores'))).sort()).toEqual(['my-store']);
  });

  it('does not resolve store references that try to leave the folder', async () => {
    await named();
    for (const ref of ['..', '../my-store', 'my-store/..', '/etc', '~../x', 'local~..', '', '.tmp']) {
      expect(await storage.getStore(ref)).toBeNull();
      await expect(storage.listKeys(ref)).rejects.toMatchObject({ code: 'store-not-found' });
    }
  });

  it('ignores symlinks and folders inside a store folder', async () => {
    const store = await named();
    const outside = path.join(dir, 'secret.txt');
    await fsp.writeFile(outside, 'secret');
    await fsp.symlink(outside, path.join(storeDir('my-store'), 'link.txt'));
    await fsp.mkdir(path.join(storeDir('my-store'), 'sub.txt'));
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.listKeys(store.id)).items).toEqual([]);
    expect(await storage.getRecord(store.id, 'link')).toBeNull();
  });

  it('checks list parameters', async () => {
    const store = await named();
    for (const limit of [0, 1001, -5, 2.5]) {
      await expect(storage.listKeys(store.id, { limit })).rejects.toMatchObject({ code: 'invalid-input' });
      await expect(storage.listStores({ limit })).rejects.toMatchObject({ code: 'invalid-input' });
    }
    await expect(storage.listStores({ offset: -1 })).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(storage.putRecord(store.id, 'k', Buffer.from('x'), { contentType: '' })).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(storage.updateStore(store.id, { generalAccess: 'NOPE' as never })).rejects.toMatchObject({ code: 'invalid-input' });
  });
});

describe('listing keys', () => {
  it('lists in UTF-8 binary order with paging, prefix and limit', async () => {
    const store = await named();
    const keys = ['b', 'a', 'B', 'a.b', 'a-b', 'A', '(x)', 'z', 'a_1', "it's", '0', '~'.slice(1) + 'Z'];
    for (const key of keys) await put(store.id, key, `v-${key}`);
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    const all = await storage.listKeys(store.id);
    expect(all.items.map((i) => i.key)).toEqual(expected);
    expect(all).toMatchObject({ count: keys.length, limit: 1000, exclusiveStartKey: null, isTruncated: false, nextExclusiveStartKey: null });
    expect(all.items.find((i) => i.key === 'a.b')!.size).toBe(5);

    const seen: string[] = [];
    let start: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await storage.listKeys(store.id, { limit: 5, exclusiveStartKey: start });
      pages++;
      seen.push(...page.items.map((i) => i.key));
      expect(page.exclusiveStartKey).toBe(start ?? null);
      if (!page.nextExclusiveStartKey) {
        expect(page.isTruncated).toBe(false);
        break;
      }
      expect(page.isTruncated).toBe(true);
      start = page.nextExclusiveStartKey;
    }
    expect(seen).toEqual(expected);
    expect(pages).toBe(3);

    const prefixed = await storage.listKeys(store.id, { prefix: 'a' });
    expect(prefixed.items.map((i) => i.key)).toEqual(expected.filter((k) => k.startsWith('a')));
    const prefixedPage = await storage.listKeys(store.id, { prefix: 'a', limit: 2, exclusiveStartKey: 'a' });
    expect(prefixedPage.items.map((i) => i.key)).toEqual(['a-b', 'a.b']);
    expect(prefixedPage.nextExclusiveStartKey).toBe('a.b');
    // A start key that is not itself stored still skips everything up to it.
    expect((await storage.listKeys(store.id, { exclusiveStartKey: 'a0' })).items[0]!.key).toBe('a_1');
    // Exactly a full last page: not truncated.
    const exact = await storage.listKeys(store.id, { limit: keys.length });
    expect(exact).toMatchObject({ isTruncated: false, nextExclusiveStartKey: null });
  });

  it('pages through 20,000 keys at a cost independent of the store size', async () => {
    // A Crawlee-style folder made by hand keeps the test fast (no fsync per record).
    const folder = storeDir('big');
    await fsp.mkdir(folder, { recursive: true });
    const keys = Array.from({ length: 20_000 }, (_, i) => `key-${String(i).padStart(6, '0')}`);
    // Synchronous writes: far quicker here than thousands of queued async ones.
    for (const key of keys) writeFileSync(path.join(folder, `${key}.json`), `{"i":"${key}"}`);
    await storage.close();
    storage = await openStorage(dir);
    const store = (await storage.getStore('big'))!;
    // Sizes are taken in the background; closing waits for them and saves the byte count.
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.getStore('big'))!.stats.storageBytes).toBe(keys.reduce((sum, key) => sum + key.length + 8, 0));

    const seen: string[] = [];
    let start: string | undefined;
    let pages = 0;
    do {
      const page = await storage.listKeys(store.id, { exclusiveStartKey: start });
      if (pages++ === 0) {
        // A file dropped in behind the engine's back after the first page stays unseen: pages
        // are served from the in-memory index, not from a directory re-read and sort per page.
        writeFileSync(path.join(folder, 'key-999999.json'), '{}');
      }
      seen.push(...page.items.map((i) => i.key));
      start = page.nextExclusiveStartKey ?? undefined;
    } while (start);
    expect(seen).toEqual(keys);
    expect(pages).toBe(20);
    await fsp.rm(path.join(folder, 'key-999999.json'));

    const tail = await storage.listKeys(store.id, { exclusiveStartKey: 'key-019995' });
    expect(tail.items.map((i) => i.key)).toEqual(['key-019996', 'key-019997', 'key-019998', 'key-019999']);
    expect(tail.nextExclusiveStartKey).toBeNull();
    expect((await storage.listKeys(store.id, { prefix: 'key-01234' })).count).toBe(10);

    await put(store.id, 'key-010000x', 'new');
    expect((await storage.listKeys(store.id, { exclusiveStartKey: 'key-010000', limit: 2 })).items.map((i) => i.key)).toEqual([
      'key-010000x',
      'key-010001',
    ]);
  }, 60_000);
});

describe('Crawlee folders', () => {
  it('opens a folder of plain record files without any metadata', async () => {
    await storage.close();
    const folder = storeDir('default');
    await fsp.mkdir(folder, { recursive: true });
    await fsp.writeFile(path.join(folder, 'INPUT.json'), '{"startUrls":[]}');
    await fsp.writeFile(path.join(folder, 'photo.png'), Buffer.from([137, 80, 78, 71]));
    await fsp.writeFile(path.join(folder, 'notes.txt'), 'some notes');
    await fsp.writeFile(path.join(folder, 'data.v2.bin'), Buffer.from([1, 2, 3]));
    await fsp.writeFile(path.join(folder, 'README'), 'no extension');
    await fsp.writeFile(path.join(folder, 'bad key.txt'), 'ignored: not a valid key');

    storage = await openStorage(dir);
    const store = (await storage.getStore('default'))!;
    expect(store).toMatchObject({ name: 'default', userId: LOCAL_USER.id, username: LOCAL_USER.username });
    expect(store.id).toMatch(/^[a-zA-Z0-9]{17}$/);
    expect(store.stats.storageBytes).toBe(16 + 4 + 10 + 3 + 12);

    const list = await storage.listKeys(store.id);
    expect(list.items).toEqual([
      { key: 'INPUT', size: 16 },
      { key: 'README', size: 12 },
      { key: 'data.v2', size: 3 },
      { key: 'notes', size: 10 },
      { key: 'photo', size: 4 },
    ]);
    const input = await storage.getRecord(store.id, 'INPUT');
    expect(input).toMatchObject({ contentType: 'application/json; charset=utf-8', size: 16 });
    expect(input!.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await readAll(input!.openStream())).toString()).toBe('{"startUrls":[]}');
    expect((await storage.getRecord(store.id, 'photo'))!.contentType).toBe('image/png');
    expect((await storage.getRecord(store.id, 'notes'))!.contentType).toBe('text/plain; charset=utf-8');
    expect((await storage.getRecord(store.id, 'data.v2'))!.contentType).toBe('application/octet-stream');
    expect((await storage.getRecord(store.id, 'README'))!.contentType).toBe('application/octet-stream');

    // Store metadata was created; the record files were left as they were.
    const meta = JSON.parse(await fsp.readFile(path.join(folder, '__metadata__.json'), 'utf8'));
    expect(meta).toMatchObject({ id: store.id, name: 'default' });
    expect(await fsp.readFile(path.join(folder, 'INPUT.json'), 'utf8')).toBe('{"startUrls":[]}');

    // Writing over a plain file replaces it cleanly.
    await put(store.id, 'README', 'now text', 'text/markdown');
    expect((await fsp.readdir(folder)).filter((f) => f.startsWith('README')).sort()).toEqual(['README.__metadata__.json', 'README.md']);
    // And the id survives a reopen.
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.getStore('default'))!.id).toBe(store.id);
  });

  it('reads Crawlee metadata files (store and record sidecars)', async () => {
    await storage.close();
    const folder = storeDir('crawled');
    await fsp.mkdir(folder, { recursive: true });
    await fsp.writeFile(
      path.join(folder, '__metadata__.json'),
      JSON.stringify({ id: '3f9c0a5e-6c1b-4a8e-9d7f-1234567890ab', name: 'crawled', createdAt: '2023-05-01T10:00:00.000Z', accessedAt: '2023-05-02T10:00:00.000Z', modifiedAt: '2023-05-02T10:00:00.000Z' }),
    );
    await fsp.writeFile(path.join(folder, 'page.html'), '<p>hi</p>');
    await fsp.writeFile(path.join(folder, 'page.__metadata__.json'), JSON.stringify({ key: 'page', contentType: 'text/html; charset=iso-8859-1', extension: 'html' }));
    // An unnamed Crawlee store lives in a folder named after its id.
    const unnamedId = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
    await fsp.mkdir(storeDir(unnamedId));
    await fsp.writeFile(path.join(storeDir(unnamedId), '__metadata__.json'), JSON.stringify({ id: unnamedId, name: null }));

    storage = await openStorage(dir, { now: () => Date.parse('2023-05-03T00:00:00Z') });
    const store = (await storage.getStore('crawled'))!;
    expect(store.id).toBe('3f9c0a5e-6c1b-4a8e-9d7f-1234567890ab');
    expect(store.createdAt.toISOString()).toBe('2023-05-01T10:00:00.000Z');
    expect(await storage.getStore(store.id)).not.toBeNull();
    const page = await storage.getRecord(store.id, 'page');
    expect(page).toMatchObject({ contentType: 'text/html; charset=iso-8859-1', size: 9 });
    const unnamed = await storage.getStore(unnamedId);
    expect(unnamed).toMatchObject({ id: unnamedId, name: null });
  });

  it('resolves a key with two data files to the newer one, the one its metadata names, and removes neither', async () => {
    const store = await named();
    await put(store.id, 'k', 'the text', 'text/plain');
    await storage.close();
    // An older file of the key under another extension (the scan cannot tell whose it is).
    const stale = path.join(storeDir('my-store'), 'k.json');
    await fsp.writeFile(stale, '{"stale":true}');
    await fsp.utimes(stale, new Date(0), new Date(0));
    storage = await openStorage(dir);
    const record = await storage.getRecord(store.id, 'k');
    expect(record!.contentType).toBe('text/plain');
    expect((await readAll(record!.openStream())).toString()).toBe('the text');
    expect((await storage.listKeys(store.id)).items).toEqual([{ key: 'k', size: 8 }]);
    expect(await fsp.readdir(storeDir('my-store'))).toContain('k.json');
  });
});

describe('stores', () => {
  it('gets or creates named stores and creates unnamed ones', async () => {
    const first = await storage.getOrCreateStore({ name: 'shop', user: LOCAL_USER });
    expect(first.created).toBe(true);
    expect(first.store).toMatchObject({ name: 'shop', userId: 'local-user', username: 'local', generalAccess: 'FOLLOW_USER_SETTING' });
    expect(first.store.id).toMatch(/^[a-zA-Z0-9]{17}$/);
    const again = await storage.getOrCreateStore({ name: 'shop', user: LOCAL_USER });
    expect(again).toMatchObject({ created: false, store: { id: first.store.id } });

    const unnamed = await storage.getOrCreateStore({ user: LOCAL_USER });
    expect(unnamed.created).toBe(true);
    expect(unnamed.store.name).toBeNull();
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual(expect.arrayContaining(['shop', unnamed.store.id]));

    // Concurrent get-or-create of one name makes one store.
    const racing = await Promise.all(Array.from({ length: 10 }, () => storage.getOrCreateStore({ name: 'race', user: LOCAL_USER })));
    expect(new Set(racing.map((r) => r.store.id)).size).toBe(1);
    expect(racing.filter((r) => r.created)).toHaveLength(1);
  });

  it('resolves ids, bare names, username~name and ~name', async () => {
    const local = await named('shared-name');
    const alice = await named('shared-name', ALICE);
    expect(alice.id).not.toBe(local.id);
    expect((await storage.getStore(local.id))!.id).toBe(local.id);
    expect((await storage.getStore('shared-name'))!.id).toBe(local.id);
    expect((await storage.getStore('shared-name', ALICE))!.id).toBe(alice.id);
    expect((await storage.getStore('alice~shared-name'))!.id).toBe(alice.id);
    expect((await storage.getStore('local~shared-name', ALICE))!.id).toBe(local.id);
    expect((await storage.getStore('~shared-name', ALICE))!.id).toBe(alice.id);
    expect((await storage.getStore('~shared-name'))!.id).toBe(local.id);
    expect(await storage.getStore('shared-name', BOB)).toBeNull();
    expect(await storage.getStore('bob~shared-name')).toBeNull();
    // Both live on disk: the second owner of a name gets a folder named by its id.
    expect((await fsp.readdir(path.join(dir, 'key_value_stores'))).sort()).toEqual([alice.id, 'shared-name'].sort());
    await put(alice.id, 'k', 'alice data');
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.getStore('alice~shared-name'))!.id).toBe(alice.id);
    expect((await body(alice.id, 'k'))!.toString()).toBe('alice data');
  });

  it('lists stores by user, with offset, limit, desc and unnamed', async () => {
    let t = Date.UTC(2024, 0, 1);
    await storage.close();
    storage = await openStorage(dir, { now: () => (t += 1000) });
    const a = await named('a');
    const b = await named('b', ALICE);
    const u = (await storage.getOrCreateStore({ user: LOCAL_USER })).store;
    const c = await named('c');

    const all = await storage.listStores();
    expect(all.items.map((s) => s.id)).toEqual([a.id, b.id, c.id]);
    expect(all).toMatchObject({ total: 3, offset: 0, limit: 1000, desc: false, count: 3 });
    expect((await storage.listStores({ unnamed: true })).items.map((s) => s.id)).toEqual([a.id, b.id, u.id, c.id]);
    expect((await storage.listStores({ userId: LOCAL_USER.id })).items.map((s) => s.id)).toEqual([a.id, c.id]);
    expect((await storage.listStores({ userId: ALICE.id })).items.map((s) => s.id)).toEqual([b.id]);
    expect((await storage.listStores({ desc: true, unnamed: true })).items.map((s) => s.id)).toEqual([c.id, u.id, b.id, a.id]);
    const page = await storage.listStores({ offset: 1, limit: 1, unnamed: true });
    expect(page).toMatchObject({ total: 4, offset: 1, limit: 1, count: 1 });
    expect(page.items[0]!.id).toBe(b.id);
  });

  it('renames stores in their metadata, never moving their folder, and keeps names unique per user', async () => {
    const store = await named('old-name');
    await put(store.id, 'k', 'v');
    await named('taken');
    await expect(storage.updateStore(store.id, { name: 'taken' })).rejects.toMatchObject({ code: 'name-not-unique' });
    const renamed = await storage.updateStore(store.id, { name: 'new-name', generalAccess: 'ANYONE_WITH_ID_CAN_READ' });
    expect(renamed).toMatchObject({ id: store.id, name: 'new-name', generalAccess: 'ANYONE_WITH_ID_CAN_READ' });
    expect((await fsp.readdir(path.join(dir, 'key_value_stores'))).sort()).toEqual(['old-name', 'taken']);
    expect(JSON.parse(await fsp.readFile(path.join(dir, 'key_value_stores', 'old-name', '__metadata__.json'), 'utf8')).name).toBe('new-name');
    expect((await body(store.id, 'k'))!.toString()).toBe('v');
    expect(await storage.getStore('old-name')).toBeNull();
    expect((await storage.getStore('new-name'))!.id).toBe(store.id);

    const unnamed = await storage.updateStore(store.id, { name: null });
    expect(unnamed.name).toBeNull();
    expect((await fsp.readdir(path.join(dir, 'key_value_stores'))).sort()).toEqual(['old-name', 'taken']);
    // The freed name can be used again: the new store gets its id as folder.
    const reused = await named('old-name');
    expect(reused.id).not.toBe(store.id);
    expect((await fsp.readdir(path.join(dir, 'key_value_stores'))).sort()).toEqual(['old-name', reused.id, 'taken'].sort());
    // Another user may use a name that is taken by someone else.
    const alices = await named('alices', ALICE);
    await expect(storage.updateStore(alices.id, { name: 'taken' })).resolves.toMatchObject({ name: 'taken' });

    await storage.close();
    storage = await openStorage(dir);
    expect(await storage.getStore(store.id)).toMatchObject({ name: null, generalAccess: 'ANYONE_WITH_ID_CAN_READ' });
    expect((await body(store.id, 'k'))!.toString()).toBe('v');
  });

  it('renames a store while writes are in flight without losing any', async () => {
    const store = await named('moving');
    const writes = Array.from({ length: 30 }, (_, i) => put(store.id, `k${i}`, `v${i}`));
    await storage.updateStore(store.id, { name: 'moved' });
    await Promise.all(writes);
    for (let i = 0; i < 30; i++) expect((await body(store.id, `k${i}`))!.toString()).toBe(`v${i}`);
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.listKeys(store.id)).count).toBe(30);
  });

  it('deletes stores with their records', async () => {
    const store = await named();
    await put(store.id, 'k', 'v');
    expect(await storage.deleteStore(store.id)).toBe(true);
    expect(await storage.getStore(store.id)).toBeNull();
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual([]);
    await expect(storage.getRecord(store.id, 'k')).rejects.toMatchObject({ code: 'store-not-found' });
    expect(await storage.deleteStore(store.id)).toBe(false);
    // The name is free again.
    expect((await storage.getOrCreateStore({ name: 'my-store', user: LOCAL_USER })).created).toBe(true);
  });

  it('keeps stats and saves them on close', async () => {
    let t = Date.UTC(2024, 0, 1);
    await storage.close();
    storage = await openStorage(dir, { now: () => t, metadataFlushMillis: 60_000 });
    const store = await named();
    t += 1000;
    await put(store.id, 'a', '12345');
    await put(store.id, 'b', '123');
    await put(store.id, 'a', '1');
    await storage.getRecord(store.id, 'a');
    await storage.getRecord(store.id, 'missing');
    await storage.listKeys(store.id);
    t += 1000;
    await storage.deleteRecord(store.id, 'b');
    const info = (await storage.getStore(store.id))!;
    expect(info.stats).toEqual({ readCount: 2, writeCount: 3, deleteCount: 1, listCount: 1, storageBytes: 1 });
    expect(info.modifiedAt.getTime()).toBe(Date.UTC(2024, 0, 1) + 2000);
    expect(info.createdAt.getTime()).toBe(Date.UTC(2024, 0, 1));

    await storage.close();
    const meta = JSON.parse(await fsp.readFile(path.join(storeDir('my-store'), '__metadata__.json'), 'utf8'));
    expect(meta.stats).toEqual(info.stats);
    storage = await openStorage(dir);
    expect((await storage.getStore(store.id))!.stats).toEqual(info.stats);
  });

  it('returns copies that callers cannot use to change the engine state', async () => {
    const store = await named();
    store.stats.readCount = 999;
    store.createdAt.setTime(0);
    const again = (await storage.getStore(store.id))!;
    expect(again.stats.readCount).toBe(0);
    expect(again.createdAt.getTime()).not.toBe(0);
  });
});
