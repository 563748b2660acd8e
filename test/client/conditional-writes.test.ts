/**
 * Conditional writes through the client (`setRecord(record, { ifMatch | ifNoneMatch })`,
 * `deleteRecord(key, { ifMatch })`): against the real server, and refused before sending against
 * a server that does not say it honours them (the platform, here mocked with nock).
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { startTestServer } from '../server/helpers.js';
import { caught } from './caught.js';
import { API, JSON_HEADERS, makeClient, storeJson, useNock } from './helpers.js';

useNock();

async function storeOnServer() {
  const server = await startTestServer();
  const client = new ApifyClient({ baseUrl: server.url, maxRetries: 0 });
  const { id } = await client.keyValueStores().getOrCreate('cond');
  return { server, client, store: client.keyValueStore(id) };
}

describe('conditional writes against the server', () => {
  it('create only, compare-and-set by ETag, and 412 as ApifyApiError of type precondition-failed', async () => {
    const { store } = await storeOnServer();
    await store.setRecord({ key: 'state', value: { n: 1 } }, { ifNoneMatch: '*' });
    const again = await caught(store.setRecord({ key: 'state', value: { n: 99 } }, { ifNoneMatch: '*' }));
    expect(again).toMatchObject({ name: 'ApifyApiError', statusCode: 412, type: 'precondition-failed' });

    const read = await store.getRecord('state');
    expect(read).toEqual({ key: 'state', value: { n: 1 }, contentType: 'application/json; charset=utf-8' });
    const etag = read!.etag!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    await store.setRecord({ key: 'state', value: { n: 2 } }, { ifMatch: etag });
    // The same ETag again is stale now; so is it without quotes.
    expect(await caught(store.setRecord({ key: 'state', value: { n: 3 } }, { ifMatch: etag }))).toMatchObject({ statusCode: 412 });
    expect(await caught(store.setRecord({ key: 'state', value: { n: 3 } }, { ifMatch: etag.slice(1, -1) }))).toMatchObject({ statusCode: 412 });
    expect((await store.getRecord('state'))?.value).toEqual({ n: 2 });

    const current = (await store.getRecord('state'))!.etag!;
    // Unquoted, as some tools print it: quoted by the client.
    await store.setRecord({ key: 'state', value: { n: 3 } }, { ifMatch: current.slice(1, -1) });
    expect((await store.getRecord('state'))?.value).toEqual({ n: 3 });
  });

  it('deleteRecord with ifMatch deletes only that version; without a record it is a 412', async () => {
    const { store } = await storeOnServer();
    await store.setRecord({ key: 'k', value: 'v1', contentType: 'text/plain' });
    const v1 = (await store.getRecord('k'))!.etag!;
    await store.setRecord({ key: 'k', value: 'v2', contentType: 'text/plain' });
    expect(await caught(store.deleteRecord('k', { ifMatch: v1 }))).toMatchObject({ statusCode: 412, type: 'precondition-failed' });
    expect(await store.recordExists('k')).toBe(true);
    await store.deleteRecord('k', { ifMatch: (await store.getRecord('k'))!.etag! });
    expect(await store.recordExists('k')).toBe(false);
    expect(await caught(store.deleteRecord('k', { ifMatch: '*' }))).toMatchObject({ statusCode: 412 });
  });

  it('refuses unknown and malformed condition options before any request', async () => {
    const { store } = await storeOnServer();
    const typo = await caught(store.setRecord({ key: 'k', value: 1 }, { ifmatch: '"x"' } as never));
    expect(typo).toMatchObject({ name: 'ApifyArgumentError', type: 'invalid-argument', argument: 'options.ifmatch' });
    expect(await caught(store.setRecord({ key: 'k', value: 1 }, { ifNoneMatch: '"x"' } as never))).toMatchObject({ argument: 'options.ifNoneMatch' });
    expect(await caught(store.deleteRecord('k', { ifNoneMatch: '*' } as never))).toMatchObject({ argument: 'options.ifNoneMatch' });
    expect(await store.recordExists('k')).toBe(false);
  });
});

describe('against a server that does not honour conditions', () => {
  it('asks once, then refuses with conditional-writes-unsupported and sends no write', async () => {
    const { client } = makeClient('http', { maxRetries: 0 });
    // The one probe: a GET of the store, whose answer carries no X-Apify-Kv-Features.
    nock(API).get('/v2/key-value-stores/s1').reply(200, { data: storeJson('s1') }, JSON_HEADERS);
    const store = client.keyValueStore('s1');
    const error = await caught(store.setRecord({ key: 'k', value: 1 }, { ifNoneMatch: '*' }));
    expect(error).toMatchObject({ name: 'ApifyArgumentError', type: 'conditional-writes-unsupported' });
    expect(error.message).toMatch(/does not honour conditional writes.*nothing was sent/);
    // Known from now on: no second probe, and no DELETE goes out either (nock would refuse it).
    expect(await caught(store.deleteRecord('k', { ifMatch: '"abc"' }))).toMatchObject({ type: 'conditional-writes-unsupported' });
    // Plain writes go on as before.
    nock(API).put('/v2/key-value-stores/s1/records/k').reply(201, {}, JSON_HEADERS);
    await store.setRecord({ key: 'k', value: 1 });
  });

  it('learns support from an earlier answer: a read that carried the header spares the probe', async () => {
    const { client } = makeClient('http', { maxRetries: 0 });
    const features = { 'x-apify-kv-features': 'conditional-writes', etag: '"e1"', 'content-type': 'text/plain' };
    nock(API).get('/v2/key-value-stores/s1/records/k').query(true).reply(200, 'v', features);
    let sent: string | undefined;
    nock(API)
      .put('/v2/key-value-stores/s1/records/k')
      .reply(function () {
        sent = this.req.headers['if-match'] as string;
        return [201, {}, JSON_HEADERS];
      });
    const store = client.keyValueStore('s1');
    const record = await store.getRecord('k');
    await store.setRecord({ key: 'k', value: 'w', contentType: 'text/plain' }, { ifMatch: record!.etag! });
    expect(sent).toBe('"e1"');
  });
});
