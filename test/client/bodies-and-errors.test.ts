/**
 * Bodies of unknown size (read ahead up to the payload limit), and the sharper edges of the HTTP
 * layer: headers in any letter case, bytes from another realm, malformed envelopes and JSON
 * records, the per-call deadline, failures no retry can fix, idle streamed bodies, and the
 * v2-style options that travel to the server.
 */
import { createReadStream, mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import vm from 'node:vm';
import nock from 'nock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import { sleep } from '../../src/client/http/sleep.js';
import { caught } from './caught.js';
import { ADAPTERS, API, apiError, capture, JSON_HEADERS, makeClient, storeJson, TOKEN, useNock, type Captured } from './helpers.js';

useNock();
afterEach(() => {
  vi.restoreAllMocks();
});

const STORES = '/v2/key-value-stores';
const RECORD = `${STORES}/s1/records/k`;
const TEXT = { 'content-type': 'text/plain' };

/** A one-shot stream of unknown size: `count` chunks of `size` bytes, each chunk a different letter. */
function generated(count: number, size: number): { stream: Readable; expected: string } {
  const chunks = Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i).repeat(size));
  async function* produce() {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }
  return { stream: Readable.from(produce()), expected: chunks.join('') };
}

function signedUploadUrl(key: string) {
  nock(API)
    .get(`${STORES}/s1/records/${key}/direct-upload-url`)
    .reply(200, { data: { signedUrl: `https://uploads.example.com/put/${key}?signature=abc` } }, JSON_HEADERS);
  return nock('https://uploads.example.com').put(`/put/${key}`).query({ signature: 'abc' });
}

describe.each(ADAPTERS)('bodies of unknown size over the %s adapter', (adapter) => {
  it('buffers a one-shot stream that ends within the limit, so a retry sends the same bytes', async () => {
    const seen: Captured = { headers: {} };
    nock(API).put(RECORD).reply(503, 'Busy', TEXT);
    nock(API).put(RECORD).reply(capture(seen, 201, {}));
    const { client, clock } = makeClient(adapter, { storeId: 's1', maxPayloadBytes: 1000 });
    const { stream, expected } = generated(3, 300);
    await client.keyValueStores.putRecord({ key: 'k', body: stream, contentType: 'text/plain' });
    expect(seen.body).toBe(expected);
    expect(clock.sleeps).toHaveLength(1);
  });

  it('sends a stream that reads past the limit through the direct-upload URL: the bytes read ahead, then the rest', async () => {
    const seen: Captured = { headers: {} };
    signedUploadUrl('k').reply(capture(seen, 200, ''));
    const { client } = makeClient(adapter, { storeId: 's1', maxPayloadBytes: 1000 });
    const { stream, expected } = generated(5, 400);
    await client.keyValueStores.putRecord({ key: 'k', body: stream, contentType: 'text/plain' });
    expect(seen.body).toBe(expected);
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('never re-sends a stream past the limit: a failed upload is reported as is', async () => {
    signedUploadUrl('k').reply(503, 'Busy', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1', maxPayloadBytes: 1000 });
    const error = await caught(client.keyValueStores.putRecord({ key: 'k', body: generated(3, 600).stream }));
    expect([error.name, error.statusCode, error.attempt]).toEqual(['ApifyApiError', 503, 1]);
    expect(clock.sleeps).toEqual([]);
  });

  it('sends the whole stream in a plain PUT when the server has no direct-upload endpoint', async () => {
    nock(API).get(`${RECORD}/direct-upload-url`).reply(404, apiError('page-not-found', 'No.'), JSON_HEADERS);
    const seen: Captured = { headers: {} };
    nock(API).put(RECORD).reply(capture(seen, 201, {}));
    const { client } = makeClient(adapter, { storeId: 's1', maxPayloadBytes: 1000 });
    const { stream, expected } = generated(4, 500);
    await client.keyValueStores.putRecord({ key: 'k', body: stream, contentType: 'text/plain' });
    expect(seen.body).toBe(expected);
  });

  it('takes async iterables and web ReadableStreams as bodies', async () => {
    const seen: Captured[] = [{ headers: {} }, { headers: {} }];
    nock(API).put(RECORD).reply(capture(seen[0]!, 201, {}));
    nock(API).put(RECORD).reply(capture(seen[1]!, 201, {}));
    const { client } = makeClient(adapter, { storeId: 's1' });
    async function* parts() {
      yield 'text, ';
      yield new TextEncoder().encode('then bytes');
    }
    await client.keyValueStores.putRecord({ key: 'k', body: parts(), contentType: 'text/plain' });
    const web = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('from a web stream'));
        controller.close();
      },
    });
    await client.keyValueStore('s1').setRecord({ key: 'k', value: web, contentType: 'text/plain' });
    expect(seen.map((s) => s.body)).toEqual(['text, then bytes', 'from a web stream']);
  });

  it('streams a body of a given contentLength without reading ahead, and sends a larger one the direct way', async () => {
    const seen: Captured[] = [{ headers: {} }, { headers: {} }];
    nock(API).put(RECORD).reply(capture(seen[0]!, 201, {}));
    signedUploadUrl('k').reply(capture(seen[1]!, 200, ''));
    const { client } = makeClient(adapter, { storeId: 's1', maxPayloadBytes: 1000 });
    await client.keyValueStores.putRecord({ key: 'k', body: Readable.from([Buffer.from('0123456789')]), contentLength: 10, contentType: 'text/plain' });
    expect(seen[0]!.headers['content-length']).toBe('10');
    const { stream, expected } = generated(3, 500);
    await client.keyValueStores.putRecord({ key: 'k', body: stream, contentLength: 1500, contentType: 'text/plain' });
    expect([seen[0]!.body, seen[1]!.body]).toEqual(['0123456789', expected]);
  });
});

