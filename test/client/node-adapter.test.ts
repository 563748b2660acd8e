import { createHash } from 'node:crypto';
/**
 * The client's lean Node adapter against real sockets: a local node:http server on port 0
 * behaves as the API would (keep-alive, compression, redirects, slow or broken answers).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { MIN_SLICED_JOIN_BYTES } from '../../src/client/platform/whole-body.js';
import { caught } from './caught.js';

// No nock here (not even through helpers.ts): its interception would stand between the adapter
// and the sockets this file is about.

/** A clock whose waits return at once and are recorded. */
class VirtualClock {
  time = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now = (): number => this.time;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.time += ms;
  };
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** A server whose answer each test sets; it counts connections and records requests. */
class TestServer {
  handler: Handler = (_req, res) => res.end('ok');
  connections = 0;
  readonly requests: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      this.handler(req, res, body);
    });
  });
  url = '';

  async start(): Promise<void> {
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const main = new TestServer();
const other = new TestServer();
beforeAll(async () => {
  await main.start();
  await other.start();
});
afterAll(async () => {
  await main.stop();
  await other.stop();
});
afterEach(() => {
  main.requests.length = 0;
  other.requests.length = 0;
});

/** Calls the adapter as axios would, with a 2xx status check. */
function call(config: Partial<InternalAxiosRequestConfig> & { url: string }) {
  return nodeAdapter({
    method: 'get',
    timeout: 5_000,
    validateStatus: (status: number) => status >= 200 && status < 300,
    ...config,
    headers: AxiosHeaders.from((config.headers ?? {}) as never),
  } as InternalAxiosRequestConfig);
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}

describe('the lean Node adapter', () => {
  it('sends method, path, headers and body, and returns status, headers and bytes', async () => {
    main.handler = (_req, res) => res.writeHead(201, { etag: '"v1"', 'content-type': 'text/plain' }).end('stored');
    const response = await call({
      method: 'put',
      url: `${main.url}/v2/key-value-stores/s/records/a%28b%29?x=1`,
      headers: { 'Content-Type': 'text/plain', Authorization: 'Bearer t' } as never,
      data: Buffer.from('hello'),
    });
    expect(response.status).toBe(201);
    expect(response.headers.etag).toBe('"v1"');
    expect((response.headers as AxiosHeaders).get('ETag')).toBe('"v1"');
    expect(Buffer.isBuffer(response.data)).toBe(true);
    expect(response.data.toString()).toBe('stored');
    const [seen] = main.requests;
    expect(seen).toMatchObject({ method: 'PUT', url: '/v2/key-value-stores/s/records/a%28b%29?x=1' });
    expect(seen!.body.toString()).toBe('hello');
    expect(seen!.headers).toMatchObject({
      'content-type': 'text/plain',
      'content-length': '5',
      authorization: 'Bearer t',
      'user-agent': 'apify-kv-client',
      'accept-encoding': 'gzip, deflate, br',
    });
  });

  it('keeps the connection alive across requests', async () => {
    const before = main.connections;
    for (let i = 0; i < 5; i++) await call({ url: `${main.url}/r${i}` });
    expect(main.connections - before).toBeLessThanOrEqual(1);
  });

  it('streams a Readable body without buffering it, and answers HEAD without a body', async () => {
    main.handler = (_req, res, body) => res.end(String(body.length));
    const response = await call({ method: 'put', url: `${main.url}/s`, data: Readable.from([Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)]) });
    expect(response.data.toString()).toBe('100000');
    expect(main.requests[0]!.headers['transfer-encoding']).toBe('chunked');
    main.handler = (_req, res) => res.writeHead(200, { 'content-length': '3' }).end();
    const head = await call({ method: 'head', url: `${main.url}/h` });
    expect([head.status, head.data.length, head.headers['content-length']]).toEqual([200, 0, '3']);
  });

  it('hands back the body unread with responseType stream', async () => {
    main.handler = (_req, res) => {
      res.write('x'.repeat(50_000));
      setTimeout(() => res.end('y'), 20);
    };
    const response = await call({ url: `${main.url}/big`, responseType: 'stream' });
    expect(response.data).toBeInstanceOf(Readable);
    expect(await text(response.data)).toBe(`${'x'.repeat(50_000)}y`);
  });

  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ] as const)('decodes a %s response, buffered or streamed', async (encoding, compress) => {
    main.handler = (_req, res) => res.writeHead(200, { 'content-encoding': encoding }).end(compress(Buffer.from('packed body')));
    const buffered = await call({ url: `${main.url}/z` });
    expect(buffered.data.toString()).toBe('packed body');
    expect(buffered.headers['content-encoding']).toBeUndefined();
    const streamed = await call({ url: `${main.url}/z`, responseType: 'stream' });
    expect(await text(streamed.data)).toBe('packed body');
  });

  it('rejects an error status with the response, as axios does', async () => {
    main.handler = (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{}}');
    const notFound = await caught(call({ url: `${main.url}/missing` }));
    expect(notFound).toBeInstanceOf(AxiosError);
    expect([notFound.code, notFound.response.status, notFound.response.data.toString()]).toEqual([
      'ERR_BAD_REQUEST',
      404,
      '{"error":{}}',
    ]);
    main.handler = (_req, res) => res.writeHead(503).end();
    expect((await caught(call({ url: `${main.url}/busy` }))).code).toBe('ERR_BAD_RESPONSE');
  });

  it('follows redirects, keeping the token on its own origin only', async () => {
    other.handler = (_req, res) => res.end('from elsewhere');
    main.handler = (req, res) => {
      if (req.url === '/same') res.writeHead(302, { location: '/final' }).end();
      else if (req.url === '/away') res.writeHead(302, { location: `${other.url}/record?sig=1` }).end();
      else res.end('final');
    };
    const headers = { Authorization: 'Bearer t' } as never;
    expect((await call({ url: `${main.url}/same`, headers })).data.toString()).toBe('final');
    expect(main.requests[1]!.headers.authorization).toBe('Bearer t');
    expect((await call({ url: `${main.url}/away`, headers })).data.toString()).toBe('from elsewhere');
    expect(other.requests[0]!.url).toBe('/record?sig=1');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('turns a POST into a GET on 303, re-sends a buffered PUT on 307, and never re-sends a stream', async () => {
    main.handler = (req, res, body) => {
      if (req.url === '/post') res.writeHead(303, { location: '/done' }).end();
      else if (req.url === '/put') res.writeHead(307, { location: '/put-here' }).end();
      else res.end(`${req.method} ${body.toString()}`);
    };
    const post = await call({ method: 'post', url: `${main.url}/post`, data: Buffer.from('form'), headers: { 'Content-Type': 'text/plain' } as never });
    expect(post.data.toString()).toBe('GET ');
    expect(main.requests[1]!.headers['content-type']).toBeUndefined();
    expect((await call({ method: 'put', url: `${main.url}/put`, data: Buffer.from('again') })).data.toString()).toBe('PUT again');
    const stream = await caught(call({ method: 'put', url: `${main.url}/put`, data: Readable.from([Buffer.from('once')]) }));
    expect(stream.response.status).toBe(307);
  });

  it('stops after maxRedirects', async () => {
    main.handler = (_req, res) => res.writeHead(302, { location: '/loop' }).end();
    const error = await caught(call({ url: `${main.url}/loop`, maxRedirects: 3 }));
    expect(error.code).toBe('ERR_FR_TOO_MANY_REDIRECTS');
    expect(main.requests).toHaveLength(4);
  });

  it('times out an attempt with ECONNABORTED, and stops on abort with a CanceledError', async () => {
    main.handler = () => undefined; // never answers
    const timeout = await caught(call({ url: `${main.url}/slow`, timeout: 50 }));
    expect([timeout.code, timeout.message]).toEqual(['ECONNABORTED', 'timeout of 50ms exceeded']);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const aborted = await caught(call({ url: `${main.url}/slow`, signal: controller.signal }));
    expect([aborted.name, aborted.code]).toEqual(['CanceledError', 'ERR_CANCELED']);
  });

  it('surfaces socket failures as network errors with their code', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await caught(call({ url: `http://127.0.0.1:${port}/x` }));
    expect([refused.code, refused.response]).toEqual(['ECONNREFUSED', undefined]);

    main.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 10);
    };
    const cut = await caught(call({ url: `${main.url}/cut` }));
    expect(cut).toBeInstanceOf(AxiosError);
    expect(cut.code).toBe('ECONNRESET');
    const invalid = await caught(call({ url: 'not a url' }));
    expect(invalid.code).toBe('ERR_INVALID_URL');
  });

  it('hands on a large body intact, whether its length is known, it comes chunked or compressed', async () => {
    const size = MIN_SLICED_JOIN_BYTES + 4_100;
    const body = Buffer.alloc(size);
    for (let i = 0; i + 4 <= size; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    const answers: Record<string, (res: http.ServerResponse) => void> = {
      known: (res) => res.writeHead(200, { 'content-length': String(size) }).end(body),
      chunked: (res) => res.writeHead(200).end(body),
      gzip: (res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(body)),
    };
    for (const [name, answer] of Object.entries(answers)) {
      main.handler = (_req, res) => answer(res);
      const response = await call({ url: `${main.url}/${name}` });
      expect(Buffer.compare(response.data as Buffer, body), name).toBe(0);
    }
  });
});

