/**
 * Read-your-writes across the references of one store: its id, `username~name` and `~name`.
 * The journal keys notes by the store's id; aliases are learnt from store objects, or looked up
 * once when a note could apply.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ADAPTERS, API, apiError, JSON_HEADERS, makeClient, storeJson, useNock } from './helpers.js';

useNock();

const STORES = '/v2/key-value-stores';
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };
const NOT_FOUND = apiError('record-not-found', 'Record was not found.');
const STORE_GONE = apiError('record-or-token-not-found', 'No.');

describe.each(ADAPTERS)('store aliases over the %s adapter', (adapter) => {
  it('reads back through username~name and ~name a record written by id, looking the alias up once', async () => {
    nock(API).put(`${STORES}/id1/records/k`).reply(201, {});
    // The alias is unknown: the client asks once which store it names.
    nock(API).get(`${STORES}/janedoe~my-store`).reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).get(`${STORES}/janedoe~my-store/records/k`).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(`${STORES}/janedoe~my-store/records/k`).reply(200, 'mine', TEXT);
    nock(API).get(`${STORES}/~my-store`).reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).get(`${STORES}/~my-store/records/k`).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(`${STORES}/~my-store/records/k`).reply(200, 'mine', TEXT);
    // Known now: no second look-up.
    nock(API).get(`${STORES}/janedoe~my-store/records/k`).reply(200, 'mine', TEXT);
    const { client, clock } = makeClient(adapter);
    const kvs = client.keyValueStores;
    await kvs.putRecord({ storeId: 'id1', key: 'k', body: 'mine' });
    expect((await kvs.getRecord({ storeId: 'janedoe~my-store', key: 'k' }))?.body).toBe('mine');
    expect((await kvs.getRecord({ storeId: '~my-store', key: 'k' }))?.body).toBe('mine');
    expect((await kvs.getRecord({ storeId: 'janedoe~my-store', key: 'k' }))?.body).toBe('mine');
    expect(clock.sleeps).toEqual([50, 50]);
  });

  it('reads back by id a record written through ~name before the store was known', async () => {
    nock(API).put(`${STORES}/~my-store/records/k`).reply(201, {});
    nock(API).get(`${STORES}/~my-store`).reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    // v2's getRecord asks for the record as an attachment, as apify-client v2 does.
    nock(API).get(`${STORES}/id1/records/k`).query({ attachment: 'true' }).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(`${STORES}/id1/records/k`).query({ attachment: 'true' }).reply(200, 'mine', TEXT);
    const { client, clock } = makeClient(adapter);
    await client.keyValueStore('~my-store').setRecord({ key: 'k', value: 'mine' });
    expect((await client.keyValueStore('id1').getRecord('k'))?.value).toBe('mine');
    expect(clock.sleeps).toEqual([50]);
  });

  it('does not delay, or look up, a read through an unknown alias that no note could apply to', async () => {
    nock(API).put(`${STORES}/id1/records/a`).reply(201, {});
    nock(API).get(`${STORES}/janedoe~other/records/b`).reply(404, NOT_FOUND, JSON_HEADERS);
    const { client, clock } = makeClient(adapter);
    await client.keyValueStores.putRecord({ storeId: 'id1', key: 'a', body: 'x' });
    expect(await client.keyValueStores.getRecord({ storeId: 'janedoe~other', key: 'b' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('clears the notes kept under the id when the store is deleted through ~name', async () => {
    nock(API).post(STORES).query({ name: 'my-store' }).reply(201, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).put(`${STORES}/id1/records/k`).reply(201, {});
    nock(API).delete(`${STORES}/~my-store`).reply(204);
    nock(API).get(`${STORES}/id1/records/k`).reply(404, STORE_GONE, JSON_HEADERS);
    const { client, clock } = makeClient(adapter);
    await client.keyValueStores.getOrCreateStore({ storeName: 'my-store' });
    await client.keyValueStores.putRecord({ storeId: 'id1', key: 'k', body: 'x' });
    await client.keyValueStore('~my-store').delete();
    expect(await client.keyValueStores.getRecord({ storeId: 'id1', key: 'k' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('looks an unknown alias up before deleting through it, so the notes under the id go', async () => {
    nock(API).put(`${STORES}/id1/records/k`).reply(201, {});
    nock(API).get(`${STORES}/janedoe~my-store`).reply(200, { data: storeJson('id1', 'my-store') }, JSON_HEADERS);
    nock(API).delete(`${STORES}/janedoe~my-store`).reply(204);
    nock(API).get(`${STORES}/id1/records/k`).reply(404, STORE_GONE, JSON_HEADERS);
    const { client, clock } = makeClient(adapter);
    await client.keyValueStores.putRecord({ storeId: 'id1', key: 'k', body: 'x' });
    await client.keyValueStores.deleteStore({ storeId: 'janedoe~my-store' });
    expect(await client.keyValueStores.getRecord({ storeId: 'id1', key: 'k' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('learns aliases from listStores and updateStore, and follows a rename', async () => {
    nock(API).get(STORES).reply(200, { data: { total: 1, offset: 0, limit: 1000, count: 1, desc: false, items: [storeJson('id1', 'old')] } }, JSON_HEADERS);
    nock(API).put(`${STORES}/id1/records/k`).reply(201, {});
    nock(API).get(`${STORES}/janedoe~old/records/k`).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(`${STORES}/janedoe~old/records/k`).reply(200, 'x', TEXT);
    nock(API).put(`${STORES}/id1`).reply(200, { data: storeJson('id1', 'new') }, JSON_HEADERS);
    nock(API).get(`${STORES}/janedoe~new/records/k`).reply(404, NOT_FOUND, JSON_HEADERS);
    nock(API).get(`${STORES}/janedoe~new/records/k`).reply(200, 'x', TEXT);
    const { client, clock } = makeClient(adapter);
    await client.keyValueStores.listStores();
    await client.keyValueStores.putRecord({ storeId: 'id1', key: 'k', body: 'x' });
    expect((await client.keyValueStores.getRecord({ storeId: 'janedoe~old', key: 'k' }))?.body).toBe('x');
    await client.keyValueStores.updateStore({ storeId: 'id1', store: { name: 'new' } });
    expect((await client.keyValueStores.getRecord({ storeId: 'janedoe~new', key: 'k' }))?.body).toBe('x');
    expect(clock.sleeps).toEqual([50, 50]);
  });

  it('forgets its writes and the aliases when the token changes', async () => {
    nock(API).put(`${STORES}/s1/records/k`).reply(201, {});
    nock(API).get(`${STORES}/s1/records/k`).reply(404, NOT_FOUND, JSON_HEADERS);
    const { client, clock } = makeClient(adapter);
    await client.keyValueStores.putRecord({ storeId: 's1', key: 'k', body: 'x' });
    client.setOptions({ token: 'another-token-0987654321' });
    expect(await client.keyValueStores.getRecord({ storeId: 's1', key: 'k' })).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('settles ETags of different formats by the digest of the body', async () => {
    nock(API).put(`${STORES}/s1/records/k`).reply(201, {}, { etag: '"md5-of-v2"' });
    // Another front-end formats the ETag of the same body differently: the digest says it is ours.
    nock(API).get(`${STORES}/s1/records/k`).reply(200, 'version 2', { ...TEXT, etag: 'W/"9-abc"' });
    // An old body under yet another ETag is read again.
    nock(API).put(`${STORES}/s1/records/j`).reply(201, {}, { etag: '"md5-of-new"' });
    nock(API).get(`${STORES}/s1/records/j`).reply(200, 'old', { ...TEXT, etag: 'W/"3-old"' });
    nock(API).get(`${STORES}/s1/records/j`).reply(200, 'new', { ...TEXT, etag: 'W/"3-new"' });
    const { client, clock } = makeClient(adapter);
    await client.keyValueStores.putRecord({ storeId: 's1', key: 'k', body: 'version 2' });
    expect((await client.keyValueStores.getRecord({ storeId: 's1', key: 'k' }))?.body).toBe('version 2');
    expect(clock.sleeps).toEqual([]);
    await client.keyValueStores.putRecord({ storeId: 's1', key: 'j', body: 'new' });
    expect((await client.keyValueStores.getRecord({ storeId: 's1', key: 'j' }))?.body).toBe('new');
    expect(clock.sleeps).toEqual([50]);
  });
});