describe('a one-shot stream of 10 MiB against the local server', () => {
  it('is stored whole through the direct-upload URL', async () => {
    const { startTestServer } = await import('../server/helpers.js');
    const server = await startTestServer({ token: TOKEN });
    const client = new ApifyClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
    const store = await client.keyValueStores.getOrCreate('large-streams');
    const chunk = Buffer.alloc(1024 * 1024, 120);
    async function* tenMiB() {
      for (let i = 0; i < 10; i++) yield chunk;
    }
    await client.keyValueStore(store.id).setRecord({ key: 'big', value: Readable.from(tenMiB()), contentType: 'application/octet-stream' });
    const info = await client.keyValueStores.getRecordInfo({ storeId: store.id, key: 'big' });
    expect(info?.size).toBe(10 * 1024 * 1024);
  }, 60_000);
});

describe.each(ADAPTERS)('errors and retries over the %s adapter', (adapter) => {
  it('stores an ArrayBuffer from another realm as its bytes', async () => {
    const seen: Captured = { headers: {} };
    nock(API).put(RECORD).reply(capture(seen, 201, {}));
    const { client } = makeClient(adapter, { storeId: 's1' });
    const foreign = vm.runInNewContext('new Uint8Array([104, 105]).buffer') as ArrayBuffer;
    expect(foreign instanceof ArrayBuffer).toBe(false);
    await client.keyValueStores.putRecord({ key: 'k', body: foreign });
    expect([seen.body, seen.headers['content-type']]).toEqual(['hi', 'application/octet-stream']);
  });

  it('refuses a contentType with a line break before any request', async () => {
    const { client } = makeClient(adapter, { storeId: 's1' });
    for (const contentType of ['text/plain\r\nX-Evil: 1', 'text/plain\nx']) {
      const error = await caught(client.keyValueStores.putRecord({ key: 'k', body: 'x', contentType }));
      expect([error.name, error.argument]).toEqual(['ApifyArgumentError', 'contentType']);
    }
  });

  it('turns a malformed or empty envelope into an ApifyApiError of type invalid-response', async () => {
    nock(API).get(`${STORES}/s1`).reply(200, 'not json', TEXT);
    nock(API).get(`${STORES}/s1`).reply(200, '');
    nock(API).get(`${STORES}/s1`).reply(200, { nothing: true }, JSON_HEADERS);
    const { client } = makeClient(adapter, { storeId: 's1' });
    for (let i = 0; i < 3; i++) {
      const error = await caught(client.keyValueStores.getStore());
      expect([error.name, error.type, error.statusCode, error.path]).toEqual(['ApifyApiError', 'invalid-response', 200, `${STORES}/s1`]);
    }
  });

  it('throws an error naming the key for a JSON record that does not parse; raw bytes still come back', async () => {
    nock(API).get(RECORD).reply(200, '{"half":', JSON_HEADERS);
    nock(API).get(RECORD).reply(200, '{"half":', JSON_HEADERS);
    const { client } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect([error.name, error.type]).toEqual(['ApifyApiError', 'invalid-json-record']);
    expect(error.message).toContain('"k"');
    const raw = await client.keyValueStores.getRecord({ key: 'k', disableBodyParser: true });
    expect(Buffer.from(raw!.body as Buffer).toString()).toBe('{"half":');
  });

  it('stops retrying when the next attempt could not start before the call deadline', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    nock(API).get(RECORD).times(3).reply(503, 'Busy', { ...TEXT, 'retry-after': '2' });
    nock(API).get(RECORD).reply(503, 'Busy', { ...TEXT, 'retry-after': '2' });
    const { client, clock } = makeClient(adapter, { storeId: 's1', totalTimeoutSecs: 5 });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect([error.statusCode, error.attempt]).toEqual([503, 3]);
    expect(clock.sleeps).toEqual([2_000, 2_000]);
    // A per-call deadline overrides the client's.
    const again = await caught(client.keyValueStores.getRecord({ key: 'k', totalTimeoutSecs: 1 }));
    expect([again.statusCode, again.attempt]).toEqual([503, 1]);
  });

  it('cuts the time limit of an attempt to what the call deadline leaves', async () => {
    nock(API).get(RECORD).delay(2_000).reply(200, 'late', TEXT);
    // The machine's clock: the deadline passes while the attempt runs.
    const clock = { now: () => Date.now(), sleep };
    const { client } = makeClient(adapter, { storeId: 's1', timeoutSecs: 300, clock });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k', totalTimeoutSecs: 0.1 }));
    expect([error.name, error.type, error.attempt]).toEqual(['ApifyNetworkError', 'timeout', 1]);
  });

  it('does not retry timeouts when doNotRetryTimeouts is set', async () => {
    nock(API).put(RECORD).delay(1_000).reply(201, {});
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStore('s1').setRecord({ key: 'k', value: 'x' }, { timeoutSecs: 0.05, doNotRetryTimeouts: true }));
    expect([error.type, error.attempt]).toEqual(['timeout', 1]);
    expect(clock.sleeps).toEqual([]);
  });

  it('sends v2-style options as the API takes them: title, generalAccess null, a signature, the User-Agent suffix', async () => {
    const seen: Captured[] = [{ headers: {} }, { headers: {} }];
    nock(API).put(`${STORES}/s1`).reply(capture(seen[0]!, 200, { data: storeJson('s1') }, JSON_HEADERS));
    nock(API).get(RECORD).query({ attachment: 'true', signature: 'sig' }).reply(capture(seen[1]!, 200, 'ok', TEXT));
    const { client } = makeClient(adapter, { userAgentSuffix: 'my-app/1.0' });
    await client.keyValueStore('s1').update({ title: 'Shown name', generalAccess: null });
    expect(seen[0]!.body).toEqual({ title: 'Shown name', generalAccess: null });
    expect(await client.keyValueStore('s1').getRecord('k', { signature: 'sig' })).toEqual({ key: 'k', value: 'ok', contentType: 'text/plain' });
    // Browsers do not let a page set User-Agent; in Node every adapter sends it.
    expect(String(seen[1]!.headers['user-agent'])).toMatch(/ my-app\/1\.0$/);
  });

  it('takes the User-Agent suffix as an array too, as v2 does, and refuses anything but strings', async () => {
    const seen: Captured = { headers: {} };
    nock(API).get(RECORD).query({ attachment: 'true' }).reply(capture(seen, 200, 'ok', TEXT));
    const { client } = makeClient(adapter, { userAgentSuffix: ['my-app/1.0', 'crawler/2'] });
    await client.keyValueStore('s1').getRecord('k');
    expect(String(seen.headers['user-agent'])).toMatch(/ my-app\/1\.0 crawler\/2$/);
    for (const bad of [['ok', 1], 'line\nbreak', ['a', 'b\r'], 7]) {
      expect(() => makeClient(adapter, { userAgentSuffix: bad as string[] })).toThrow(/userAgentSuffix/);
    }
  });
});

