/** Pure parts of the client: body encoding and decoding, input rules, retry policy, errors, sleep. */
import { Readable } from 'node:stream';
import type { AxiosError, InternalAxiosRequestConfig } from 'axios';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeBody, encodeBody } from '../../src/client/body.js';
import { redact } from '../../src/client/http/errors.js';
import { isRetryable, parseRetryAfter, retryDelayMillis } from '../../src/client/http/retry.js';
import { sleep } from '../../src/client/http/sleep.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { platform as browserPlatform } from '../../src/client/platform/browser.js';
import { platform } from '../../src/client/platform/node.js';
import { checkRecordKey, checkStoreId, checkStoreName } from '../../src/client/validation.js';
import {
  ApifyApiError,
  ApifyArgumentError,
  ApifyClient,
  ApifyNetworkError,
  DEFAULT_RETRY_POLICY,
  isApifyApiError,
  isApifyArgumentError,
  isApifyNetworkError,
} from '../../src/index.js';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe('encodeBody', () => {
  it('encodes plain values as compact JSON', async () => {
    for (const [value, json] of [
      [{ a: 1, b: [true, null] }, '{"a":1,"b":[true,null]}'],
      [[1, 2], '[1,2]'],
      [42, '42'],
      [false, 'false'],
      [null, 'null'],
    ] as const) {
      const body = await encodeBody(value);
      expect(body.contentType).toBe('application/json; charset=utf-8');
      expect(text(body.bytes)).toBe(json);
    }
  });

  it('keeps a given JSON type for plain values and strings', async () => {
    expect((await encodeBody({ a: 1 }, 'application/vnd.x+json')).contentType).toBe('application/vnd.x+json');
    const raw = await encodeBody('{"pre":"serialised"}', 'application/json');
    expect(text(raw.bytes)).toBe('{"pre":"serialised"}');
  });

  it('sends strings as UTF-8 text and bytes as octet-stream', async () => {
    const str = await encodeBody('žluť');
    expect([str.contentType, text(str.bytes)]).toEqual(['text/plain; charset=utf-8', 'žluť']);
    const buf = await encodeBody(Buffer.from([1, 2]));
    expect([buf.contentType, [...buf.bytes!]]).toEqual(['application/octet-stream', [1, 2]]);
    const ab = await encodeBody(new Uint8Array([3, 4]).buffer);
    expect([...ab.bytes!]).toEqual([3, 4]);
    const view = await encodeBody(new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2));
    expect([...view.bytes!]).toEqual([8, 7]);
  });

  it('reads a Blob, taking its type unless one is given', async () => {
    const blob = new Blob(['<b/>'], { type: 'image/svg+xml' });
    expect((await encodeBody(blob)).contentType).toBe('image/svg+xml');
    expect((await encodeBody(blob, 'text/xml')).contentType).toBe('text/xml');
    expect(text((await encodeBody(blob)).bytes)).toBe('<b/>');
  });

  it('leaves a stream unread', async () => {
    const stream = Readable.from(['a']);
    const body = await encodeBody(stream);
    expect(body.bytes).toBeUndefined();
    expect(body.stream?.replayable).toBe(false);
    expect(stream.readableDidRead).toBe(false);
  });
});

describe('decodeBody', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const badJson = (error: Error): never => {
    throw new Error(`bad JSON: ${error.name}`);
  };

  it('parses JSON types and hands broken JSON to the caller', () => {
    expect(decodeBody(bytes('{"a":1}'), 'application/json', badJson)).toEqual({ a: 1 });
    expect(decodeBody(bytes('[1]'), 'Application/JSON; charset=UTF-8', badJson)).toEqual([1]);
    expect(() => decodeBody(bytes('{"a":'), 'application/json', badJson)).toThrow('bad JSON: SyntaxError');
  });

  it('decodes text and XML types, else returns a Buffer', () => {
    expect(decodeBody(bytes('hi'), 'text/csv', badJson)).toBe('hi');
    expect(decodeBody(bytes('<a/>'), 'image/svg+xml', badJson)).toBe('<a/>');
    expect(decodeBody(Uint8Array.from([0xe9]), 'text/plain; charset=windows-1252', badJson)).toBe('é');
    expect(decodeBody(bytes('hi'), 'text/plain; charset=no-such-charset', badJson)).toBe('hi');
    const out = decodeBody(bytes('PK'), 'application/zip', badJson);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(Buffer.isBuffer(decodeBody(bytes('x'), undefined, badJson))).toBe(true);
  });
});

