/**
 * The contract every StorageBackend keeps, as one suite any backend can run:
 * `describeBackendContract('folder', () => makeFolderBackend())`.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import type { StorageBackend } from '../../src/storage/backend.js';
import { PayloadTooLargeError, StorageError } from '../../src/storage/errors.js';
import { randomId } from '../../src/storage/ids.js';
import { emptyStats } from '../../src/storage/store-metadata.js';
import { LOCAL_USER, type StoreInfo } from '../../src/storage/types.js';

export function storeInfo(name: string | null, overrides: Partial<StoreInfo> = {}): StoreInfo {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  return {
    id: randomId(),
    name,
    userId: LOCAL_USER.id,
    username: LOCAL_USER.username,
    createdAt: now,
    modifiedAt: now,
    accessedAt: now,
    generalAccess: 'FOLLOW_USER_SETTING',
    stats: emptyStats(),
    ...overrides,
  };
}

export const body = (data: string | Buffer, maxBytes?: number) => {
  const bytes = Buffer.from(data);
  return { stream: Readable.from([bytes]), size: bytes.byteLength, maxBytes };
};

export async function readRecord(backend: StorageBackend, storeId: string, key: string, range?: { start: number; end: number }) {
  const record = await backend.records(storeId).get(key);
  if (!record) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of record.openStream(range)) chunks.push(Buffer.from(chunk));
  return { ...record, body: Buffer.concat(chunks) };
}

export async function caughtAsync(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject, but it resolved.');
}

async function allKeys(backend: StorageBackend, storeId: string, options: { prefix?: string; limit: number }) {
  const keys: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await backend.records(storeId).list({ ...options, after });
    keys.push(...result.items.map((i) => i.key));
    if (result.next === null) return keys;
    after = result.next;
  }
  throw new Error('Listing did not end within 100 pages.');
}

export function describeBackendContract(label: string, makeBackend: () => Promise<StorageBackend>, options: { timeout?: number } = {}): void {
  const unique = () => `s-${randomBytes(4).toString('hex')}`;

  describe(`${label} backend: store catalog`, options, () => {
    it('creates a store that get, findByName and list all return', async () => {
      const backend = await makeBackend();
      const named = storeInfo(unique());
      const unnamed = storeInfo(null);
      await backend.catalog.create(named);
      await backend.catalog.create(unnamed);
      expect(await backend.catalog.get(named.id)).toMatchObject({ id: named.id, name: named.name, userId: LOCAL_USER.id });
      expect(await backend.catalog.get(unnamed.id)).toMatchObject({ id: unnamed.id, name: null });
      expect((await backend.catalog.findByName(LOCAL_USER.id, named.name!))?.id).toBe(named.id);
      expect(await backend.catalog.findByName('someone-else', named.name!)).toBeNull();
      const listed: string[] = [];
      for await (const info of backend.catalog.list()) listed.push(info.id);
      expect(listed).toEqual(expect.arrayContaining([named.id, unnamed.id]));
      expect(await backend.catalog.get(randomId())).toBeNull();
    });

    it('refuses a second store with a taken name', async () => {
      const backend = await makeBackend();
      const name = unique();
      await backend.catalog.create(storeInfo(name));
      const error = await caughtAsync(backend.catalog.create(storeInfo(name)));
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('name-not-unique');
    });

    it('saves a rename, access and stats; the old name is free again', async () => {
      const backend = await makeBackend();
      const [oldName, newName, taken] = [unique(), unique(), unique()];
      const info = storeInfo(oldName);
      await backend.catalog.create(info);
      await backend.catalog.create(storeInfo(taken));
      const loaded = (await backend.catalog.get(info.id))!;
      await backend.catalog.save({ ...loaded, name: newName, generalAccess: 'ANYONE_WITH_ID_CAN_READ', stats: { ...loaded.stats, writeCount: 3 } });
      const saved = await backend.catalog.get(info.id);
      expect(saved).toMatchObject({ name: newName, generalAccess: 'ANYONE_WITH_ID_CAN_READ', stats: { writeCount: 3 } });
      expect((await backend.catalog.findByName(LOCAL_USER.id, newName))?.id).toBe(info.id);
      expect(await backend.catalog.findByName(LOCAL_USER.id, oldName)).toBeNull();
      await backend.catalog.create(storeInfo(oldName));
      const error = await caughtAsync(backend.catalog.save({ ...saved!, name: taken }));
      expect((error as StorageError).code).toBe('name-not-unique');
      expect((await backend.catalog.get(info.id))?.name).toBe(newName);
    });

    it('removes a store with its records', async () => {
      const backend = await makeBackend();
      const info = storeInfo(unique());
      await backend.catalog.create(info);
      await backend.records(info.id).put('a', body('1'), 'text/plain');
      expect(await backend.catalog.remove(info.id)).toBe(true);
      expect(await backend.catalog.get(info.id)).toBeNull();
      expect(await backend.catalog.findByName(LOCAL_USER.id, info.name!)).toBeNull();
      expect(await backend.catalog.remove(info.id)).toBe(false);
      // The name can be used again, and the new store starts empty.
      const again = storeInfo(info.name);
      await backend.catalog.create(again);
      expect((await backend.records(again.id).list({ limit: 10 })).items).toEqual([]);
    });
  });

  describe(`${label} backend: records`, options, () => {
    async function newStore() {
      const backend = await makeBackend();
      const info = storeInfo(null);
      await backend.catalog.create(info);
      return { backend, id: info.id, records: backend.records(info.id) };
    }

    it('round-trips bytes and the exact content type, with size, ETag and ranges', async () => {
      const { backend, id, records } = await newStore();
      const put = await records.put('INPUT', body('{"a":1}'), 'application/json; charset=utf-8');
      expect(put).toMatchObject({ key: 'INPUT', size: 7, sizeDelta: 7, contentType: 'application/json; charset=utf-8' });
      expect(put.etag).toMatch(/^".+"$/);
      const read = await readRecord(backend, id, 'INPUT');
      expect(read).toMatchObject({ key: 'INPUT', size: 7, contentType: 'application/json; charset=utf-8', etag: put.etag });
      expect(read!.body.toString()).toBe('{"a":1}');
      expect((await readRecord(backend, id, 'INPUT', { start: 1, end: 3 }))!.body.toString()).toBe('"a"');
      await records.put('odd', body('x'), 'text/plain; charset=ISO-8859-1');
      expect((await records.get('odd'))?.contentType).toBe('text/plain; charset=ISO-8859-1');
      expect(await records.get('missing')).toBeNull();
    });

    it('overwrites, also with another content type, and lists the key once', async () => {
      const { backend, id, records } = await newStore();
      await records.put('k', body('12345'), 'application/json');
      const second = await records.put('k', body('abc'), 'text/plain');
      expect(second.sizeDelta).toBe(-2);
      const read = await readRecord(backend, id, 'k');
      expect(read).toMatchObject({ contentType: 'text/plain', size: 3 });
      expect(read!.body.toString()).toBe('abc');
      expect((await records.list({ limit: 10 })).items).toEqual([{ key: 'k', size: 3 }]);
      expect(await records.delete('k')).toBe(3);
      expect(await records.delete('k')).toBeNull();
      expect(await records.get('k')).toBeNull();
    });

    it('lists keys in UTF-8 byte order, paged, with a prefix', async () => {
      const { records } = await newStore();
      const keys = ['a', 'a!b', "a'c", 'a-d', 'a.b', 'a.b.c', 'aB', 'ab', 'B', 'Z', '_x', '0', '(p)', 'a(', 'a)'];
      for (const key of keys) await records.put(key, body(key), key.length % 2 ? 'text/plain' : 'application/json');
      const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      for (const limit of [1, 2, 3, 1000]) {
        expect(await allKeys({ records: () => records } as unknown as StorageBackend, '', { limit })).toEqual(expected);
      }
      expect(await allKeys({ records: () => records } as unknown as StorageBackend, '', { limit: 2, prefix: 'a.' })).toEqual(['a.b', 'a.b.c']);
      const first = await records.list({ limit: 3 });
      expect(first.items.map((i) => i.key)).toEqual(expected.slice(0, 3));
      expect(first.next).toBe(expected[2]);
      const last = await records.list({ limit: 1000, after: expected.at(-2) });
      expect(last).toEqual({ items: [{ key: expected.at(-1), size: expected.at(-1)!.length }], next: null });
    });

    it('stops a body past maxBytes and keeps the old record', async () => {
      const { backend, id, records } = await newStore();
      await records.put('k', body('old'), 'text/plain');
      const error = await caughtAsync(records.put('k', { stream: Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), maxBytes: 1000 }, 'text/plain'));
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect((await readRecord(backend, id, 'k'))!.body.toString()).toBe('old');
    });

    it('streams a large record intact, whole and in ranges', async () => {
      const { backend, id, records } = await newStore();
      const data = randomBytes(1024 * 1024 + 17);
      await records.put('big', { stream: Readable.from([data.subarray(0, 5000), data.subarray(5000)]) }, 'application/octet-stream');
      const whole = await readRecord(backend, id, 'big');
      expect(whole!.size).toBe(data.length);
      expect(whole!.body.equals(data)).toBe(true);
      const part = await readRecord(backend, id, 'big', { start: 1000, end: 700_000 });
      expect(part!.body.equals(data.subarray(1000, 700_001))).toBe(true);
    });

    it('answers store-not-found for records of a store that does not exist', async () => {
      const backend = await makeBackend();
      // records() may refuse at once or on the first call: either way, store-not-found.
      const error = await caughtAsync((async () => backend.records(randomId()).put('k', body('x'), 'text/plain'))());
      expect((error as StorageError).code).toBe('store-not-found');
    });
  });
}
