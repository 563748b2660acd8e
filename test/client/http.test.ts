/**
 * The HTTP layer under fault: retries, backoff, Retry-After, timeouts, stream bodies, aborts,
 * error conversion and token redaction, on axios's two adapters and the client's own Node adapter.
 */
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import nock from 'nock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApifyClient, isApifyApiError, isApifyNetworkError } from '../../src/index.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { sleep } from '../../src/client/http/sleep.js';
import {
  ADAPTERS,
  API,
  apiError,
  capture,
  JSON_HEADERS,
  makeClient,
  socketError,
  storeJson,
  TOKEN,
  useNock,
  type Captured,
} from './helpers.js';
import { caught } from './caught.js';

useNock();
afterEach(() => {
  vi.restoreAllMocks();
});

const RECORD = '/v2/key-value-stores/s1/records/k';
const TEXT = { 'content-type': 'text/plain' };

describe.each(ADAPTERS)('HTTP layer over the %s adapter', (adapter) => {
  it('retries a 503 and returns the 200 that follows, after a jittered backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    nock(API).get(RECORD).reply(503, apiError('server-error', 'Try later.'), JSON_HEADERS);
    nock(API).get(RECORD).reply(200, 'ok', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    const record = await client.keyValueStores.getRecord({ key: 'k' });
    expect(record?.body).toBe('ok');
    // Full jitter over [0, 500 ms) for the first retry.
    expect(clock.sleeps).toEqual([250]);
  });

  it('backs off exponentially up to the cap, then gives up with the last answer', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    nock(API).get(RECORD).times(9).reply(502, 'Bad gateway', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect(isApifyApiError(error)).toBe(true);
    expect(error.statusCode).toBe(502);
    expect(error.type).toBe('unknown-error');
    expect(error.attempt).toBe(9);
    expect(clock.sleeps).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999]);
  });

  it('honours Retry-After of a 429', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    nock(API).get(RECORD).reply(429, apiError('rate-limit-exceeded', 'Slow down.'), { ...JSON_HEADERS, 'retry-after': '3' });
    nock(API).get(RECORD).reply(200, 'ok', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
    expect(clock.sleeps).toEqual([3000]);
  });

  it('fails at once with the server error when Retry-After is above the cap', async () => {
    nock(API).get(RECORD).reply(429, apiError('rate-limit-exceeded', 'Slow down.'), { ...JSON_HEADERS, 'retry-after': '86400' });
    const { client, clock } = makeClient(adapter, { storeId: 's1', maxRetryAfterMillis: 5000 });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect([error.statusCode, error.type, error.attempt]).toEqual([429, 'rate-limit-exceeded', 1]);
    expect(clock.sleeps).toEqual([]);
  });

  it('reads a Retry-After date against the client clock, and finds the header in any letter case', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    // Three seconds after the virtual clock's now; the machine's clock is years away from it.
    const date = new Date(clock.time + 3_000).toUTCString();
    nock(API).get(RECORD).reply(503, 'Busy', { ...TEXT, 'Retry-After': date });
    nock(API).get(RECORD).reply(200, 'ok', TEXT);
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
    expect(clock.sleeps).toEqual([3_000]);
  });

  it('retries 408 and 500', async () => {
    nock(API).get(RECORD).reply(408, 'Timeout', TEXT);
    nock(API).get(RECORD).reply(500, 'Oops', TEXT);
    nock(API).get(RECORD).reply(200, 'ok', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
    expect(clock.sleeps).toHaveLength(2);
  });

  it('retries a connection reset', async () => {
    nock(API).get(RECORD).replyWithError(socketError('ECONNRESET', 'socket hang up'));
    nock(API).get(RECORD).reply(200, 'ok', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
    expect(clock.sleeps).toHaveLength(1);
  });

  it('gives up after maxRetries with ApifyNetworkError', async () => {
    nock(API).get(RECORD).times(3).replyWithError(socketError('ECONNRESET', 'socket hang up'));
    const { client, clock } = makeClient(adapter, { storeId: 's1', maxRetries: 2 });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect(isApifyNetworkError(error)).toBe(true);
    expect(error.name).toBe('ApifyNetworkError');
    expect(error.type).toBe('network-error');
    expect(error.attempt).toBe(3);
    expect(error.method).toBe('GET');
    expect(error.path).toBe(RECORD);
    expect(error.cause).toBeDefined();
    expect(clock.sleeps).toHaveLength(2);
  });

  it('retries a timed-out attempt, each with the full time limit', async () => {
    nock(API).get(RECORD).delay(1_000).reply(200, 'late', TEXT);
    nock(API).get(RECORD).reply(200, 'ok', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1', timeoutSecs: 0.05 });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
    expect(clock.sleeps).toHaveLength(1);
  });

  it('reports a timeout that persists as ApifyNetworkError of type timeout', async () => {
    nock(API).get(RECORD).times(2).delay(1_000).reply(200, 'late', TEXT);
    const { client } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k', timeoutSecs: 0.05, maxRetries: 1 }));
    expect(error.name).toBe('ApifyNetworkError');
    expect(error.type).toBe('timeout');
    expect(['ECONNABORTED', 'ETIMEDOUT']).toContain(error.code);
    expect(error.attempt).toBe(2);
  });

  it('does not retry a 400 or a 404', async () => {
    nock(API).put(RECORD).reply(400, apiError('invalid-input', 'Bad.'), JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStores.putRecord({ key: 'k', body: 'x' }));
    expect([error.statusCode, error.attempt]).toEqual([400, 1]);
    nock(API).get('/v2/key-value-stores/s1').reply(404, apiError('record-or-token-not-found', 'No.'), JSON_HEADERS);
    expect(await client.keyValueStores.getStore()).toBeNull();
    expect(clock.sleeps).toEqual([]);
  });

  it('honours a per-call maxRetries of 0', async () => {
    nock(API).get(RECORD).reply(503, 'Busy', TEXT);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k', maxRetries: 0 }));
    expect([error.statusCode, error.attempt]).toEqual([503, 1]);
    expect(clock.sleeps).toEqual([]);
  });

  it('retries a buffered PUT with the same body', async () => {
    const seen: Captured = { headers: {} };
    nock(API).put(RECORD).replyWithError(socketError('ECONNRESET'));
    nock(API).put(RECORD).reply(capture(seen, 201, {}));
    const { client } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: { n: 1 } });
    expect(seen.body).toEqual({ n: 1 });
  });

  it('never re-sends a one-shot stream: the failure is reported as is', async () => {
    nock(API).put(RECORD).reply(503, apiError('server-error', 'Busy.'), JSON_HEADERS);
    const { client, clock } = makeClient(adapter, { storeId: 's1' });
    // With its length given, the stream is sent as it streams, not read ahead.
    const body = Readable.from([Buffer.from('one-shot')]);
    const error = await caught(client.keyValueStores.putRecord({ key: 'k', body, contentLength: 8 }));
    expect([error.name, error.statusCode, error.attempt]).toEqual(['ApifyApiError', 503, 1]);
    expect(clock.sleeps).toEqual([]);
  });

  it('reopens a file stream for a retry, so the retry carries the whole file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kv-client-'));
    const file = path.join(dir, 'data.bin');
    writeFileSync(file, 'the whole file');
    const seen: Captured = { headers: {} };
    nock(API).put(RECORD).reply(503, 'Busy', TEXT);
    nock(API).put(RECORD).reply(capture(seen, 201, {}));
    const { client } = makeClient(adapter, { storeId: 's1' });
    await client.keyValueStores.putRecord({ key: 'k', body: createReadStream(file), contentType: 'text/plain' });
    expect(seen.body).toBe('the whole file');
  });

  it('does not repeat the creation of an unnamed store unless the server surely did not act', async () => {
    nock(API).post('/v2/key-value-stores').reply(500, 'Oops', TEXT);
    const { client } = makeClient(adapter);
    expect((await caught(client.keyValueStores.getOrCreateStore())).statusCode).toBe(500);
    nock(API).post('/v2/key-value-stores').replyWithError(socketError('ECONNRESET'));
    expect((await caught(client.keyValueStores.getOrCreateStore())).code).toBe('ECONNRESET');
    // A 503 or a timeout may come after the store was made: not repeated either.
    nock(API).post('/v2/key-value-stores').reply(503, 'Busy', TEXT);
    expect((await caught(client.keyValueStores.getOrCreateStore())).statusCode).toBe(503);
    nock(API).post('/v2/key-value-stores').delay(500).reply(201, { data: storeJson('late', null) }, JSON_HEADERS);
    expect((await caught(client.keyValueStores.getOrCreateStore({ timeoutSecs: 0.05 }))).type).toBe('timeout');
    // 429: the server turned it away without acting.
    nock(API).post('/v2/key-value-stores').reply(429, 'Slow down', TEXT);
    nock(API).post('/v2/key-value-stores').reply(201, { data: storeJson('u1', null) }, JSON_HEADERS);
    expect((await client.keyValueStores.getOrCreateStore()).id).toBe('u1');
    // Named get-or-create is safe to repeat: retried after a 503.
    nock(API).post('/v2/key-value-stores').query({ name: 'n' }).reply(503, 'Busy', TEXT);
    nock(API).post('/v2/key-value-stores').query({ name: 'n' }).reply(200, { data: storeJson('n1', 'n') }, JSON_HEADERS);
    expect((await client.keyValueStores.getOrCreateStore({ storeName: 'n' })).id).toBe('n1');
  });

  it('stops waiting between retries when the signal aborts', async () => {
    // A real timer: the server asks for a 30 s pause, and the caller gives up 20 ms into it. Only
    // an abort that reaches the wait ends the call in time; the second answer is never asked for.
    nock(API).get(RECORD).reply(503, 'Busy', { ...TEXT, 'retry-after': '30' });
    const controller = new AbortController();
    const waits: number[] = [];
    const clock = {
      now: () => Date.now(),
      sleep: (ms: number, signal?: AbortSignal) => {
        waits.push(ms);
        setTimeout(() => controller.abort(new Error('stopped by caller')), 20);
        return sleep(ms, signal);
      },
    };
    const client = new ApifyClient({ token: TOKEN, storeId: 's1', adapter: adapter === 'node' ? nodeAdapter : adapter, clock });
    const call = caught(client.keyValueStores.getRecord({ key: 'k', signal: controller.signal }));
    const outcome = await Promise.race([call, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 4_000).unref())]);
    expect((outcome as Error).message).toBe('stopped by caller');
    expect(waits).toEqual([30_000]);
  });

  it('rejects at once with an already aborted signal', async () => {
    const { client } = makeClient(adapter, { storeId: 's1' });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k', signal: AbortSignal.abort() }));
    expect(error.name).toBe('AbortError');
  });

  it('keeps the token out of every error text', async () => {
    nock(API).get(RECORD).reply(403, apiError('insufficient-permissions', `Token ${TOKEN} may not read this`), JSON_HEADERS);
    nock(API).get('/v2/key-value-stores/s1/records/n').replyWithError(socketError('ECONNRESET', `reset while sending ${TOKEN}`));
    const { client } = makeClient(adapter, { storeId: 's1', maxRetries: 0 });
    for (const key of ['k', 'n']) {
      const error = await caught(client.keyValueStores.getRecord({ key }));
      expect(error.name).toMatch(/^Apify(Api|Network)Error$/);
      const texts = [error.message, error.path, error.stack, inspect(error, { depth: 8 }), JSON.stringify(error.cause ?? {})];
      for (const text of texts) expect(text).not.toContain(TOKEN);
      expect(inspect(error, { depth: 8 })).toContain('[REDACTED]');
    }
  });
});
