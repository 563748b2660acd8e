/**
 * Read-your-writes: reads that contradict this client's own recent writes are repeated until they
 * agree; reads of things it did not write are answered at once.
 */
import nock from 'nock';
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { ConsistencyJournal, contradicts } from '../../src/client/http/consistency.js';
import { platform } from '../../src/client/platform/node.js';
import { ADAPTERS, API, apiError, JSON_HEADERS, makeClient, storeJson, useNock } from './helpers.js';

useNock();

const RECORD = '/v2/key-value-stores/s1/records/k';
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };
const NOT_FOUND = apiError('record-not-found', 'Record was not found.');

describe.each(ADAPTERS)('consistency over the %s adapter', (adapter) => {
  it('absorbs a 404 right after its own put', async () => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).get(RECORD).times(2).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(RECORD).reply(200, 'fresh', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: 'fresh' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('fresh');
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('absorbs an old ETag after its own update', async () => {
    nock(API).put(RECORD).reply(201, {}, { etag: '"v2"' });
    nock(API).get(RECORD).reply(200, 'old', { ...TEXT, etag: '"v1"' });
    nock(API).get(RECORD).reply(200, 'new', { ...TEXT, etag: 'W/"v2"' });
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: 'new' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('new');
    expect(clock.sleeps).toHaveLength(1);
  });

  // With integrity checks the body is named by the MD5 the check took; without, by a digest.
  it.each([true, false])('recognises an old version by its body when the server sends no ETag (integrity %s)', async (integrity) => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).get(RECORD).reply(200, { v: 1 }, JSON_HEADERS);
    nock(API).get(RECORD).reply(200, { v: 2 }, JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1', integrity });
    await client.keyValueStores.putRecord({ key: 'k', body: { v: 2 } });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toEqual({ v: 2 });
    expect(clock.sleeps).toHaveLength(1);
  });

  it('settles an ETag of another form by the MD5 of the body, and takes no digest of its own upload', async () => {
    const body = JSON.stringify({ v: 2 });
    const md5 = createHash('md5').update(body).digest('hex');
    // The PUT's ETag is the MD5 sent; reads answer in another form (as a multipart upload's ETag).
    nock(API).put(RECORD).times(2).reply(201, {}, { etag: `"${md5}"` });
    nock(API).get(RECORD).reply(200, { v: 1 }, { ...JSON_HEADERS, etag: '"0a1b-2"' });
    nock(API).get(RECORD).reply(200, body, { ...JSON_HEADERS, etag: '"3c4d-2"' });
    nock(API).get(RECORD).reply(200, body, { ...JSON_HEADERS, etag: '"3c4d-2"' });
    const digest = vi.spyOn(platform, 'digest');
    try {
      const { client, clock } = makeClient(adapter, { storeId: 's1' });
      await client.keyValueStores.putRecord({ key: 'k', body: { v: 2 } });
      expect(digest).not.toHaveBeenCalled();
      // The old body is read again once; the new one, though its ETag is not the one written, is taken.
      expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toEqual({ v: 2 });
      expect(clock.sleeps).toHaveLength(1);
      await client.keyValueStores.putRecord({ key: 'k', body: { v: 2 } });
      expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toEqual({ v: 2 });
      expect(clock.sleeps).toHaveLength(1);
    } finally {
      digest.mockRestore();
    }
  });

  it('absorbs a 200 after its own delete, for getRecord and recordExists', async () => {
    nock(API).delete(RECORD).reply(204);
    nock(API).get(RECORD).reply(200, 'stale', TEXT);
    nock(API).get(RECORD).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).head(RECORD).reply(200);
    nock(API).head(RECORD).reply(404);
    const { client } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.deleteRecord({ key: 'k' });
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toBeNull();
    expect(await client.keyValueStores.recordExists({ key: 'k' })).toBe(false);
  });

  it('answers a foreign 404 at once', async () => {
    nock(API).get(RECORD).reply(404, NOT_FOUND, JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('waits for a foreign record when asked with waitMillis', async () => {
    nock(API).get(RECORD).times(3).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(RECORD).reply(200, 'theirs', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    expect((await client.keyValueStores.getRecord({ key: 'k', waitMillis: 5_000 }))?.body).toBe('theirs');
    expect(clock.sleeps).toEqual([50, 100, 200]);
  });

  it('gives up at the end of the window and returns what the server says', async () => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).get(RECORD).times(15).reply(404, NOT_FOUND, JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1', consistencyWindowMillis: 10_000 });
    await client.keyValueStores.putRecord({ key: 'k', body: 'x' });
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toBeNull();
    const waited = clock.sleeps.reduce((a, b) => a + b, 0);
    expect(waited).toBe(10_000);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(1_000);
  });

  it('does not delay reads once the window has passed', async () => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).get(RECORD).reply(404, NOT_FOUND, JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: 'x' });
    clock.time += 10_001;
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('is off with consistencyWindowMillis: 0', async () => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).get(RECORD).reply(404, NOT_FOUND, JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1', consistencyWindowMillis: 0 });
    await client.keyValueStores.putRecord({ key: 'k', body: 'x' });
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('absorbs a 404 of a store it has just created, by id and by username~name', async () => {
    nock(API).post('/v2/key-value-stores').query({ name: 'my-store' }).reply(201, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).get('/v2/key-value-stores/id1').reply(404, apiError('record-or-token-not-found', 'No.'), JSON_HEADERS);
    nock(API).get('/v2/key-value-stores/id1').reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).get('/v2/key-value-stores/janedoe~my-store').reply(404, apiError('record-or-token-not-found', 'No.'), JSON_HEADERS);
    nock(API).get('/v2/key-value-stores/janedoe~my-store').reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    const { client } = makeClient(adapter);
    await client.keyValueStores.getOrCreateStore({ storeName: 'my-store' });
    expect((await client.keyValueStores.getStore({ storeId: 'id1' }))?.id).toBe('id1');
    expect((await client.keyValueStores.getStore({ storeId: 'janedoe~my-store' }))?.id).toBe('id1');
  });

  it('reads the records of a store it has deleted at once', async () => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).delete('/v2/key-value-stores/s1').reply(204);
    nock(API).get(RECORD).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).head(RECORD).reply(404);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: 'x' });
    await client.keyValueStores.deleteStore({ storeId: 's1' });
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toBeNull();
    expect(await client.keyValueStores.recordExists({ key: 'k' })).toBe(false);
    expect(clock.sleeps).toEqual([]);
  });

  it('forgets a deleted store under its id and its username~name, and takes it back when created again', async () => {
    const byName = '/v2/key-value-stores/janedoe~my-store';
    const storeGone = apiError('record-or-token-not-found', 'No.');
    const create = (id: string) =>
      nock(API).post('/v2/key-value-stores').query({ name: 'my-store' }).reply(201, { data: storeJson(id, 'my-store') }, JSON_HEADERS);
    create('id1');
    nock(API).put('/v2/key-value-stores/id1/records/a').reply(201, {});
    nock(API).put(`${byName}/records/b`).reply(201, {});
    nock(API).delete('/v2/key-value-stores/id1').reply(204);
    nock(API).get('/v2/key-value-stores/id1/records/a').reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(`${byName}/records/b`).twice().reply(404, NOT_FOUND, JSON_HEADERS);
    // Deleted by id, the store is gone by name too: a stale answer is read again.
    nock(API).get(byName).reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).get(byName).reply(404, storeGone, JSON_HEADERS);
    create('id2');
    nock(API).get(byName).reply(200, { data: storeJson('id2', 'my-store') }, JSON_HEADERS);
    const { client, clock } = makeClient(adapter);
    const kvs = client.keyValueStores;

    await kvs.getOrCreateStore({ storeName: 'my-store' });
    await kvs.putRecord({ storeId: 'id1', key: 'a', body: 'x' });
    await kvs.putRecord({ storeId: 'janedoe~my-store', key: 'b', body: 'y' });
    await kvs.deleteStore({ storeId: 'id1' });
    expect(await kvs.getRecord({ storeId: 'id1', key: 'a' })).toBeNull();
    expect(await kvs.getRecord({ storeId: 'janedoe~my-store', key: 'b' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
    expect(await kvs.getStore({ storeId: 'janedoe~my-store' })).toBeNull();
    expect(clock.sleeps).toEqual([50]);

    // Created again under the same name: a new, empty store, read at once by name.
    await kvs.getOrCreateStore({ storeName: 'my-store' });
    expect((await kvs.getStore({ storeId: 'janedoe~my-store' }))?.id).toBe('id2');
    expect(await kvs.getRecord({ storeId: 'janedoe~my-store', key: 'b' })).toBeNull();
    expect(clock.sleeps).toEqual([50]);
  });

  it('re-reads a streamed record after its own put and frees the discarded stream', async () => {
    nock(API).put(RECORD).reply(201, {});
    nock(API).get(RECORD).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(RECORD).reply(200, 'streamed', TEXT);
    const { client } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: 'streamed' });
    const record = await client.keyValueStores.getRecord({ key: 'k', stream: true });
    const chunks: Buffer[] = [];
    for await (const chunk of record!.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe('streamed');
  });
});

