import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

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

async function waitFor(condition: () => Promise<boolean>, timeoutMillis = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the condition.');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
