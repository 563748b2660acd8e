/**
 * `requestInterceptors` (apify-client v2's request hooks) against the real local server: a hook
 * sees each attempt's full axios config and its changes (headers, URL, query) are what goes out,
 * with every adapter; async hooks are awaited; a throwing hook fails the call with its error; a
 * retried attempt is hooked afresh, not on top of the last one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { ApifyClient, type RequestInterceptorFunction } from '../../src/index.js';
import { startTestServer } from '../server/helpers.js';
import { ADAPTERS, VirtualClock } from './helpers.js';

const TOKEN = 'hooks-token-1234';

/** A server whose request log lines are kept, and a way to wait for them. */
async function loggedServer() {
  const lines: Array<{ reqId: string; method: string; route: string; status: number }> = [];
  const server = await startTestServer({
    token: TOKEN,
    requestLog: { format: 'json', destination: { write: (line: string) => lines.push(JSON.parse(line)) } },
  });
  /** The log's request ids once `count` lines are in (a line is written when its answer ends). */
  const ids = async (count: number): Promise<string[]> => {
    for (let i = 0; i < 500 && lines.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return lines.map((line) => line.reqId);
  };
  return { server, ids };
}

const headerOf = (config: AxiosRequestConfig, name: string) => (config.headers as Record<string, unknown>)[name];

describe('requestInterceptors against the local server', () => {
  for (const adapter of ADAPTERS) {
    it(`a hook sees the full config and the header it adds reaches the server (${adapter} adapter)`, async () => {
      const { server, ids } = await loggedServer();
      const seen: AxiosRequestConfig[] = [];
      const hook: RequestInterceptorFunction = (config) => {
        seen.push({ ...config, headers: { ...(config.headers as object) } });
        (config.headers as Record<string, string>)['X-Request-Id'] = `hooked-${seen.length}`;
        return config;
      };
      const client = new ApifyClient({
        baseUrl: server.url,
        token: TOKEN,
        adapter: adapter === 'node' ? nodeAdapter : adapter,
        requestInterceptors: [hook],
      });
      const store = await client.keyValueStores().getOrCreate('hooked');
      await client.keyValueStore(store.id).setRecord({ key: 'a', value: { x: 1 } });
      expect(await ids(2)).toEqual(['hooked-1', 'hooked-2']);

      const put = seen[1]!;
      expect(put.method?.toUpperCase()).toBe('PUT');
      expect(put.url).toBe(`${server.url}/v2/key-value-stores/${store.id}/records/a`);
      expect(headerOf(put, 'Authorization')).toBe(`Bearer ${TOKEN}`);
      expect(String(headerOf(put, 'Content-Type'))).toMatch(/^application\/json/);
      expect(Buffer.from(put.data as Uint8Array).toString()).toBe(JSON.stringify({ x: 1 }, null, 2));
      expect(seen[0]!.params).toEqual({ name: 'hooked' });
    });
  }

  it('a hook changing the URL and the query: the changed request is the one served', async () => {
    const { server } = await loggedServer();
    const rewrite: RequestInterceptorFunction = (config) => {
      config.url = config.url!.replace('/records/a', '/records/b');
      if (config.params && 'prefix' in config.params) config.params = { ...config.params, prefix: 'b' };
      return config;
    };
    const hooked = new ApifyClient({ baseUrl: server.url, token: TOKEN, requestInterceptors: [rewrite] });
    const plain = new ApifyClient({ baseUrl: server.url, token: TOKEN });
    const store = await plain.keyValueStores().getOrCreate('rewritten');
    await plain.keyValueStore(store.id).setRecord({ key: 'c', value: 'c' });
    await hooked.keyValueStore(store.id).setRecord({ key: 'a', value: 'to b' });

    expect(await plain.keyValueStore(store.id).getRecord('a')).toBeUndefined();
    expect(await plain.keyValueStore(store.id).getRecord('b')).toEqual({ key: 'b', value: 'to b', contentType: 'text/plain; charset=utf-8' });
    const page = await hooked.keyValueStore(store.id).listKeys({ prefix: 'c' });
    expect(page.items.map((item) => item.key)).toEqual(['b']);
  });

  it('an async hook is awaited before the request goes out', async () => {
    const { server, ids } = await loggedServer();
    const later: RequestInterceptorFunction = async (config) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      (config.headers as Record<string, string>)['X-Request-Id'] = 'after-a-wait';
      return config;
    };
    const client = new ApifyClient({ baseUrl: server.url, token: TOKEN, requestInterceptors: [later] });
    await client.keyValueStores().getOrCreate('awaited');
    expect(await ids(1)).toEqual(['after-a-wait']);
  });

  it('a hook that throws fails the call with that error, and nothing is sent', async () => {
    const { server, ids } = await loggedServer();
    const refusal = new Error('not today');
    let calls = 0;
    const refuse: RequestInterceptorFunction = (config) => {
      if (config.method?.toUpperCase() === 'PUT') throw refusal;
      calls++;
      return config;
    };
    const client = new ApifyClient({ baseUrl: server.url, token: TOKEN, requestInterceptors: [refuse] });
    const store = await client.keyValueStores().getOrCreate('refused');
    await expect(client.keyValueStore(store.id).setRecord({ key: 'k', value: 1 })).rejects.toBe(refusal);
    // The next request is logged right after the store's creation: the refused PUT never went out.
    await client.keyValueStore(store.id).recordExists('k');
    expect(calls).toBe(2);
    expect((await ids(2)).length).toBe(2);
    expect(await new ApifyClient({ baseUrl: server.url, token: TOKEN }).keyValueStore(store.id).recordExists('k')).toBe(false);
  });

  it('a retried attempt is hooked afresh: the change is made once per attempt, not stacked', async () => {
    const requests: Array<{ url: string; mark: string | undefined }> = [];
    const flaky = http.createServer((req, res) => {
      requests.push({ url: req.url!, mark: req.headers['x-mark'] as string | undefined });
      if (requests.length === 1) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"type":"x","message":"busy"}}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"items":[],"count":0,"limit":1,"isTruncated":false,"exclusiveStartKey":null,"nextExclusiveStartKey":null}}');
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const mark: RequestInterceptorFunction = (config) => {
        const headers = config.headers as Record<string, string | undefined>;
        headers['X-Mark'] = headers['X-Mark'] ? `${headers['X-Mark']}+hook` : 'hook';
        config.params = { ...config.params, extra: `${config.params?.extra ?? ''}x` };
        return config;
      };
      const port = (flaky.address() as AddressInfo).port;
      const client = new ApifyClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, maxRetries: 1, clock: new VirtualClock(), requestInterceptors: [mark] });
      await client.keyValueStore('s1').listKeys({ limit: 1 });
      expect(requests).toEqual([
        { url: '/v2/key-value-stores/s1/keys?limit=1&extra=x', mark: 'hook' },
        { url: '/v2/key-value-stores/s1/keys?limit=1&extra=x', mark: 'hook' },
      ]);
    } finally {
      await new Promise((resolve) => flaky.close(resolve));
    }
  });
});
