import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage, LaggingStorage, LOCAL_USER } from '../../src/storage/index.js';
import { makeTempDir, manualClock, openStorage, readAll, removeDir } from './helpers.js';

let dir: string;
let inner: FileStorage;
let clock: ReturnType<typeof manualClock>;
let lagging: LaggingStorage;
let storeId: string;
let nextRandom: number;

beforeEach(async () => {
  dir = await makeTempDir();
  clock = manualClock();
  inner = await openStorage(dir);
  nextRandom = 0.5;
  lagging = new LaggingStorage(inner, { maxLagMillis: 1000, now: clock.now, random: () => nextRandom, snapshotDir: path.join(dir, '.lag') });
  await lagging.open();
  storeId = (await lagging.getOrCreateStore({ name: 'lag', user: LOCAL_USER })).store.id;
});

afterEach(async () => {
  await lagging.close();
  await removeDir(dir);
});

const put = (key: string, value: string, contentType = 'text/plain') =>
  lagging.putRecord(storeId, key, Buffer.from(value), { contentType });

async function read(key: string) {
  const record = await lagging.getRecord(storeId, key);
  return record && { contentType: record.contentType, body: (await readAll(record.openStream())).toString(), size: record.size };
}

describe('LaggingStorage', () => {
  it('answers "not found" for a new record until its lag has passed', async () => {
    await put('k', 'v1');
    expect(await read('k')).toBeNull();
    clock.advance(499);
    expect(await read('k')).toBeNull();
    clock.advance(1);
    expect(await read('k')).toEqual({ contentType: 'text/plain', body: 'v1', size: 2 });
    // The write itself is durable at once: the inner storage has it.
    expect(await inner.getRecord(storeId, 'k')).not.toBeNull();
  });

  it('returns the previous body and content type after an update, then the new one', async () => {
    nextRandom = 0;
    await put('k', '{"v":1}', 'application/json');
    nextRandom = 0.9;
    await put('k', 'second', 'text/plain');
    expect(await read('k')).toEqual({ contentType: 'application/json', body: '{"v":1}', size: 7 });
    const record = await lagging.getRecord(storeId, 'k');
    expect((await readAll(record!.openStream({ start: 1, end: 3 }))).toString()).toBe('"v"');
    clock.advance(900);
    expect(await read('k')).toEqual({ contentType: 'text/plain', body: 'second', size: 6 });
  });

  it('keeps answering with the old record after a delete', async () => {
    nextRandom = 0;
    await put('k', 'value');
    nextRandom = 0.2;
    expect(await lagging.deleteRecord(storeId, 'k')).toBe(true);
    expect(await read('k')).toMatchObject({ body: 'value' });
    expect((await lagging.listKeys(storeId)).items).toEqual([{ key: 'k', size: 5 }]);
    clock.advance(200);
    expect(await read('k')).toBeNull();
    expect((await lagging.listKeys(storeId)).items).toEqual([]);
    // Deleting what is not there starts no lag.
    expect(await lagging.deleteRecord(storeId, 'k')).toBe(false);
  });

  it('lags key listings: previous presence and size, pages still chaining', async () => {
    nextRandom = 0;
    for (const key of ['a', 'b', 'c', 'd', 'e']) await put(key, key.repeat(3));
    nextRandom = 0.5;
    await put('b', 'bbbbbbbbbb'); // size change lags
    await put('bb', 'new'); // new key hidden
    await lagging.deleteRecord(storeId, 'd'); // deleted key still shown
    const first = await lagging.listKeys(storeId, { limit: 2 });
    expect(first.items).toEqual([{ key: 'a', size: 3 }, { key: 'b', size: 3 }]);
    expect(first.nextExclusiveStartKey).toBe('b');
    const second = await lagging.listKeys(storeId, { exclusiveStartKey: 'b', limit: 2 });
    expect(second.items.map((i) => i.key)).toEqual(['c']);
    const third = await lagging.listKeys(storeId, { exclusiveStartKey: second.nextExclusiveStartKey! });
    expect(third.items.map((i) => i.key)).toEqual(['d', 'e']);
    expect(third.nextExclusiveStartKey).toBeNull();
    expect((await lagging.listKeys(storeId)).items).toEqual([
      { key: 'a', size: 3 },
      { key: 'b', size: 3 },
      { key: 'c', size: 3 },
      { key: 'd', size: 3 },
      { key: 'e', size: 3 },
    ]);
    clock.advance(500);
    expect((await lagging.listKeys(storeId)).items.map((i) => `${i.key}:${i.size}`)).toEqual(['a:3', 'b:10', 'bb:3', 'c:3', 'e:3']);
  });

  it('keeps big previous bodies in a snapshot file, removed when the lag ends', async () => {
    await lagging.close();
    lagging = new LaggingStorage(inner, { maxLagMillis: 1000, now: clock.now, random: () => nextRandom, memorySnapshotLimit: 10, snapshotDir: path.join(dir, '.lag') });
    nextRandom = 0;
    const big = 'x'.repeat(5000);
    await put('k', big);
    nextRandom = 0.5;
    await put('k', 'small');
    expect(await fsp.readdir(path.join(dir, '.lag'))).toHaveLength(1);
    expect(await read('k')).toMatchObject({ body: big, size: 5000 });
    clock.advance(500);
    expect(await read('k')).toMatchObject({ body: 'small' });
    expect(await fsp.readdir(path.join(dir, '.lag'))).toHaveLength(0);
  });

  it('passes everything straight through when the lag is off', async () => {
    await lagging.close();
    lagging = new LaggingStorage(inner, { maxLagMillis: 0, now: clock.now });
    await put('k', 'v');
    expect(await read('k')).toMatchObject({ body: 'v' });
    expect(await lagging.deleteRecord(storeId, 'k')).toBe(true);
    expect(await read('k')).toBeNull();
  });

  it('forgets lags of a deleted store and reports inner errors unchanged', async () => {
    await put('k', 'v');
    expect(await lagging.deleteStore(storeId)).toBe(true);
    await expect(lagging.getRecord(storeId, 'k')).rejects.toMatchObject({ code: 'store-not-found' });
    await expect(lagging.putRecord('nope', 'k', Buffer.from('v'), { contentType: 'text/plain' })).rejects.toMatchObject({ code: 'store-not-found' });
    await expect(lagging.getRecord('nope', '../x')).rejects.toMatchObject({ code: 'invalid-record-key' });
  });
});
