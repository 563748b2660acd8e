import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { makeTempDir, manualClock, openStorage, removeDir } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;

let dir: string;
let clock: ReturnType<typeof manualClock>;
let storage: FileStorage;

beforeEach(async () => {
  dir = await makeTempDir();
  clock = manualClock();
  storage = await openStorage(dir, { now: clock.now });
});

afterEach(async () => {
  await storage.close();
  await removeDir(dir);
});

const createUnnamed = async () => (await storage.getOrCreateStore({ user: LOCAL_USER })).store;

describe('retention', () => {
  it('deletes unnamed stores 7 days after their last access, keeps named ones', async () => {
    const unnamed = await createUnnamed();
    const named = (await storage.getOrCreateStore({ name: 'kept', user: LOCAL_USER })).store;
    await storage.putRecord(unnamed.id, 'k', Buffer.from('v'), { contentType: 'text/plain' });

    clock.advance(7 * DAY - 1);
    expect(await storage.sweepExpired()).toEqual([]);
    clock.advance(1);
    expect(await storage.sweepExpired()).toEqual([unnamed.id]);
    expect(await storage.getStore(unnamed.id)).toBeNull();
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual(['kept']);

    clock.advance(365 * DAY);
    expect(await storage.sweepExpired()).toEqual([]);
    expect(await storage.getStore(named.id)).not.toBeNull();
  });

  it('counts reads, writes and listings as accesses', async () => {
    const store = await createUnnamed();
    for (const access of [
      () => storage.getRecord(store.id, 'k'),
      () => storage.listKeys(store.id),
      () => storage.putRecord(store.id, 'k', Buffer.from('v'), { contentType: 'text/plain' }),
      () => storage.getStore(store.id),
    ]) {
      clock.advance(6 * DAY);
      await access();
      clock.advance(6 * DAY);
      expect(await storage.sweepExpired()).toEqual([]);
    }
    clock.advance(7 * DAY);
    expect(await storage.sweepExpired()).toEqual([store.id]);
  });

  it('keeps a store that was given a name, and expires one whose name was taken away', async () => {
    const store = await createUnnamed();
    await storage.updateStore(store.id, { name: 'rescued' });
    clock.advance(30 * DAY);
    expect(await storage.sweepExpired()).toEqual([]);
    await storage.updateStore(store.id, { name: null });
    clock.advance(7 * DAY);
    expect(await storage.sweepExpired()).toEqual([store.id]);
  });

  it('sweeps once on open, using the access time saved on disk', async () => {
    const store = await createUnnamed();
    await storage.close();
    clock.advance(8 * DAY);
    storage = await openStorage(dir, { now: clock.now });
    expect(await storage.getStore(store.id)).toBeNull();
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual([]);
  });

  it('honours a custom retention period', async () => {
    await storage.close();
    storage = await openStorage(dir, { now: clock.now, unnamedRetentionMillis: 1000 });
    const store = await createUnnamed();
    clock.advance(999);
    expect(await storage.sweepExpired()).toEqual([]);
    clock.advance(1);
    expect(await storage.sweepExpired()).toEqual([store.id]);
  });

  it('runs the sweep periodically in the background until closed', async () => {
    await storage.close();
    storage = new FileStorage({ storageDir: dir, now: clock.now, sweepIntervalMillis: 20 });
    await storage.open();
    const first = await createUnnamed();
    clock.advance(8 * DAY);
    await waitFor(async () => (await storage.listStores({ unnamed: true })).total === 0);
    expect(await storage.getStore(first.id)).toBeNull();

    await storage.close();
    // After close no sweep runs: a store expired on disk stays there.
    const second = await (async () => {
      const s = await openStorage(dir, { now: clock.now });
      const created = (await s.getOrCreateStore({ user: LOCAL_USER })).store;
      await s.close();
      return created;
    })();
    clock.advance(8 * DAY);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await fsp.readdir(path.join(dir, 'key_value_stores'))).toEqual([second.id]);
  });
});

describe('access times', () => {
  it('are kept in memory and saved at most once per flush interval, and on close', async () => {
    await storage.close();
    // Only the debounce timer is faked; the file system and the injected clock stay real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      storage = await openStorage(dir, { now: clock.now, metadataFlushMillis: 1000 });
      const store = await createUnnamed();
      await storage.putRecord(store.id, 'k', Buffer.from('v'), { contentType: 'text/plain' });
      const metaFile = path.resolve(dir, 'key_value_stores', store.id, '__metadata__.json');
      const onDisk = async () => JSON.parse(await fsp.readFile(metaFile, 'utf8'));
      const iso = (millis: number) => new Date(millis).toISOString();
      await vi.advanceTimersByTimeAsync(1000);
      await until(async () => (await onDisk()).stats.writeCount === 1);
      // Every write of the file is an atomic rename onto it.
      const rename = vi.spyOn(fsp, 'rename');
      const writes = () => rename.mock.calls.filter(([, to]) => path.resolve(String(to)) === metaFile).length;

      for (let i = 0; i < 100; i++) {
        clock.advance(1000);
        await storage.getStore(store.id);
        await storage.getRecord(store.id, 'k');
        await storage.getRecord(store.id, 'missing');
        await storage.listKeys(store.id);
        await expect(storage.getRecord(store.id, 'bad key')).rejects.toMatchObject({ code: 'invalid-record-key' });
        expect(await storage.getStore('no-such-store')).toBeNull();
      }
      const last = clock.now();
      expect(writes()).toBe(0);
      expect((await storage.getStore(store.id))!.accessedAt.toISOString()).toBe(iso(last));

      await vi.advanceTimersByTimeAsync(1000);
      await until(async () => (await onDisk()).accessedAt === iso(last));
      expect(writes()).toBe(1);
      expect((await onDisk()).stats).toMatchObject({ readCount: 200, listCount: 100 });
      await vi.advanceTimersByTimeAsync(10_000);
      expect(writes()).toBe(1);

      clock.advance(5000);
      await storage.getRecord(store.id, 'missing');
      await storage.close();
      expect(writes()).toBe(2);
      expect((await onDisk()).accessedAt).toBe(iso(clock.now()));
    } finally {
      vi.useRealTimers();
    }
    // Retention after a reopen goes by the saved time.
    clock.advance(7 * DAY - 1);
    storage = await openStorage(dir, { now: clock.now });
    expect((await storage.listStores({ unnamed: true })).total).toBe(1);
    clock.advance(1);
    expect((await storage.sweepExpired()).length).toBe(1);
  });
});

/** Polls (without timers, which may be faked) until the condition holds. */
async function until(condition: () => Promise<boolean>, timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the condition.');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the condition.');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
