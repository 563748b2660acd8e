/**
 * A store's identity (id, name, owner) while another program rewrites its `__metadata__.json`:
 * Crawlee rewrites it in place (truncate, then write) after each record it writes, with its own
 * owner placeholder (`userId: "1"`). A process of ours must keep finding the store by every id
 * it handed out and by its name, never make a second store of that name, and never write a
 * guessed id over the file's.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FolderBackend } from '../../src/storage/fs/folder-backend.js';
import { nodeFs, type FsLayer } from '../../src/storage/fs/fs-layer.js';
import { FileStorage, LOCAL_USER, StorageService } from '../../src/storage/index.js';
import { kvs, putRecord, raw, startTestServer } from '../server/helpers.js';

import { crawleeWrite } from './crawlee.js';
import { makeTempDir, openStorage, readAll, removeDir } from './helpers.js';

let dir: string;
const open: FileStorage[] = [];

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
  await removeDir(dir);
});

async function storageOn(): Promise<FileStorage> {
  const storage = await openStorage(dir, { metadataFlushMillis: 0, watch: false });
  open.push(storage);
  return storage;
}

async function closeAll(): Promise<void> {
  while (open.length > 0) await open.pop()!.close();
}

const metaFile = () => path.join(dir, 'key_value_stores', 'race', '__metadata__.json');
const readMeta = async () => JSON.parse(await fsp.readFile(metaFile(), 'utf8')) as Record<string, unknown>;

async function body(storage: StorageService, storeRef: string, key: string): Promise<string | null> {
  const record = await storage.getRecord(storeRef, key);
  return record && (await readAll(record.openStream())).toString();
}

/** A store `race` with record `k`, made by us; returns its id. */
async function ourStore(): Promise<string> {
  const storage = await storageOn();
  const { store } = await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER });
  await storage.putRecord(store.id, 'k', Buffer.from('v'), { contentType: 'text/plain' });
  await closeAll();
  return store.id;
}

/** Store `race` (see `ourStore`) with its metadata file caught half written: truncated, as Crawlee's rewrite leaves it for a moment. */
async function halfWrittenStore(): Promise<{ id: string; whole: string }> {
  const id = await ourStore();
  const whole = await fsp.readFile(metaFile(), 'utf8');
  await fsp.writeFile(metaFile(), '');
  return { id, whole };
}

describe('a store whose metadata was half written when we opened it', () => {
  it('keeps answering to the id it was first known by, and to the real one once the file is whole', async () => {
    // Crawlee truncates, then writes: caught in between.
    const { id, whole } = await halfWrittenStore();
    const storage = await storageOn();
    const first = (await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER })).store.id;
    expect(first).not.toBe(id); // only the folder was there to go by
    expect(await body(storage, first, 'k')).toBe('v');

    await fsp.writeFile(metaFile(), whole);
    expect(await body(storage, first, 'k')).toBe('v');
    expect(await body(storage, id, 'k')).toBe('v');
    expect(await storage.getStore('race')).toMatchObject({ id, name: 'race' });
    const byName = await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER });
    expect(byName).toMatchObject({ created: false, store: { id } });
    expect(await body(storage, byName.store.id, 'k')).toBe('v');
    expect((await storage.listKeys(first)).items.map((item) => item.key)).toEqual(['k']);
    expect((await storage.getStore(first))?.id).toBe(id);
    await storage.putRecord(first, 'k2', Buffer.from('w'), { contentType: 'text/plain' });
    expect(await body(storage, id, 'k2')).toBe('w');
    expect((await storage.listStores()).items.map((store) => store.id)).toEqual([id]);

    await closeAll();
    // The id the folder gave was never written over the file's.
    expect(await readMeta()).toMatchObject({ id, name: 'race' });
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual(['race']);
  });

  it('does not write the id the folder gave when the file becomes whole between two saves', async () => {
    const { id, whole } = await halfWrittenStore();
    const storage = await storageOn();
    const first = (await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER })).store.id;
    await storage.putRecord(first, 'a', Buffer.from('1'), { contentType: 'text/plain' });
    await storage.flush();
    expect(await fsp.readFile(metaFile(), 'utf8')).toBe(''); // never replaced while it does not parse

    await fsp.writeFile(metaFile(), whole);
    await storage.putRecord(first, 'b', Buffer.from('2'), { contentType: 'text/plain' });
    await storage.flush();
    const saved = await readMeta();
    expect(saved).toMatchObject({ id, name: 'race', userId: LOCAL_USER.id, username: LOCAL_USER.username });
    expect(await body(storage, first, 'b')).toBe('2');
  });

  it('keeps the id it knew when the file it read whole is later caught half written', async () => {
    const id = await ourStore();
    const storage = await storageOn();
    expect((await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER })).store.id).toBe(id);
    await fsp.writeFile(metaFile(), '');
    expect((await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER })).store).toMatchObject({ id, name: 'race' });
    expect(await body(storage, id, 'k')).toBe('v');
    await storage.putRecord(id, 'k2', Buffer.from('w'), { contentType: 'text/plain' });
    await storage.flush();
    expect(await fsp.readFile(metaFile(), 'utf8')).toBe('');
    expect(await body(storage, id, 'k2')).toBe('w');
  });
});

