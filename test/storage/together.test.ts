/**
 * The folder backend together with other writers: Crawlee, a second process of ours, a disk
 * that fails half way through a commit. Each test here failed before the folder backend
 * learned to share its folder (issue: "folder storage, correct together").
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { createStore, kvs, putRecord, raw, startTestServer } from '../server/helpers.js';
import { crawleeWrite, waitFor } from './crawlee.js';
import { makeTempDir, openStorage, readAll, removeDir } from './helpers.js';

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
