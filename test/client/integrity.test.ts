/**
 * End-to-end integrity: against the real server with an adapter that flips a byte in transit
 * (request or response), and with nock for answers a server does not give on demand (a wrong
 * ETag on a PUT, a body that does not match its ETag, ETags that are not MD5s).
 */
import { createHash } from 'node:crypto';
import type { AxiosAdapter, AxiosResponse } from 'axios';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ApifyClient, isApifyApiError, isApifyArgumentError } from '../../src/index.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { startTestServer } from '../server/helpers.js';
import { API, useNock } from './helpers.js';

useNock();

const md5Hex = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

/** Flips the last byte of a body. */
function flipped(data: unknown): Buffer {
  const copy = Buffer.from(data as Uint8Array);
  copy[copy.length - 1] ^= 1;
  return copy;
}

/** An adapter over the lean one that records requests and flips a byte of the first `n` PUT bodies or GET answers. */
function tamperingAdapter() {
  const state = { puts: 0, gets: 0, flipPuts: 0, flipGets: 0, md5Headers: [] as Array<string | undefined> };
  const adapter: AxiosAdapter = async (config) => {
    const method = config.method?.toUpperCase();
    if (method === 'PUT' && config.url?.includes('/records/')) {
      state.puts++;
      state.md5Headers.push(config.headers?.['Content-MD5'] as string | undefined);
      if (state.flipPuts > 0) {
        state.flipPuts--;
        config = { ...config, data: flipped(config.data) };
      }
    }
    const response: AxiosResponse = await nodeAdapter(config);
    if (method === 'GET' && config.url?.includes('/records/')) {
      state.gets++;
      if (state.flipGets > 0) {
        state.flipGets--;
        return { ...response, data: flipped(response.data) };
      }
    }
    return response;
  };
  return { adapter, state };
}

async function setUp(options: { integrity?: boolean } = {}) {
  const server = await startTestServer();
  const tamper = tamperingAdapter();
  const client = new ApifyClient({ baseUrl: server.url, adapter: tamper.adapter, maxRetries: 0, ...options });
  const { id } = await client.keyValueStores.getOrCreate('integrity');
  return { store: client.keyValueStore(id), state: tamper.state };
}

describe('integrity against the real server', () => {
  it('sends the MD5 of the body as Content-MD5 and accepts the matching ETag', async () => {
    const { store, state } = await setUp();
    await store.setRecord({ key: 'k', value: { hello: 'world' } });
    const sent = JSON.stringify({ hello: 'world' }, null, 2);
    expect(state.md5Headers).toEqual([createHash('md5').update(sent).digest('base64')]);
    expect((await store.getRecord('k'))?.value).toEqual({ hello: 'world' });
  });

  it('a byte flipped in an upload is refused by the server, sent again once, and stored right', async () => {
    const { store, state } = await setUp();
    state.flipPuts = 1;
    await store.setRecord({ key: 'k', value: 'exactly this' });
    expect(state.puts).toBe(2);
    expect((await store.getRecord('k'))?.value).toBe('exactly this');
  });

  it('an upload flipped on every try fails with integrity-mismatch and leaves the old value', async () => {
    const { store, state } = await setUp();
    await store.setRecord({ key: 'k', value: 'old' });
    state.puts = 0;
    state.flipPuts = 2;
    const error = await store.setRecord({ key: 'k', value: 'new' }).catch((e: unknown) => e);
    expect(isApifyApiError(error) && [error.statusCode, error.type]).toEqual([400, 'integrity-mismatch']);
    expect(state.puts).toBe(2);
    expect((await store.getRecord('k'))?.value).toBe('old');
  });

  it('a byte flipped in a download fails the check: read again once, then integrity-mismatch', async () => {
    const { store, state } = await setUp();
    await store.setRecord({ key: 'k', value: 'abcdef', contentType: 'text/plain' });
    state.flipGets = 1;
    expect((await store.getRecord('k'))?.value).toBe('abcdef');
    expect(state.gets).toBe(2);
    state.gets = 0;
    state.flipGets = 2;
    const error = await store.getRecord('k').catch((e: unknown) => e);
    expect(isApifyApiError(error) && error.type).toBe('integrity-mismatch');
    expect(state.gets).toBe(2);
    // Bytes are checked as values are.
    state.flipGets = 2;
    const bytes = await store.getRecord('k', { buffer: true }).catch((e: unknown) => e);
    expect(isApifyApiError(bytes) && bytes.type).toBe('integrity-mismatch');
  });

  it('with integrity: false sends no digest and checks nothing', async () => {
    const { store, state } = await setUp({ integrity: false });
    state.flipPuts = 1;
    await store.setRecord({ key: 'k', value: 'abcdef', contentType: 'text/plain' });
    expect(state.md5Headers).toEqual([undefined]);
    expect(state.puts).toBe(1);
    state.flipGets = 1;
    // The corrupted bytes (last byte flipped in transit, both ways) come through unnoticed.
    expect((await store.getRecord('k'))?.value).toBe('abcdef');
    expect(state.gets).toBe(1);
  });
});