describe('a store folder whose metadata another program writes while we add ours', () => {
  it("keeps the other program's file and id, and answers to both ids", async () => {
    const id = await ourStore();
    const theirs = await fsp.readFile(metaFile(), 'utf8');
    await fsp.rm(metaFile());
    // The other program's file lands between our look (missing) and our exclusive create of it.
    let landed = false;
    const fs: FsLayer = {
      ...nodeFs,
      link: async (existing, to) => {
        if (!landed && path.basename(to) === '__metadata__.json') {
          landed = true;
          await fsp.writeFile(to, theirs);
        }
        return nodeFs.link(existing, to);
      },
    };
    const storage = new StorageService(new FolderBackend({ storageDir: dir, fs, watch: false }), { sweep: false, metadataFlushMillis: 0 });
    try {
      await storage.open();
      expect(landed).toBe(true);
      expect(await fsp.readFile(metaFile(), 'utf8')).toBe(theirs);
      const found = await storage.getOrCreateStore({ name: 'race', user: LOCAL_USER });
      expect(found).toMatchObject({ created: false, store: { id } });
      expect(await body(storage, id, 'k')).toBe('v');
      await storage.putRecord(id, 'k2', Buffer.from('w'), { contentType: 'text/plain' });
      await storage.flush();
      expect(await readMeta()).toMatchObject({ id, name: 'race' });
    } finally {
      await storage.close();
    }
  });
});

describe("a store's owner", () => {
  it('survives Crawlee rewriting the metadata between two saves of ours: a new process finds the store by name', async () => {
    const id = await ourStore();
    const writer = await storageOn();
    // Crawlee opens the store and rewrites its metadata (its own owner placeholder, no username).
    expect(await crawleeWrite(dir, 'race', { c: { value: Buffer.from('crawlee'), contentType: 'text/plain' } })).toBe(id);
    expect(await readMeta()).toMatchObject({ id, userId: '1' });
    expect((await readMeta()).username).toBeUndefined();
    // Then we save ours, merged with Crawlee's.
    await writer.putRecord(id, 'k3', Buffer.from('x'), { contentType: 'text/plain' });
    await writer.flush();
    expect(await readMeta()).toMatchObject({ id, userId: LOCAL_USER.id, username: LOCAL_USER.username });
    await closeAll();

    const reader = await storageOn();
    const found = await reader.getOrCreateStore({ name: 'race', user: LOCAL_USER });
    expect(found).toMatchObject({ created: false, store: { id } });
    expect(await body(reader, id, 'k')).toBe('v');
    expect(await body(reader, id, 'c')).toBe('crawlee');
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual(['race']);
  });

  it("is the local user when a file holds Crawlee's owner placeholder beside our local username", async () => {
    const id = await ourStore();
    // What an earlier version's merge left: Crawlee's `userId` kept, our `username` added.
    await fsp.writeFile(metaFile(), JSON.stringify({ ...(await readMeta()), userId: '1', username: LOCAL_USER.username }));
    const reader = await storageOn();
    expect(await reader.getOrCreateStore({ name: 'race', user: LOCAL_USER })).toMatchObject({ created: false, store: { id } });
    expect(await body(reader, (await reader.getStore('race'))!.id, 'k')).toBe('v');
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual(['race']);
  });
});

describe('a client of the server', () => {
  it('reads a record by the id it was given while the metadata was half written, and by the real one after', async () => {
    const { id, whole } = await halfWrittenStore();
    const server = await startTestServer({ storageDir: dir });
    const created = await raw(server, 'POST', `${kvs}?name=race`);
    expect(created.status).toBe(200);
    const first: string = created.json.data.id;
    await fsp.writeFile(metaFile(), whole);
    for (const ref of [first, id]) {
      const res = await raw(server, 'GET', `${kvs}/${ref}/records/k`);
      expect(res.status, ref).toBe(200);
      expect(res.text).toBe('v');
    }
    expect((await putRecord(server, first, 'k2', 'w')).status).toBe(201);
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k2`)).text).toBe('w');
    expect((await raw(server, 'POST', `${kvs}?name=race`)).json.data.id).toBe(id);
  });
});
