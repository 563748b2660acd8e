/**
 * The folder backend together with other writers: Crawlee, a second process of ours, a disk
 * that fails half way through a commit. Each test here failed before the folder backend
 * learned to share its folder (issue: "folder storage, correct together").
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { nodeFs } from '../../src/storage/fs/fs-layer.js';
import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { createStore, kvs, putRecord, raw, startTestServer } from '../server/helpers.js';
import { MemoryStorage } from '@crawlee/memory-storage';

import { crawleeWrite, waitFor } from './crawlee.js';
import { makeTempDir, openStorage, readAll, removeDir } from './helpers.js';
import { startSecondWriter, useSecondWriter } from './support/second-writer.js';

const md5 = (data: Buffer | string) => `"${createHash('md5').update(data).digest('hex')}"`;

let dir: string;
let storage: FileStorage | undefined;

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await storage?.close();
  storage = undefined;
  await removeDir(dir);
});

async function read(s: FileStorage, storeId: string, key: string) {
  const record = await s.getRecord(storeId, key);
  return record && { contentType: record.contentType, etag: record.etag, body: (await readAll(record.openStream())).toString() };
}

describe('ETags', () => {
  it('a same-size rewrite in place of a file over 64 KiB gets a new ETag, and the old one no longer answers 304', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'big');
    const before = Buffer.alloc(100 * 1024, 'a');
    const after = Buffer.alloc(100 * 1024, 'b');
    expect((await putRecord(server, id, 'k', before, 'application/octet-stream')).status).toBe(201);
    const url = `${kvs}/${id}/records/k`;
    const first = await raw(server, 'GET', url);
    expect(first.headers.etag).toBe(md5(before));

    const file = path.join(server.storageDir, 'key_value_stores', 'big', 'k.bin');
    const was = await fsp.stat(file);
    // Another program rewrites it in place (no rename): same inode, same size, new content
    // (again, should the clock not have ticked since the first write: then nothing could tell).
    await waitFor(async () => {
      await fsp.writeFile(file, after);
      return (await fsp.stat(file)).mtimeMs !== was.mtimeMs ? true : undefined;
    });
    expect((await fsp.stat(file)).ino).toBe(was.ino);

    const second = await raw(server, 'GET', url, { headers: { 'If-None-Match': first.headers.etag as string } });
    expect(second.status).toBe(200);
    expect(second.headers.etag).toBe(md5(after));
    expect(second.body.equals(after)).toBe(true);
  });
});

describe('two data files of one key', () => {
  it("serves Crawlee's newer file over ours and deletes nothing when the index is built", async () => {
    storage = await openStorage(dir);
    const { store } = await storage.getOrCreateStore({ name: 'crawl', user: LOCAL_USER });
    await storage.putRecord(store.id, 'state', Buffer.from('{"ours":1}'), { contentType: 'application/json' });
    await storage.close();
    storage = undefined;
    // Crawlee (no metadata files, its default) writes the key as text: `state.txt`.
    await crawleeWrite(dir, 'crawl', { state: { value: 'from crawlee', contentType: 'text/plain' } }, false);
    const folder = path.join(dir, 'key_value_stores', 'crawl');
    expect((await fsp.readdir(folder)).sort()).toEqual(expect.arrayContaining(['state.json', 'state.txt']));

    for (let run = 0; run < 2; run++) {
      storage = await openStorage(dir);
      expect(await read(storage, store.id, 'state')).toMatchObject({ body: 'from crawlee', contentType: expect.stringMatching(/^text\/plain/) });
      expect((await storage.listKeys(store.id)).items).toEqual([{ key: 'state', size: 12 }]);
      await storage.close();
      storage = undefined;
      expect(await fsp.readdir(folder)).toEqual(expect.arrayContaining(['state.json', 'state.txt']));
    }

    // A write of ours replaces the record: Crawlee's file is the record replaced, and our
    // superseded `state.json` (our sidecar still vouches for it) goes too.
    storage = await openStorage(dir);
    expect(await read(storage, store.id, 'state')).toMatchObject({ body: 'from crawlee' });
    await storage.putRecord(store.id, 'state', Buffer.from('ours again'), { contentType: 'text/plain' });
    expect(await read(storage, store.id, 'state')).toMatchObject({ body: 'ours again', contentType: 'text/plain' });
    const names = await fsp.readdir(folder);
    expect(names).toContain('state.txt');
    expect(names).not.toContain('state.json');
  });

  it("picks up Crawlee's newer file under another extension while open", async () => {
    storage = await openStorage(dir);
    const { store } = await storage.getOrCreateStore({ name: 'crawl', user: LOCAL_USER });
    await storage.putRecord(store.id, 'state', Buffer.from('{"ours":1}'), { contentType: 'application/json' });
    expect(await read(storage, store.id, 'state')).toMatchObject({ body: '{"ours":1}' });
    await crawleeWrite(dir, 'crawl', { state: { value: 'from crawlee', contentType: 'text/plain' } }, false);
    await waitFor(async () => ((await read(storage!, store.id, 'state'))?.body === 'from crawlee' ? true : undefined));
    expect(await fsp.readdir(path.join(dir, 'key_value_stores', 'crawl'))).toEqual(expect.arrayContaining(['state.json', 'state.txt']));
  });
});

describe("a store's __metadata__.json", () => {
  const metaFile = () => path.join(dir, 'key_value_stores', 'crawl', '__metadata__.json');
  const crawleeStore = async () => {
    const id = await crawleeWrite(dir, 'crawl', { a: { value: 'x', contentType: 'text/plain' } });
    return { id, written: JSON.parse(await fsp.readFile(metaFile(), 'utf8')) as Record<string, unknown> };
  };

  it('is never replaced while it does not parse (another program writing it), and is merged with once whole', async () => {
    const { id, written } = await crawleeStore();
    // Crawlee truncates, then writes: caught in between.
    await fsp.writeFile(metaFile(), '');
    storage = await openStorage(dir, { metadataFlushMillis: 0 });
    expect((await storage.getStore('crawl'))!.name).toBe('crawl');
    await storage.putRecord((await storage.getStore('crawl'))!.id, 'b', Buffer.from('y'), { contentType: 'text/plain' });
    await storage.close();
    storage = undefined;
    expect(await fsp.readFile(metaFile(), 'utf8')).toBe('');

    // Whole again, with a field of its own: our next save keeps it and Crawlee's id.
    await fsp.writeFile(metaFile(), JSON.stringify({ ...written, theirs: { kept: true } }));
    storage = await openStorage(dir, { metadataFlushMillis: 0 });
    await storage.putRecord(id, 'c', Buffer.from('z'), { contentType: 'text/plain' });
    await storage.close();
    storage = undefined;
    const saved = JSON.parse(await fsp.readFile(metaFile(), 'utf8'));
    expect(saved).toMatchObject({ id, name: 'crawl', theirs: { kept: true } });
    expect(saved.stats.writeCount).toBeGreaterThanOrEqual(1);
  });

  it("keeps another writer's later changes when saving ours", async () => {
    const { id } = await crawleeStore();
    storage = await openStorage(dir, { metadataFlushMillis: 0 });
    await storage.putRecord(id, 'b', Buffer.from('y'), { contentType: 'text/plain' });
    await waitFor(async () => ((JSON.parse(await fsp.readFile(metaFile(), 'utf8')).stats?.writeCount ?? 0) >= 1 ? true : undefined));
    // Another program changes the file after we loaded it.
    const now = JSON.parse(await fsp.readFile(metaFile(), 'utf8'));
    await fsp.writeFile(metaFile(), JSON.stringify({ ...now, addedLater: 'theirs', generalAccess: 'ANYONE_WITH_ID_CAN_READ' }));
    await storage.putRecord(id, 'c', Buffer.from('z'), { contentType: 'text/plain' });
    await storage.close();
    storage = undefined;
    const saved = JSON.parse(await fsp.readFile(metaFile(), 'utf8'));
    expect(saved).toMatchObject({ id, addedLater: 'theirs', generalAccess: 'ANYONE_WITH_ID_CAN_READ' });
    expect(saved.stats.writeCount).toBe(2);
  });
});

describe('a commit that fails half way', () => {
  for (const code of ['ENOSPC', 'EIO']) {
    it(`settles on the new record when the sidecar rename fails with ${code} after the body moved`, async () => {
      storage = await openStorage(dir);
      const { store } = await storage.getOrCreateStore({ name: 'faults', user: LOCAL_USER });
      // Same size and extension: only the content type and the ETag tell the two apart.
      await storage.putRecord(store.id, 'k', Buffer.from('old!'), { contentType: 'text/plain; charset=x-old' });
      expect(await read(storage, store.id, 'k')).toMatchObject({ body: 'old!', contentType: 'text/plain; charset=x-old' });

      // The disk keeps failing that rename until the test lets it go.
      const rename = nodeFs.rename;
      let failures = 0;
      nodeFs.rename = async (from, to) => {
        if (path.basename(to) === 'k.__metadata__.json') {
          failures++;
          throw Object.assign(new Error(`${code}: injected`), { code });
        }
        return rename(from, to);
      };
      const expected = { body: 'new!', contentType: 'text/plain; charset=x-new', etag: md5('new!') };
      try {
        await expect(storage.putRecord(store.id, 'k', Buffer.from('new!'), { contentType: 'text/plain; charset=x-new' })).rejects.toBeDefined();
        expect(failures).toBeGreaterThanOrEqual(1);
        // The body moved: the record is the new one, whole (body, type and ETag together).
        expect(await read(storage, store.id, 'k')).toEqual(expected);
        expect(await read(storage, store.id, 'k')).toEqual(expected);
      } finally {
        nodeFs.rename = rename;
      }
      // The next commit puts the waiting sidecar in place; a restart also finds the new record.
      await storage.putRecord(store.id, 'other', Buffer.from('x'), { contentType: 'text/plain' });
      await storage.close();
      storage = await openStorage(dir);
      expect(await read(storage, store.id, 'k')).toEqual(expected);
    });
  }
});

describe('a second process on the same folder', () => {
  const secondWriter = useSecondWriter();

  it("opening it (crash recovery) leaves this process's in-flight temp files alone", async () => {
    storage = await openStorage(dir);
    const { store } = await storage.getOrCreateStore({ name: 'shared', user: LOCAL_USER });
    // A put whose body is still arriving: its temp file is open in `.tmp`.
    const body = new PassThrough();
    body.write('first half, ');
    const put = storage.putRecord(store.id, 'slow', body, { contentType: 'text/plain' });
    const tempDir = path.join(dir, 'key_value_stores', 'shared', '.tmp');
    await waitFor(async () => ((await fsp.readdir(tempDir).catch(() => [])).some((name) => name.endsWith('.data')) ? true : undefined));

    const other = await startSecondWriter(secondWriter(), dir);
    expect(await other.put('shared', 'theirs', 'text/plain', 'from-the-other-process')).toBe('ok');
    await other.quit();
    expect((await fsp.readdir(tempDir)).some((name) => name.endsWith('.data'))).toBe(true);

    body.end('second half');
    await put;
    expect(await read(storage, store.id, 'slow')).toMatchObject({ body: 'first half, second half' });
    expect(await read(storage, store.id, 'theirs')).toMatchObject({ body: 'from-the-other-process' });
  });
});

describe('a store folder replaced underneath us', () => {
  it("keeps working after Crawlee's start-up purge swaps the default store's folder", async () => {
    storage = await openStorage(dir);
    const { store } = await storage.getOrCreateStore({ name: 'default', user: LOCAL_USER });
    await storage.putRecord(store.id, 'INPUT', Buffer.from('{"start":1}'), { contentType: 'application/json' });
    await storage.putRecord(store.id, 'old', Buffer.from('purged'), { contentType: 'text/plain' });
    expect(await read(storage, store.id, 'old')).toMatchObject({ body: 'purged' });
    const folder = path.join(dir, 'key_value_stores', 'default');
    const before = (await fsp.stat(folder)).ino;

    // What a crawler does when it starts: everything but INPUT goes, in a new `default` folder.
    await new MemoryStorage({ localDataDirectory: dir, persistStorage: true, writeMetadata: false }).purge();
    expect((await fsp.stat(folder)).ino).not.toBe(before);

    // Writes work at once (no restart), and reads follow the new folder.
    await storage.putRecord(store.id, 'after', Buffer.from('new folder'), { contentType: 'text/plain' });
    expect(await fsp.readFile(path.join(folder, 'after.txt'), 'utf8')).toBe('new folder');
    expect(await read(storage, store.id, 'after')).toMatchObject({ body: 'new folder' });
    expect(await read(storage, store.id, 'INPUT')).toMatchObject({ body: '{"start":1}' });
    await waitFor(async () => ((await read(storage!, store.id, 'old')) === null ? true : undefined));
    expect((await storage.listKeys(store.id)).items.map((item) => item.key)).toEqual(['INPUT', 'after']);
  });
});