describe('ConsistencyJournal', () => {
  it('keeps at most maxEntries notes, forgetting the oldest', () => {
    let now = 0;
    const journal = new ConsistencyJournal(10_000, 3, () => now);
    for (const key of ['a', 'b', 'c', 'd']) journal.note('s', key, { exists: true, at: now });
    expect(journal.size).toBe(3);
    expect(journal.get('s', 'a')).toBeUndefined();
    expect(journal.get('s', 'd')).toBeDefined();
    now = 10_000;
    expect(journal.get('s', 'd')).toBeUndefined();
  });

  it('keeps store and record notes apart', () => {
    const journal = new ConsistencyJournal(1000, 10, () => 0);
    journal.note('s', undefined, { exists: false, at: 0 });
    expect(journal.get('s', undefined)?.exists).toBe(false);
    expect(journal.get('s', '')).toBeUndefined();
  });

  it('forgets the record notes of a deleted store, whichever alias they were written through', () => {
    const journal = new ConsistencyJournal(10_000, 10, () => 0);
    const put = { exists: true, at: 0 } as const;
    journal.learn({ id: 'id1', name: 'docs', username: 'jane' }, true);
    expect([journal.idOf('jane~docs'), journal.idOf('~docs'), journal.idOf('id1'), journal.idOf('~other')]).toEqual(['id1', 'id1', 'id1', undefined]);
    for (const store of ['id1', 'jane~docs', '~docs', 'id12', 'other']) journal.note(store, 'k', put);
    journal.note('id12', undefined, put);
    journal.forgetStore('id1');
    expect(journal.get('id1', 'k')).toBeUndefined();
    expect(journal.get('id1', undefined)?.exists).toBe(false);
    // Another store, even one whose id starts the same, keeps its notes.
    expect(journal.get('id12', 'k')).toBeDefined();
    expect(journal.get('id12', undefined)).toBeDefined();
    expect(journal.get('other', 'k')).toBeDefined();
  });

  it('moves notes written through an alias to the id once the alias is learnt, and follows a rename', () => {
    const journal = new ConsistencyJournal(10_000, 10, () => 0);
    journal.note('jane~docs', 'k', { exists: false, at: 0 });
    expect([...journal.unresolved]).toEqual(['jane~docs']);
    expect(journal.mayApply('k')).toBe(true);
    expect(journal.mayApply('other')).toBe(false);
    journal.learn({ id: 'id1', name: 'docs', username: 'jane' });
    expect(journal.unresolved.size).toBe(0);
    expect(journal.get('id1', 'k')?.exists).toBe(false);
    // Not known as the token owner's: `~docs` is not taken as this store.
    expect(journal.idOf('~docs')).toBeUndefined();
    journal.learn({ id: 'id1', name: 'papers', username: 'jane' });
    expect([journal.idOf('jane~docs'), journal.idOf('jane~papers')]).toEqual([undefined, 'id1']);
    journal.clear();
    expect([journal.size, journal.idOf('jane~papers'), journal.mayApply('k')]).toEqual([0, undefined, false]);
  });

  it('compares by ETag, then by digest', () => {
    expect(contradicts({ exists: true, etag: '"a"', at: 0 }, { exists: true, etag: '"a"' })).toBe(false);
    expect(contradicts({ exists: true, etag: '"a"', at: 0 }, { exists: true, etag: '"b"' })).toBe(true);
    // Different ETag formats, same body: the digest settles it.
    expect(contradicts({ exists: true, etag: '"a"', digest: 'd1', at: 0 }, { exists: true, etag: 'x', digest: () => 'd1' })).toBe(false);
    expect(contradicts({ exists: true, digest: 'd1', at: 0 }, { exists: true, digest: () => 'd0' })).toBe(true);
    expect(contradicts({ exists: true, at: 0 }, { exists: false })).toBe(true);
    expect(contradicts({ exists: false, at: 0 }, { exists: true })).toBe(true);
    expect(contradicts({ exists: true, digest: 'd1', at: 0 }, { exists: true })).toBe(false);
    // A note's MD5 (the integrity check's) is compared with the read body's MD5, only when the ETags differ.
    const unhashed = () => expect.unreachable('the body should not be hashed') as never;
    const md5Of = (md5: string) => (wanted: boolean) => (wanted ? md5 : 'other-digest');
    const noted = { exists: true, etag: '"a"', digest: 'm1', md5: true, at: 0 } as const;
    expect(contradicts(noted, { exists: true, etag: '"a"', digest: unhashed })).toBe(false);
    expect(contradicts(noted, { exists: true, etag: 'x-2', digest: md5Of('m1') })).toBe(false);
    expect(contradicts(noted, { exists: true, etag: 'x-2', digest: md5Of('m0') })).toBe(true);
    expect(contradicts({ ...noted, etag: undefined }, { exists: true, digest: md5Of('m0') })).toBe(true);
    // A streamed read (nothing to hash) with ETags that differ: not the write.
    expect(contradicts(noted, { exists: true, etag: '"b"' })).toBe(true);
  });
});
