/**
 * The key index under a memory budget: the packed rows and their overlay answer like a plain
 * sorted map whatever is read, written and deleted; idle stores' indexes are dropped past the
 * budget and loaded again from the folder, losing no write and showing what the disk holds;
 * an index in use or holding a half-done commit is never dropped.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { parseServeArgs } from '../../src/server/cli.js';
import { FolderBackend } from '../../src/storage/fs/folder-backend.js';
import { nodeFs } from '../../src/storage/fs/fs-layer.js';
import { IndexBudget, type IndexHolder } from '../../src/storage/fs/index-budget.js';
import { KeyRowsBuilder } from '../../src/storage/fs/key-rows.js';
import { RecordEntry } from '../../src/storage/fs/record-entry.js';
import { RecordIndex } from '../../src/storage/fs/record-index.js';
import { StorageService } from '../../src/storage/service.js';
import { LOCAL_USER } from '../../src/storage/types.js';
import { makeTempDir, readAll, removeDir } from './helpers.js';
import { seededRandom } from './support/records-over.js';

describe('IndexBudget', () => {
  const holder = (busy = false) => {
    const h = { busy, evictions: 0, evictIfIdle: (): boolean => false } as IndexHolder & { busy: boolean; evictions: number };
    return h;
  };

  it('drops the least recently used idle indexes until the total fits, never the busy or the charging one', () => {
    const budget = new IndexBudget(100);
    const order: string[] = [];
    const make = (name: string, busy = false) => {
      const h = holder(busy);
      h.evictIfIdle = () => {
        if (h.busy) return false;
        order.push(name);
        budget.release(h);
        return true;
      };
      return h;
    };
    const a = make('a');
    const b = make('b', true);
    const c = make('c');
    const d = make('d');
    budget.charge(a, 30);
    budget.charge(b, 30);
    budget.charge(c, 30);
    budget.charge(a, 30); // a used again: c is now the oldest idle one
    expect(budget.usedBytes).toBe(90);
    budget.charge(d, 50);
    // b is busy; c goes first, then a (oldest idle, in that order) until 100 fits.
    expect(order).toEqual(['c', 'a']);
    expect(budget.usedBytes).toBe(80);
    expect(budget.evicted).toBe(2);
    // Alone over the bound, the charging index stays.
    const e = make('e');
    budget.charge(e, 500);
    expect(order).toEqual(['c', 'a', 'd']);
    expect(budget.usedBytes).toBe(530);
    budget.release(e);
    budget.release(b);
    expect(budget.usedBytes).toBe(0);
    expect(() => new IndexBudget(-1)).toThrow(/budget/);
  });

  it('is set with --index-memory-mib, which refuses bad values', () => {
    expect(parseServeArgs(['--index-memory-mib', '64']).indexBudgetBytes).toBe(64 * 1024 * 1024);
    expect(parseServeArgs([]).indexBudgetBytes).toBeUndefined();
    expect(() => parseServeArgs(['--index-memory-mib', '-1'])).toThrow(/--index-memory-mib/);
    expect(() => parseServeArgs(['--index-memory-mib', 'lots'])).toThrow(/--index-memory-mib/);
    expect(() => new FolderBackend({ storageDir: '/nowhere', indexBudgetBytes: 1.5 })).toThrow(/indexBudgetBytes/);
  });
});

describe('RecordIndex', () => {
  const EXTS = ['json', 'txt', null, 'bin'] as const;

  /** Rows for `keys` (sorted, distinct), extension by key length. */
  function rowsOf(keys: string[]) {
    const extensions: Array<string | null> = [...EXTS];
    const builder = new KeyRowsBuilder(extensions);
    for (const key of keys) {
      const bytes = Buffer.from(key, 'latin1');
      builder.add(bytes, 0, bytes.length, key.length % EXTS.length, key.length % 2 === 0);
    }
    return builder.finish();
  }

  it('answers like a sorted map through gets, writes, deletes, sizes and pages, handing keys back to their rows', () => {
    const random = seededRandom(18);
    const alphabet = ['a', 'b', 'ab', 'b.c', 'A', '_', '0'];
    const keyOf = () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const initial = [...new Set(Array.from({ length: 150 }, keyOf))].sort();
    const model = new Map<string, { ext: string | null; size: number }>();
    for (const key of initial) model.set(key, { ext: EXTS[key.length % EXTS.length]!, size: -1 });
    // Small bounds: keys go back to their rows, and the index is packed again, many times.
    const index = new RecordIndex(rowsOf(initial), { maxDescribed: 4, compactAt: 10 });

    for (let step = 0; step < 3000; step++) {
      const key = keyOf();
      const roll = random();
      if (roll < 0.25) {
        const entry = index.get(key);
        expect(entry?.ext, key).toBe(model.get(key)?.ext);
        if (entry) expect(entry.size).toBe(model.get(key)!.size);
      } else if (roll < 0.45) {
        const ext = EXTS[Math.floor(random() * EXTS.length)]!;
        const entry = new RecordEntry(key, ext, true);
        entry.size = step;
        index.set(entry);
        model.set(key, { ext, size: step });
      } else if (roll < 0.6) {
        expect(index.delete(key)).toBe(model.delete(key));
      } else if (roll < 0.7) {
        // A stat of a listed entry: its size stays known, in the row or in the overlay.
        const [entry] = index.page({ exclusiveStartKey: key, limit: 1 }).entries;
        if (entry) {
          index.applySize(entry, { size: 1000 + step, ino: step, mtimeMs: 0, isFile: () => true, isDirectory: () => false });
          model.get(entry.key)!.size = 1000 + step;
        }
      } else {
        const prefix = random() < 0.5 ? '' : alphabet[Math.floor(random() * alphabet.length)]!;
        const after = random() < 0.5 ? undefined : keyOf();
        const limit = 1 + Math.floor(random() * 20);
        const expected = [...model.keys()].sort().filter((k) => k.startsWith(prefix) && (after === undefined || k > after));
        const page = index.page({ prefix, exclusiveStartKey: after, limit });
        expect(page.entries.map((e) => e.key)).toEqual(expected.slice(0, limit));
        expect(page.entries.map((e) => [e.ext, e.size])).toEqual(expected.slice(0, limit).map((k) => [model.get(k)!.ext, model.get(k)!.size]));
        expect(page.isTruncated).toBe(expected.length > limit);
      }
      expect(index.size).toBe(model.size);
      expect(index.has(key)).toBe(model.has(key));
    }
    expect(index.knownBytes()).toBe([...model.values()].reduce((sum, { size }) => sum + Math.max(0, size), 0));
    // Few entries are held whole: the rest went back to their rows.
    expect(index.estimatedBytes).toBeLessThan(rowsOf(initial).bytes + 200 * 320);
  });

  it('keeps a size statted for a listed key that moved to the overlay meanwhile', () => {
    const index = new RecordIndex(rowsOf(['a', 'b']));
    const [listed] = index.page({ limit: 1 }).entries;
    // A read takes the key into the overlay while the listing's stat is under way.
    const read = index.get('a')!;
    expect(read.size).toBe(-1);
    index.applySize(listed!, { size: 42, ino: 7, mtimeMs: 0, isFile: () => true, isDirectory: () => false });
    expect(index.get('a')!.size).toBe(42);
    expect(index.knownBytes()).toBe(42);
  });

  it('stays packed while a store is filled by writes', () => {
    const index = new RecordIndex(undefined, { compactAt: 4096 });
    const count = 40_000;
    for (let i = 0; i < count; i++) {
      const entry = new RecordEntry(`key-${String((i * 7919) % count).padStart(7, '0')}`, 'json', true);
      entry.size = 10;
      index.set(entry);
    }
    expect(index.size).toBe(count);
    expect(index.knownBytes()).toBe(count * 10);
    // Key bytes and ~15 bytes a key, plus an overlay of at most half the rows' worth of entries.
    expect(index.estimatedBytes / count).toBeLessThan(200);
    const page = index.page({ exclusiveStartKey: 'key-0009998', limit: 3 });
    expect(page.entries.map((e) => e.key)).toEqual(['key-0009999', 'key-0010000', 'key-0010001']);
  });

  it('keeps a pinned key in the overlay, with what was learned of it', () => {
    const pinned = new Set(['k1']);
    const index = new RecordIndex(rowsOf(['k0', 'k1', 'k2', 'k3', 'k4']), { maxDescribed: 1, pinned: (key) => pinned.has(key) });
    const held = index.get('k1')!;
    held.contentType = 'text/plain; charset=x-ours';
    for (const key of ['k0', 'k2', 'k3', 'k4']) index.get(key);
    expect(index.isCurrent(held)).toBe(true);
    expect(index.get('k1')).toBe(held);
    // A new key packs the index again: the pinned entry stays as it is.
    index.set(new RecordEntry('k5', 'json', true));
    index.compact();
    expect(index.get('k1')).toBe(held);
    expect(index.page({ limit: 10 }).entries.map((e) => e.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    // Unpinned, it is packed with the others: a later get makes a fresh entry that knows nothing yet.
    pinned.clear();
    index.compact();
    expect(index.isCurrent(held)).toBe(false);
    expect(index.get('k1')!.contentType).toBeUndefined();
  });
});

