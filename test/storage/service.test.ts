/**
 * The storage service over a backend that is not the folder one: the contract's meaning
 * (references, stats, retention, read-only) lives in the service, whatever the backend.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import type { RecordStore, StorageBackend, StoreCatalog } from '../../src/storage/backend.js';
import { LOCAL_USER, StorageError, StorageService, type StoreInfo } from '../../src/storage/index.js';
import { manualClock, readAll } from './helpers.js';

/** A backend in memory, counting metadata saves. */
class MemoryBackend implements StorageBackend {
  readonly stores = new Map<string, StoreInfo>();
  readonly bodies = new Map<string, Map<string, { data: Buffer; contentType: string }>>();
  saves = 0;
  /** Simulates another instance creating the store between lookup and create. */
  raceOnCreate: StoreInfo | undefined;

  async open() {}
  async close() {}

  readonly catalog: StoreCatalog = {
    list: () => (async function* (stores: Map<string, StoreInfo>) {
      for (const info of stores.values()) yield structuredClone(info);
    })(this.stores),
    get: async (id) => structuredClone(this.stores.get(id) ?? null),
    findByName: async (userId, name) => structuredClone([...this.stores.values()].find((s) => s.userId === userId && s.name === name) ?? null),
    findByUsername: async (username, name) => structuredClone([...this.stores.values()].find((s) => s.username === username && s.name === name) ?? null),
    create: async (info) => {
      if (this.raceOnCreate) {
        this.stores.set(this.raceOnCreate.id, this.raceOnCreate);
        this.raceOnCreate = undefined;
        throw new StorageError('name-not-unique', 'taken');
      }
      this.stores.set(info.id, structuredClone(info));
      this.bodies.set(info.id, new Map());
    },
    save: async (info) => {
      this.saves++;
      this.stores.set(info.id, structuredClone(info));
    },
    remove: async (id) => this.stores.delete(id),
  };

  records(storeId: string): RecordStore {
    const bodies = this.bodies.get(storeId) ?? new Map();
    this.bodies.set(storeId, bodies);
    return {
      get: async (key) => {
        const record = bodies.get(key);
        if (!record) return null;
        return { key, contentType: record.contentType, size: record.data.length, etag: '"x"', modifiedAt: new Date(0), openStream: () => Readable.from([record.data]) };
      },
      put: async (key, body, contentType) => {
        const data = body.stream instanceof Uint8Array ? Buffer.from(body.stream) : await readAll(body.stream);
        const sizeDelta = data.length - (bodies.get(key)?.data.length ?? 0);
        bodies.set(key, { data, contentType });
        return { key, contentType, size: data.length, etag: '"x"', modifiedAt: new Date(0), sizeDelta };
      },
      delete: async (key) => {
        const record = bodies.get(key);
        bodies.delete(key);
        return record ? record.data.length : null;
      },
      list: async ({ limit }) => ({ items: [...bodies].slice(0, limit).map(([key, r]) => ({ key, size: r.data.length })), next: null }),
    };
  }
}

describe('StorageService over another backend', () => {
  it('keeps stats in memory and saves them debounced, not once per read', async () => {
    const backend = new MemoryBackend();
    const service = new StorageService(backend, { sweep: false, metadataFlushMillis: 60_000 });
    const { store } = await service.getOrCreateStore({ name: 'stats', user: LOCAL_USER });
    await service.putRecord(store.id, 'k', Buffer.from('12345'), { contentType: 'text/plain' });
    for (let i = 0; i < 50; i++) await service.getRecord(store.id, 'k');
    expect(backend.saves).toBe(0);
    expect((await service.getStore(store.id))!.stats).toMatchObject({ readCount: 50, writeCount: 1, storageBytes: 5 });
    await service.close();
    expect(backend.saves).toBe(1);
    expect(backend.stores.get(store.id)!.stats).toMatchObject({ readCount: 50, writeCount: 1, storageBytes: 5 });
  });

  it('answers get-or-create with the store another instance created meanwhile', async () => {
    const backend = new MemoryBackend();
    const service = new StorageService(backend, { sweep: false });
    const now = new Date();
    backend.raceOnCreate = {
      id: 'otherInstance', name: 'shared', userId: LOCAL_USER.id, username: LOCAL_USER.username,
      createdAt: now, modifiedAt: now, accessedAt: now, generalAccess: 'FOLLOW_USER_SETTING',
      stats: { readCount: 0, writeCount: 0, deleteCount: 0, listCount: 0, storageBytes: 0 },
    };
    const result = await service.getOrCreateStore({ name: 'shared', user: LOCAL_USER });
    expect(result).toMatchObject({ created: false, store: { id: 'otherInstance' } });
    await service.close();
  });

  it('resolves references by id, name, ~name and username~name, including names the API would refuse for new stores', async () => {
    const backend = new MemoryBackend();
    const service = new StorageService(backend, { sweep: false });
    const { store } = await service.getOrCreateStore({ name: 'plain', user: LOCAL_USER });
    await backend.catalog.save({ ...store, name: 'my_store' });
    for (const ref of [store.id, 'my_store', '~my_store', 'local~my_store']) expect((await service.getStore(ref))?.id).toBe(store.id);
    for (const ref of ['', '~', 'a/b', '..', 'other~my_store']) expect(await service.getStore(ref)).toBeNull();
    await service.close();
  });

  it('expires only the unnamed stores it created', async () => {
    const backend = new MemoryBackend();
    const clock = manualClock();
    const service = new StorageService(backend, { sweep: false, now: clock.now, unnamedRetentionMillis: 100 });
    const { store: mine } = await service.getOrCreateStore({ user: LOCAL_USER });
    const found = { ...mine, id: 'foundOnDisk', temporary: undefined };
    backend.stores.set(found.id, found);
    clock.advance(1000);
    expect(await service.sweepExpired()).toEqual([mine.id]);
    expect(backend.stores.has('foundOnDisk')).toBe(true);
    await service.close();
  });

  it('refuses writes and saves nothing when read-only', async () => {
    const backend = new MemoryBackend();
    const writer = new StorageService(backend, { sweep: false });
    const { store } = await writer.getOrCreateStore({ name: 'ro', user: LOCAL_USER });
    await writer.close();
    const saves = backend.saves;
    const reader = new StorageService(backend, { readOnly: true });
    expect((await reader.getStore('ro'))!.id).toBe(store.id);
    await reader.listKeys(store.id);
    for (const attempt of [
      () => reader.putRecord(store.id, 'k', Buffer.from('v'), { contentType: 'text/plain' }),
      () => reader.deleteRecord(store.id, 'k'),
      () => reader.getOrCreateStore({ name: 'new', user: LOCAL_USER }),
      () => reader.updateStore(store.id, { name: 'renamed' }),
      () => reader.deleteStore(store.id),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'read-only' });
    }
    await reader.close();
    expect(backend.saves).toBe(saves);
    expect(backend.stores.size).toBe(1);
  });
});
