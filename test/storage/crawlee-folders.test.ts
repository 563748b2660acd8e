/**
 * The engine on folders Crawlee wrote: odd store names, years-old access times, metadata on
 * and off, other processes writing while it runs, duplicate names, case-insensitive names.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { detectCaseInsensitive } from '../../src/storage/fs/folder-backend.js';
import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { crawleeWrite, ODD_NAMES, OLD_TIME, RECORDS, recordFiles, snapshot, waitFor, writeCrawleeFolder } from './crawlee.js';
import { makeTempDir, manualClock, openStorage, readAll, removeDir } from './helpers.js';

let dir: string;
let storage: FileStorage | undefined;
const storesDir = () => path.join(dir, 'key_value_stores');

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await storage?.close();
  storage = undefined;
  await removeDir(dir);
});

async function bodyOf(s: FileStorage, storeId: string, key: string): Promise<Buffer | null> {
  const record = await s.getRecord(storeId, key);
  return record && readAll(record.openStream());
}

const expectedBody = (key: string) => {
  const { value } = RECORDS[key]!;
  return Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
};

for (const writeMetadata of [true, false]) {
  describe(`a folder Crawlee wrote (metadata ${writeMetadata ? 'on' : 'off'})`, () => {
    let unnamedFolder: string;
    beforeEach(async () => {
      unnamedFolder = await writeCrawleeFolder(dir, writeMetadata);
    });

    it('opens read-only, lists and reads every store under its own name, and writes nothing', async () => {
      const before = await snapshot(dir);
      storage = await openStorage(dir, { readOnly: true, sweep: false });
      const all = await storage.listStores({ unnamed: true, userId: LOCAL_USER.id });
      expect(all.items.map((s) => s.name).sort()).toEqual([...ODD_NAMES, null].sort());
      for (const name of ODD_NAMES) {
        for (const ref of [name, `~${name}`, `local~${name}`]) expect((await storage.getStore(ref))?.name).toBe(name);
        const store = (await storage.getStore(name))!;
        expect((await storage.getStore(store.id))!.name).toBe(name);
        // Crawlee stores key `page.html` (text/html) in a file named `page.html`; without its
        // sidecar, Crawlee itself reads that file back as key `page`, and so do we.
        const htmlKey = writeMetadata ? 'page.html' : 'page';
        expect((await storage.listKeys(store.id)).items.map((i) => i.key)).toEqual(['INPUT', 'blob', htmlKey]);
        for (const key of Object.keys(RECORDS)) {
          const body = await bodyOf(storage, store.id, key === 'page.html' ? htmlKey : key);
          expect(body!.equals(expectedBody(key)), key).toBe(true);
        }
        expect((await storage.getRecord(store.id, htmlKey))!.contentType).toMatch(/^text\/html/);
      }
      const unnamed = all.items.find((s) => s.name === null)!;
      expect((await bodyOf(storage, unnamed.id, 'blob'))!.equals(expectedBody('blob'))).toBe(true);
      if (writeMetadata) expect(unnamed.accessedAt).toEqual(OLD_TIME);
      // Writes are refused, and nothing was written: names, contents and times are unchanged.
      await expect(storage.putRecord(unnamed.id, 'k', Buffer.from('v'), { contentType: 'text/plain' })).rejects.toMatchObject({ code: 'read-only' });
      expect(await storage.sweepExpired()).toEqual([]);
      await storage.close();
      storage = undefined;
      expect(await snapshot(dir)).toEqual(before);
    });

    it('keeps every store it found through the sweep, keeps folder names, and leaves record files byte-identical over restarts', async () => {
      const records = await recordFiles(dir);
      const folders = (await fsp.readdir(storesDir())).sort();
      for (let run = 0; run < 3; run++) {
        storage = await openStorage(dir, { sweep: true });
        expect(await storage.sweepExpired()).toEqual([]);
        const all = await storage.listStores({ unnamed: true });
        expect(all.items.map((s) => s.name).sort()).toEqual([...ODD_NAMES, null].sort());
        expect((await fsp.readdir(storesDir())).sort()).toEqual(folders);
        // The store ids stay the same from one run to the next (metadata or not).
        const ids = all.items.map((s) => s.id).sort();
        if (run > 0) expect(ids).toEqual(JSON.parse(await fsp.readFile(path.join(dir, 'ids.json'), 'utf8')));
        await fsp.writeFile(path.join(dir, 'ids.json'), JSON.stringify(ids));
        await storage.close();
        storage = undefined;
      }
      expect(await recordFiles(dir)).toEqual({ ...records, 'ids.json': expect.any(String) });
      expect(unnamedFolder).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
}

describe('store metadata', () => {
  it("keeps the user's own fields and Crawlee's id when it saves a found store's metadata", async () => {
    await writeCrawleeFolder(dir, true);
    const metaFile = path.join(storesDir(), 'my_store', '__metadata__.json');
    const original = JSON.parse(await fsp.readFile(metaFile, 'utf8'));
    await fsp.writeFile(metaFile, JSON.stringify({ ...original, myNote: 'keep me', nested: { a: [1, 2] } }));
    storage = await openStorage(dir, { metadataFlushMillis: 10 });
    const store = (await storage.getStore('my_store'))!;
    expect(store.id).toBe(original.id);
    await storage.putRecord(store.id, 'added', Buffer.from('new'), { contentType: 'text/plain' });
    await storage.close();
    storage = undefined;
    const saved = JSON.parse(await fsp.readFile(metaFile, 'utf8'));
    expect(saved).toMatchObject({ id: original.id, name: 'my_store', myNote: 'keep me', nested: { a: [1, 2] } });
    expect(saved.stats.writeCount).toBe(1);
  });

  it('adds missing metadata without renaming the folder, and reads do not rewrite it', async () => {
    await writeCrawleeFolder(dir, false);
    storage = await openStorage(dir);
    const metaFile = path.join(storesDir(), 'Store.v2', '__metadata__.json');
    const added = JSON.parse(await fsp.readFile(metaFile, 'utf8'));
    expect(added).toMatchObject({ name: 'Store.v2' });
    expect(added.temporary).toBeUndefined();
    expect(await fsp.readdir(storesDir())).toContain('Store.v2');
    // Opening adds the missing metadata of every store in the background: wait until each store
    // has its file and the folder holds still, so the reads below are all that could change it.
    let last = '';
    const before = await waitFor(async () => {
      const folders = (await fsp.readdir(storesDir(), { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
      const now = await snapshot(storesDir());
      const complete = folders.every((f) => now[path.join(f.name, '__metadata__.json')] !== undefined);
      const same = JSON.stringify(now) === last;
      last = JSON.stringify(now);
      return complete && same ? now : undefined;
    });
    const store = (await storage.getStore('Store.v2'))!;
    for (let i = 0; i < 20; i++) {
      await storage.getRecord(store.id, 'INPUT');
      await storage.listKeys(store.id);
      await storage.getStore('Store.v2');
    }
    // Reads are counted in memory; the metadata is saved at most every few seconds.
    expect((await storage.getStore(store.id))!.stats.readCount).toBe(20);
    expect(await snapshot(storesDir())).toEqual(before);
  });
});

describe('retention', () => {
  it('expires only unnamed stores this server created, never one found on disk however old', async () => {
    await writeCrawleeFolder(dir, true);
    const clock = manualClock(Date.now());
    storage = await openStorage(dir, { now: clock.now, unnamedRetentionMillis: 1000 });
    const { store: mine } = await storage.getOrCreateStore({ user: LOCAL_USER });
    const metadata = JSON.parse(await fsp.readFile(path.join(storesDir(), mine.id, '__metadata__.json'), 'utf8'));
    expect(metadata.temporary).toBe(true);
    const named = await storage.getOrCreateStore({ name: 'kept', user: LOCAL_USER });
    clock.advance(5000);
    expect(await storage.sweepExpired()).toEqual([mine.id]);
    const left = await storage.listStores({ unnamed: true });
    expect(left.items.map((s) => s.name).sort()).toEqual([...ODD_NAMES, 'kept', null].sort());
    expect(left.items.some((s) => s.id === named.store.id)).toBe(true);
  });
});

describe('other writers', () => {
  it('leaves alone the temp files in a store folder another process made while this one runs', async () => {
    storage = await openStorage(dir, { watch: false });
    const tempFolder = path.join(storesDir(), 'live', '.tmp');
    await fsp.mkdir(tempFolder, { recursive: true });
    // That process is writing a record: its body is on its way to the temp folder.
    await fsp.writeFile(path.join(tempFolder, 'abc.data'), 'in flight');
    expect((await storage.getStore('live'))?.name).toBe('live');
    expect(await fsp.readFile(path.join(tempFolder, 'abc.data'), 'utf8')).toBe('in flight');
  });

  it('answers a GET for a record Crawlee wrote after the index was built, without waiting for a watch', async () => {
    await writeCrawleeFolder(dir, true);
    storage = await openStorage(dir, { watch: false });
    const store = (await storage.getStore('my_store'))!;
    expect((await storage.listKeys(store.id)).count).toBe(3);
    await crawleeWrite(dir, 'my_store', { LATE: { value: { late: true }, contentType: 'application/json; charset=utf-8' } });
    const record = (await storage.getRecord(store.id, 'LATE'))!;
    expect(record.contentType).toBe('application/json; charset=utf-8');
    expect(JSON.parse((await readAll(record.openStream())).toString())).toEqual({ late: true });
    expect((await storage.listKeys(store.id)).items.map((i) => i.key)).toContain('LATE');
    // Written without a sidecar and with no extension hint: found by its extension.
    await fsp.writeFile(path.join(storesDir(), 'my_store', 'plain.txt'), 'by hand');
    expect((await bodyOf(storage, store.id, 'plain'))!.toString()).toBe('by hand');
    expect(await storage.getRecord(store.id, 'still-missing')).toBeNull();
  });

  it('shows records other processes add, change and remove, and their new stores, in listings', async () => {
    await writeCrawleeFolder(dir, true);
    storage = await openStorage(dir);
    const store = (await storage.getStore('Store.v2'))!;
    const keys = async () => (await storage!.listKeys(store.id)).items;
    expect((await keys()).map((i) => i.key)).toEqual(['INPUT', 'blob', 'page.html']);

    await crawleeWrite(dir, 'Store.v2', { ADDED: { value: 'added', contentType: 'text/plain' } });
    await waitFor(async () => ((await keys()).some((i) => i.key === 'ADDED') ? true : undefined));

    await crawleeWrite(dir, 'Store.v2', { INPUT: { value: 'x'.repeat(500), contentType: 'text/plain' } });
    await waitFor(async () => ((await keys()).find((i) => i.key === 'INPUT')?.size === 500 ? true : undefined));
    expect((await storage.getRecord(store.id, 'INPUT'))!.contentType).toBe('text/plain');

    // Rewritten in place with a body of the same length: the new bytes are served.
    const sameLength = { value: 'y'.repeat(500), contentType: 'text/plain' };
    await new Promise((resolve) => setTimeout(resolve, 20));
    await crawleeWrite(dir, 'Store.v2', { INPUT: sameLength });
    const newEtag = `"${createHash('md5').update('y'.repeat(500)).digest('hex')}"`;
    await waitFor(async () => ((await storage!.getRecord(store.id, 'INPUT'))!.etag === newEtag ? true : undefined));
    expect((await bodyOf(storage, store.id, 'INPUT'))!.toString()).toBe('y'.repeat(500));

    await fsp.rm(path.join(storesDir(), 'Store.v2', 'blob.bin'));
    await waitFor(async () => ((await keys()).some((i) => i.key === 'blob') ? undefined : true));

    await crawleeWrite(dir, 'late_store', { k: { value: 'v', contentType: 'text/plain' } });
    await waitFor(async () => ((await storage!.listStores()).items.some((s) => s.name === 'late_store') ? true : undefined));
  });

  it('rescans periodically where watching is not trusted', async () => {
    await writeCrawleeFolder(dir, false);
    storage = await openStorage(dir, { watch: true, rescanIntervalMillis: 100 });
    const store = (await storage.getStore('my_store'))!;
    await storage.listKeys(store.id);
    await fsp.writeFile(path.join(storesDir(), 'my_store', 'polled.json'), '{}');
    await waitFor(async () => ((await storage!.listKeys(store.id)).items.some((i) => i.key === 'polled') ? true : undefined));
  });

  it('finds a store folder another process created instead of making a second one', async () => {
    storage = await openStorage(dir, { watch: false });
    const crawleeId = await crawleeWrite(dir, 'ext', { k: { value: 'from crawlee', contentType: 'text/plain' } });
    const { store, created } = await storage.getOrCreateStore({ name: 'ext', user: LOCAL_USER });
    expect(created).toBe(false);
    expect(store.id).toBe(crawleeId);
    expect(await fsp.readdir(storesDir())).toEqual(['ext']);
    expect((await bodyOf(storage, store.id, 'k'))!.toString()).toBe('from crawlee');
    await storage.close();
    storage = await openStorage(dir);
    expect((await storage.listStores()).items.map((s) => s.name)).toEqual(['ext']);
  });

  it('keeps both of two folders claiming one name, warns naming both, and resolves the name the same way each time', async () => {
    for (const [folder, id] of [['zz-copy', 'idOfTheCopy'], ['dup', 'idOfTheOriginal']] as const) {
      await fsp.mkdir(path.join(storesDir(), folder), { recursive: true });
      await fsp.writeFile(path.join(storesDir(), folder, '__metadata__.json'), JSON.stringify({ id, name: 'dup' }));
      await fsp.writeFile(path.join(storesDir(), folder, 'which.txt'), folder);
    }
    for (let run = 0; run < 2; run++) {
      const warnings: string[] = [];
      storage = await openStorage(dir, { warn: (message) => warnings.push(message) });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('"dup"');
      expect(warnings[0]).toContain('"zz-copy"');
      expect((await storage.listStores()).items.map((s) => s.id).sort()).toEqual(['idOfTheCopy', 'idOfTheOriginal']);
      expect((await storage.getStore('dup'))!.id).toBe('idOfTheOriginal');
      expect((await bodyOf(storage, 'idOfTheCopy', 'which'))!.toString()).toBe('zz-copy');
      await storage.close();
      storage = undefined;
    }
    expect((await fsp.readdir(storesDir())).sort()).toEqual(['dup', 'zz-copy']);
  });
});

describe('case-insensitive file systems', () => {
  it('detects that this temp folder tells case apart', async () => {
    // Linux file systems are case-sensitive; on macOS or Windows defaults this is true.
    expect(await detectCaseInsensitive(dir)).toBe(process.platform === 'darwin' || process.platform === 'win32');
  });

  it('never lets keys that differ only in case share a file (case-insensitivity forced)', async () => {
    storage = await openStorage(dir, { caseInsensitive: true });
    const { store } = await storage.getOrCreateStore({ name: 'cases', user: LOCAL_USER });
    const bodies: Record<string, string> = { Key: 'upper', key: 'lower', KEY: 'shout', other: 'plain' };
    for (const [key, body] of Object.entries(bodies)) await storage.putRecord(store.id, key, Buffer.from(body), { contentType: 'text/plain' });
    const files = (await fsp.readdir(path.join(storesDir(), 'cases'))).filter((f) => !f.startsWith('.'));
    expect(new Set(files.map((f) => f.toLowerCase())).size).toBe(files.length);
    expect(files).toContain('Key.txt');
    expect(files).toContain('other.txt');
    for (let run = 0; run < 2; run++) {
      for (const [key, body] of Object.entries(bodies)) expect((await bodyOf(storage, store.id, key))!.toString()).toBe(body);
      expect((await storage.listKeys(store.id)).items.map((i) => i.key)).toEqual(['KEY', 'Key', 'key', 'other']);
      await storage.close();
      storage = await openStorage(dir, { caseInsensitive: true });
    }
    // Rewriting and deleting a hashed-name key leaves its twins alone.
    await storage.putRecord(store.id, 'key', Buffer.from('{}'), { contentType: 'application/json' });
    expect(await storage.deleteRecord(store.id, 'KEY')).toBe(true);
    expect((await bodyOf(storage, store.id, 'Key'))!.toString()).toBe('upper');
    expect((await bodyOf(storage, store.id, 'key'))!.toString()).toBe('{}');
    expect(await storage.getRecord(store.id, 'KEY')).toBeNull();
    const left = (await fsp.readdir(path.join(storesDir(), 'cases'))).filter((f) => !f.startsWith('.'));
    expect(new Set(left.map((f) => f.toLowerCase())).size).toBe(left.length);
  });
});