describe('stores under a small index budget', () => {
  let dir: string;
  let backend: FolderBackend;
  let storage: StorageService;

  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await storage?.close();
    await removeDir(dir);
  });

  /** A budget of 1 byte: each store's index is dropped as soon as another store is used. */
  async function open() {
    backend = new FolderBackend({ storageDir: dir, watch: false, caseInsensitive: false, indexBudgetBytes: 1 });
    storage = new StorageService(backend);
    await storage.open();
  }

  async function listAll(storeId: string, limit: number): Promise<string[]> {
    const keys: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await storage.listKeys(storeId, { limit, exclusiveStartKey: after });
      keys.push(...page.items.map((item) => item.key));
      if (!page.isTruncated) {
        expect(page.nextExclusiveStartKey).toBeNull();
        return keys;
      }
      after = page.nextExclusiveStartKey!;
    }
  }

  async function read(storeId: string, key: string) {
    const record = await storage.getRecord(storeId, key);
    return record && { body: (await readAll(record.openStream())).toString(), contentType: record.contentType };
  }

  it('loses no write and lists in the same order and pages while indexes are dropped and loaded again', async () => {
    await open();
    const random = seededRandom(7);
    const stores: Array<{ id: string; records: Map<string, { body: string; contentType: string }> }> = [];
    for (let s = 0; s < 5; s++) {
      stores.push({ id: (await storage.getOrCreateStore({ name: `s${s}`, user: LOCAL_USER })).store.id, records: new Map() });
    }
    const types = ['text/plain', 'application/json', 'text/html; charset=utf-8', 'application/x-ours'];
    let value = 0;
    for (let round = 0; round < 6; round++) {
      // Each op goes to a random store: the others' indexes are dropped between ops.
      for (let op = 0; op < 60; op++) {
        const store = stores[Math.floor(random() * stores.length)]!;
        const key = `k${Math.floor(random() * 25)}${random() < 0.3 ? '.x' : ''}`;
        if (random() < 0.75) {
          const record = { body: `v${value++}`, contentType: types[Math.floor(random() * types.length)]! };
          await storage.putRecord(store.id, key, Buffer.from(record.body), { contentType: record.contentType });
          store.records.set(key, record);
        } else {
          await storage.deleteRecord(store.id, key);
          store.records.delete(key);
        }
      }
      for (const store of stores) {
        const expected = [...store.records.keys()].sort();
        expect(await listAll(store.id, 1 + (round % 4) * 3)).toEqual(expected);
        for (const key of expected.slice(0, 5)) expect(await read(store.id, key)).toEqual(store.records.get(key));
      }
    }
    expect(backend.indexBudget!.evicted).toBeGreaterThan(20);
  });

  it('shows what the folder holds after a reload, changes made by others while the index was dropped included', async () => {
    await open();
    const a = (await storage.getOrCreateStore({ name: 'a', user: LOCAL_USER })).store.id;
    const b = (await storage.getOrCreateStore({ name: 'b', user: LOCAL_USER })).store.id;
    for (const key of ['one', 'two', 'three']) await storage.putRecord(a, key, Buffer.from(key), { contentType: 'text/plain' });
    expect(await listAll(a, 2)).toEqual(['one', 'three', 'two']);
    const evicted = backend.indexBudget!.evicted;
    await storage.putRecord(b, 'x', Buffer.from('x'), { contentType: 'text/plain' });
    expect(backend.indexBudget!.evicted).toBeGreaterThan(evicted);
    // Another program adds a record and removes one of ours; nothing watches (watch: false).
    const folder = path.join(dir, 'key_value_stores', 'a');
    await fsp.writeFile(path.join(folder, 'added.json'), '{"by":"crawlee"}');
    await fsp.rm(path.join(folder, 'two.txt'));
    await fsp.rm(path.join(folder, 'two.__metadata__.json'));
    expect(await listAll(a, 2)).toEqual(['added', 'one', 'three']);
    expect(await read(a, 'added')).toEqual({ body: '{"by":"crawlee"}', contentType: 'application/json; charset=utf-8' });
    expect(await read(a, 'two')).toBeNull();
  });

  it("counts a store's bytes right across reloads (a record's old size is taken before it is replaced)", async () => {
    await open();
    const a = (await storage.getOrCreateStore({ name: 'a', user: LOCAL_USER })).store.id;
    const b = (await storage.getOrCreateStore({ name: 'b', user: LOCAL_USER })).store.id;
    await storage.putRecord(b, 'x', Buffer.from('x'), { contentType: 'text/plain' });
    await storage.putRecord(b, 'y', Buffer.from('yyy'), { contentType: 'text/plain' });
    const evicted = backend.indexBudget!.evicted;
    await storage.putRecord(a, 'k', Buffer.from('a'), { contentType: 'text/plain' });
    expect(backend.indexBudget!.evicted).toBeGreaterThan(evicted);
    // b's index is loaded again, its sizes unknown until a page or a write needs them.
    await storage.putRecord(b, 'x', Buffer.from('xxxxx'), { contentType: 'text/plain' });
    await storage.putRecord(a, 'k', Buffer.from('a'), { contentType: 'text/plain' });
    await storage.deleteRecord(b, 'y');
    expect((await storage.getStore(b))!.stats!.storageBytes).toBe(5);
  });

  it('never drops an index holding a commit that failed half way (the disk still has the old sidecar)', async () => {
    await open();
    const a = (await storage.getOrCreateStore({ name: 'a', user: LOCAL_USER })).store.id;
    const b = (await storage.getOrCreateStore({ name: 'b', user: LOCAL_USER })).store.id;
    // Same size and extension: only the content type tells the two apart.
    await storage.putRecord(a, 'k', Buffer.from('old!'), { contentType: 'text/plain; charset=x-old' });
    const rename = nodeFs.rename;
    nodeFs.rename = async (from, to) => {
      if (path.basename(to) === 'k.__metadata__.json') throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      return rename(from, to);
    };
    try {
      await expect(storage.putRecord(a, 'k', Buffer.from('new!'), { contentType: 'text/plain; charset=x-new' })).rejects.toBeDefined();
      // Pressure: b is used, a is idle.
      await storage.putRecord(b, 'x', Buffer.from('x'), { contentType: 'text/plain' });
      await storage.listKeys(b);
      expect(await read(a, 'k')).toEqual({ body: 'new!', contentType: 'text/plain; charset=x-new' });
    } finally {
      nodeFs.rename = rename;
    }
    // Once the sidecar is in place (the next commit in a), the index may go: the disk agrees now.
    await storage.putRecord(a, 'other', Buffer.from('o'), { contentType: 'text/plain' });
    const evicted = backend.indexBudget!.evicted;
    await storage.listKeys(b);
    expect(backend.indexBudget!.evicted).toBeGreaterThan(evicted);
    expect(await read(a, 'k')).toEqual({ body: 'new!', contentType: 'text/plain; charset=x-new' });
  });

  it('keeps the index of a store with a write under way, and the write lands', async () => {
    await open();
    const a = (await storage.getOrCreateStore({ name: 'a', user: LOCAL_USER })).store.id;
    const b = (await storage.getOrCreateStore({ name: 'b', user: LOCAL_USER })).store.id;
    await storage.putRecord(a, 'before', Buffer.from('1'), { contentType: 'text/plain' });
    const { PassThrough } = await import('node:stream');
    const body = new PassThrough();
    body.write('first half, ');
    const put = storage.putRecord(a, 'slow', body, { contentType: 'text/plain' });
    const evicted = backend.indexBudget!.evicted;
    for (let i = 0; i < 5; i++) await storage.putRecord(b, `k${i}`, Buffer.from('b'), { contentType: 'text/plain' });
    // a is in use (its put is open): not dropped however often b is used.
    expect(backend.indexBudget!.evicted).toBe(evicted);
    body.end('second half');
    await put;
    expect(await read(a, 'slow')).toEqual({ body: 'first half, second half', contentType: 'text/plain' });
    expect(await listAll(a, 1)).toEqual(['before', 'slow']);
  });
});