describe('input rules', () => {
  it('accepts every key the contract allows and nothing else', () => {
    for (const key of ['a', "a(b)'!-_.", 'A'.repeat(256), 'INPUT', '...']) expect(checkRecordKey(key)).toBe(key);
    for (const key of ['', 'a'.repeat(257), 'a/b', 'a b', 'a%2F', 'ä', 'a*', '.', '..', 5]) {
      expect(() => checkRecordKey(key)).toThrow(ApifyArgumentError);
    }
  });

  it('checks store names and ids', () => {
    for (const name of ['a', 'my-store', 'A1-b2', 'x'.repeat(63)]) expect(checkStoreName(name)).toBe(name);
    for (const name of ['', '-a', 'a-', 'a_b', 'x'.repeat(64), 'a.b']) expect(() => checkStoreName(name)).toThrow(/store name/);
    for (const id of ['WkzbQMuFYuamGv3YF', 'janedoe~my-store', '~my-store']) expect(checkStoreId(id)).toBe(id);
    for (const id of ['', 'a/b', 'a b', 'janedoe~-bad', 'x?y', '..']) expect(() => checkStoreId(id)).toThrow(ApifyArgumentError);
  });
});

describe('retry policy', () => {
  const err = (fields: Partial<AxiosError>) => fields as AxiosError;

  it('retries network failures, timeouts, 408, 429 and 5xx; not 4xx, cancellations or bad options', () => {
    expect(isRetryable(err({ code: 'ECONNRESET' }), true)).toBe(true);
    expect(isRetryable(err({ code: 'ECONNABORTED' }), true)).toBe(true);
    expect(isRetryable(err({ code: 'ETIMEDOUT' }), true)).toBe(true);
    expect(isRetryable(err({ code: 'ERR_NETWORK' }), true)).toBe(true);
    for (const status of [408, 429, 500, 502, 503, 504]) {
      expect(isRetryable(err({ code: 'ERR_BAD_RESPONSE', response: { status } as never }), true)).toBe(true);
    }
    for (const status of [400, 401, 403, 404, 413, 415]) {
      expect(isRetryable(err({ code: 'ERR_BAD_REQUEST', response: { status } as never }), true)).toBe(false);
    }
    expect(isRetryable(err({ code: 'ERR_CANCELED' }), true)).toBe(false);
    expect(isRetryable(err({ code: 'ERR_INVALID_URL' }), true)).toBe(false);
    expect(isRetryable(err({ code: 'CERT_HAS_EXPIRED' }), true)).toBe(false);
    // A body cut off half way: axios keeps the 2xx response on the error.
    expect(isRetryable(err({ code: 'ERR_BAD_RESPONSE', response: { status: 200 } as never }), true)).toBe(true);
  });

  it('retries a non-idempotent request only when the server surely did not act', () => {
    expect(isRetryable(err({ code: 'ECONNREFUSED' }), false)).toBe(true);
    expect(isRetryable(err({ code: 'ECONNRESET' }), false)).toBe(false);
    expect(isRetryable(err({ code: 'ECONNABORTED' }), false)).toBe(false);
    expect(isRetryable(err({ response: { status: 429 } as never }), false)).toBe(true);
    expect(isRetryable(err({ response: { status: 503 } as never }), false)).toBe(false);
    expect(isRetryable(err({ response: { status: 500 } as never }), false)).toBe(false);
  });

  it('draws the delay from [0, min(cap, base * 2^(n-1))] and honours a capped Retry-After', () => {
    const policy = DEFAULT_RETRY_POLICY;
    expect(retryDelayMillis(policy, 1, 0, () => 0)).toBe(0);
    expect(retryDelayMillis(policy, 3, 0, () => 0.5)).toBe(1000);
    expect(retryDelayMillis(policy, 20, 0, () => 0.999)).toBe(29_970);
    expect(retryDelayMillis(policy, 1, 7000, () => 0.1)).toBe(7000);
    expect(retryDelayMillis(policy, 1, 3_600_000, () => 0.1)).toBe(60_000);
  });

  it('parses Retry-After as seconds or as a date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('garbage', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBe(0);
  });
});