describe('the client over the lean adapter and a real server', () => {
  it('retries a broken answer and a timeout, then returns the record', async () => {
    let calls = 0;
    main.handler = (_req, res) => {
      calls++;
      if (calls === 1) res.socket?.destroy();
      else if (calls === 2) return; // times out
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    const clock = new VirtualClock();
    const client = new ApifyClient({ baseUrl: main.url, storeId: 's1', timeoutSecs: 0.1, clock });
    const record = await client.keyValueStores.getRecord({ key: 'k' });
    expect(record?.body).toEqual({ ok: true });
    expect(calls).toBe(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('sends each request with exactly its headers: Host, a Content-Length, never an empty chunked body', async () => {
    main.handler = (req, res) =>
      req.method === 'POST'
        ? res.writeHead(201, { 'content-type': 'application/json' }).end('{"data":{"id":"s1","name":"n"}}')
        : res.writeHead(req.method === 'PUT' ? 201 : 204).end();
    const client = new ApifyClient({ baseUrl: main.url, token: 'secret' });
    await client.keyValueStores.getOrCreateStore({ storeName: 'n' });
    await client.keyValueStores.putRecord({ storeId: 's1', key: 'k', body: { a: 1 } });
    await client.keyValueStores.deleteRecord({ storeId: 's1', key: 'k' });
    const [post, put, del] = main.requests;
    const common = {
      host: new URL(main.url).host,
      'user-agent': 'apify-kv-client',
      'accept-encoding': 'gzip, deflate, br',
      authorization: 'Bearer secret',
    };
    expect(post!.headers).toEqual({ ...common, connection: 'keep-alive', 'content-length': '0' });
    expect(put!.headers).toEqual({
      ...common,
      connection: 'keep-alive',
      'content-type': 'application/json; charset=utf-8',
      'content-length': '7',
      // The body's MD5, base64 (integrity checks are on by default).
      'content-md5': createHash('md5').update('{"a":1}').digest('base64'),
    });
    expect(put!.body.toString()).toBe('{"a":1}');
    expect(del!.headers).toEqual({ ...common, connection: 'keep-alive' });
  });

  it('takes a wrapping adapter\'s changes to the axios config, as from any axios adapter', async () => {
    main.handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('seen');
    const client = new ApifyClient({
      baseUrl: main.url,
      adapter: (config) => {
        config.headers.set('X-Trace', 't-1');
        return nodeAdapter(config);
      },
    });
    const record = await client.keyValueStores.getRecord({ storeId: 's1', key: 'k' });
    expect(record?.body).toBe('seen');
    expect(main.requests[0]!.headers['x-trace']).toBe('t-1');
    expect(main.requests[0]!.headers['user-agent']).toBe('apify-kv-client');
  });

  it('reports a refused connection as ApifyNetworkError after its retries', async () => {
    const client = new ApifyClient({ baseUrl: 'http://127.0.0.1:1', storeId: 's1', maxRetries: 1, clock: new VirtualClock() });
    const error = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect([error.name, error.type, error.code, error.attempt]).toEqual(['ApifyNetworkError', 'network-error', 'ECONNREFUSED', 2]);
  });
});