describe('integrity against answers a server does not give on demand (nock)', () => {
  const records = '/v2/key-value-stores/s1/records';

  it('an upload answered with another MD5 as ETag is sent again once, then fails', async () => {
    const scope = nock(API).put(`${records}/k`).times(2).reply(201, {}, { ETag: `"${md5Hex('something else')}"` });
    const client = new ApifyClient({ storeId: 's1', maxRetries: 0 });
    const error = await client.keyValueStore('s1').setRecord({ key: 'k', value: 'v' }).catch((e: unknown) => e);
    expect(isApifyApiError(error) && error.type).toBe('integrity-mismatch');
    expect((error as Error).message).toContain(md5Hex('something else'));
    scope.done();
  });

  it('checks MD5 ETags unquoted or in upper case too, both ways', async () => {
    const client = new ApifyClient({ storeId: 's1', maxRetries: 0 });
    for (const etag of [md5Hex('something else'), `"${md5Hex('something else').toUpperCase()}"`]) {
      const put = nock(API).put(`${records}/k`).times(2).reply(201, {}, { ETag: etag });
      const upload = await client.keyValueStore('s1').setRecord({ key: 'k', value: 'v' }).catch((e: unknown) => e);
      expect(isApifyApiError(upload) && upload.type, etag).toBe('integrity-mismatch');
      put.done();
      const get = nock(API).get(`${records}/k`).query(true).times(2).reply(200, 'corrupted bytes', { ETag: etag, 'Content-Type': 'text/plain' });
      const download = await client.keyValueStore('s1').getRecord('k').catch((e: unknown) => e);
      expect(isApifyApiError(download) && download.type, etag).toBe('integrity-mismatch');
      get.done();
    }
    const right = md5Hex('the stored bytes').toUpperCase();
    nock(API).get(`${records}/k`).query(true).reply(200, 'the stored bytes', { ETag: right, 'Content-Type': 'text/plain' });
    expect((await client.keyValueStore('s1').getRecord('k'))?.value).toBe('the stored bytes');
  });

  it('checks only ETags that are MD5s: none, weak and S3 multipart ones pass unchecked', async () => {
    const client = new ApifyClient({ storeId: 's1', maxRetries: 0, consistencyWindowMillis: 0 });
    for (const etag of [undefined, `W/"${md5Hex('x')}"`, `"${md5Hex('x')}-3"`, '"not-an-md5"']) {
      const headers: Record<string, string> = etag ? { ETag: etag, 'Content-Type': 'text/plain' } : { 'Content-Type': 'text/plain' };
      const scope = nock(API).put(`${records}/k`).reply(201, {}, etag ? { ETag: etag } : {}).get(`${records}/k`).query(true).reply(200, 'body', headers);
      await client.keyValueStore('s1').setRecord({ key: 'k', value: 'body', contentType: 'text/plain' });
      expect((await client.keyValueStore('s1').getRecord('k'))?.value, String(etag)).toBe('body');
      scope.done();
    }
  });

  it('a download whose body is not what its ETag names fails on the second read; a stream is not checked', async () => {
    const client = new ApifyClient({ storeId: 's1', maxRetries: 0 });
    const wrong = { ETag: `"${md5Hex('the stored bytes')}"`, 'Content-Type': 'text/plain' };
    nock(API).get(`${records}/k`).query(true).times(2).reply(200, 'corrupted bytes', wrong);
    const error = await client.keyValueStores.getRecord({ storeId: 's1', key: 'k' }).catch((e: unknown) => e);
    expect(isApifyApiError(error) && error.type).toBe('integrity-mismatch');
    nock(API).get(`${records}/k`).query(true).reply(200, 'corrupted bytes', wrong).get(`${records}/k`).query(true).reply(200, 'the stored bytes', wrong);
    expect((await client.keyValueStore('s1').getRecord('k'))?.value).toBe('the stored bytes');
    nock(API).get(`${records}/k`).query(true).reply(200, 'corrupted bytes', wrong);
    const streamed = await client.keyValueStore('s1').getRecord('k', { stream: true });
    const chunks: Buffer[] = [];
    for await (const chunk of streamed!.value as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('corrupted bytes');
  });

  it('refuses an integrity option that is not a boolean', () => {
    const error = (() => {
      try {
        return new ApifyClient({ integrity: 'yes' as unknown as boolean });
      } catch (e) {
        return e;
      }
    })();
    expect(isApifyArgumentError(error) && error.message).toBe('integrity must be true or false');
  });
});