describe('errors', () => {
  it('have stable names, usable without instanceof', () => {
    const details = { method: 'GET', path: '/v2/x', attempt: 2 };
    const api = new ApifyApiError({ ...details, statusCode: 404, type: 'record-not-found', serverMessage: 'No.' });
    const net = new ApifyNetworkError({ ...details, type: 'timeout', code: 'ETIMEDOUT', detail: 'slow' });
    const arg = new ApifyArgumentError('key', 'bad key');
    expect([api.name, net.name, arg.name]).toEqual(['ApifyApiError', 'ApifyNetworkError', 'ApifyArgumentError']);
    expect([api.type, net.type, arg.type]).toEqual(['record-not-found', 'timeout', 'invalid-argument']);
    // A plain object with the same name, as a second copy of the package would throw.
    expect(isApifyApiError({ name: 'ApifyApiError' })).toBe(true);
    expect(isApifyNetworkError(net)).toBe(true);
    expect(isApifyArgumentError(arg)).toBe(true);
    expect(isApifyApiError(net)).toBe(false);
    expect(String(api)).toBe('ApifyApiError: No. (404 record-not-found; GET /v2/x, attempt 2)');
    expect(api).toBeInstanceOf(Error);
  });

  it('redact secrets and token query parameters', () => {
    expect(redact('a secret-value b', ['secret-value'])).toBe('a [REDACTED] b');
    expect(redact('/x?token=abc&y=1', [])).toBe('/x?token=[REDACTED]&y=1');
  });
});

describe('sleep', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits on the timer and stops early on abort', async () => {
    vi.useFakeTimers();
    let done = false;
    const pending = sleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(done).toBe(true);

    const controller = new AbortController();
    const aborted = sleep(60_000, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('Node transport', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('uses the lean adapter, or axios\'s http adapter when a proxy is configured', () => {
    vi.stubEnv('HTTP_PROXY', '');
    vi.stubEnv('HTTPS_PROXY', '');
    vi.stubEnv('ALL_PROXY', '');
    vi.stubEnv('http_proxy', '');
    vi.stubEnv('https_proxy', '');
    vi.stubEnv('all_proxy', '');
    expect(platform.transport(undefined)).toEqual({
      config: { adapter: nodeAdapter },
      headers: { 'User-Agent': 'apify-kv-client', 'Accept-Encoding': 'gzip, deflate, br' },
      prepared: true,
    });
    vi.stubEnv('HTTPS_PROXY', 'http://proxy.internal:3128');
    const proxied = platform.transport(undefined);
    expect(proxied.config).toMatchObject({ adapter: 'http', maxBodyLength: Infinity });
    expect(proxied.config.httpAgent).toBeDefined();
    expect(proxied.headers).toEqual({ 'User-Agent': 'apify-kv-client' });
    expect(platform.transport('fetch')).toEqual({ config: { adapter: 'fetch' }, headers: { 'User-Agent': 'apify-kv-client' } });
  });
});

describe('Browser transport', () => {
  it('uses fetch with no maxContentLength, which would make the fetch adapter fail on every 204', async () => {
    const transport = browserPlatform.transport(undefined);
    expect(transport.config).toEqual({ adapter: 'fetch' });
    expect(transport.headers).toEqual({});
    // Without the progress add-on, a watched upload stays on fetch, without axios's progress hook.
    expect(transport.uploadConfig).toEqual({ onUploadProgress: undefined });
    // Nor does the HTTP layer add one to a request.
    let seen: InternalAxiosRequestConfig | undefined;
    const client = new ApifyClient({
      adapter: async (config) => {
        seen = config;
        return { status: 204, statusText: 'No Content', headers: {}, config, data: new ArrayBuffer(0) };
      },
    });
    await client.keyValueStores.deleteRecord({ storeId: 's1', key: 'k' });
    expect(seen?.method).toBe('delete');
    expect(seen && 'maxContentLength' in seen).toBe(false);
  });
});