describe('failures no retry can fix', () => {
  it('does not retry when a file body cannot be reopened (ENOENT)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kv-client-'));
    const file = path.join(dir, 'data.bin');
    writeFileSync(file, 'the file');
    nock(API)
      .put(RECORD)
      .reply(() => {
        unlinkSync(file);
        return [503, 'Busy'];
      });
    const { client, clock } = makeClient('node', { storeId: 's1' });
    const error = await caught(client.keyValueStores.putRecord({ key: 'k', body: createReadStream(file) }));
    expect([error.name, error.code, error.attempt]).toEqual(['ApifyNetworkError', 'ENOENT', 2]);
    expect(clock.sleeps).toHaveLength(1);
  });

  it('does not retry a response body that is not valid gzip', async () => {
    nock(API).get(RECORD).reply(200, Buffer.from('certainly not gzip'), { ...TEXT, 'content-encoding': 'gzip' });
    const { client, clock } = makeClient('node', { storeId: 's1' });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect([error.name, error.code, error.attempt]).toEqual(['ApifyNetworkError', 'Z_DATA_ERROR', 1]);
    expect(clock.sleeps).toEqual([]);
  });

  it('finds response headers in any letter case, from an adapter of the caller', async () => {
    const client = new ApifyClient({
      token: TOKEN,
      storeId: 's1',
      adapter: async (config) => ({ data: Buffer.from('hi'), status: 200, statusText: 'OK', headers: { 'Content-Type': 'text/plain', ETag: '"v1"' }, config }),
    });
    expect(await client.keyValueStores.getRecord({ key: 'k' })).toEqual({ key: 'k', body: 'hi', contentType: 'text/plain', etag: '"v1"' });
  });
});

describe.each(['node', 'fetch'] as const)('a streamed record body over the %s adapter', (adapter) => {
  it('fails with a timeout error when the server goes silent mid-body', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('first part');
      // ...and nothing more.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { client } = makeClient(adapter, { baseUrl: `http://127.0.0.1:${port}`, storeId: 's1', timeoutSecs: 0.3 });
      const record = await client.keyValueStores.getRecord({ key: 'k', stream: true });
      const chunks: Buffer[] = [];
      const error = await caught(
        (async () => {
          for await (const chunk of record!.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
        })(),
      );
      expect(Buffer.concat(chunks).toString()).toBe('first part');
      expect([error.name, error.type]).toEqual(['ApifyNetworkError', 'timeout']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
