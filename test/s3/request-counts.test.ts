/**
 * The S3 requests a record operation costs through the server, counted by a proxy in front of
 * the gateway: the figure that decides the backend's speed against the SDK straight to S3
 * (one PUT, one GET), and one that does not move with the machine's load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer } from '../../src/server/server.js';
import { startCountingProxy, type CountingProxy } from '../support/s3-counting-proxy.js';
import { useS3 } from '../support/s3-service.js';

const s3 = useS3();
const proxies: CountingProxy[] = [];
const servers: Array<Awaited<ReturnType<typeof startServer>>> = [];

beforeAll(async () => {
  const prefix = `counts-${Date.now()}`;
  for (let n = 0; n < 2; n++) {
    const proxy = await startCountingProxy(s3.service.endpoint);
    proxies.push(proxy);
    servers.push(
      await startServer({
        port: 0,
        host: '127.0.0.1',
        storage: `s3://${s3.bucket}/${prefix}`,
        s3: {
          endpoint: proxy.url,
          region: s3.service.region,
          accessKeyId: s3.service.accessKeyId,
          secretAccessKey: s3.service.secretAccessKey,
          forcePathStyle: true,
          // The store's metadata stays fresh for the whole test: what is counted is per record.
          metadataCacheMillis: 600_000,
        },
      }),
    );
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(proxies.map((p) => p.close()));
});

async function call(server: number, method: string, path: string, body?: string): Promise<Response> {
  const init: RequestInit = body === undefined ? { method } : { method, body, headers: { 'content-type': 'application/json' } };
  return fetch(`${servers[server]!.url}/v2/key-value-stores${path}`, init);
}

/** Requests each proxy forwarded on record objects, by kind, and how many on anything else. */
function tally(): Array<{ records: Record<string, number>; other: number }> {
  return proxies.map((proxy) => {
    const records: Record<string, number> = {};
    let other = 0;
    for (const { kind, path } of proxy.log()) {
      if (path.includes('/records/')) records[kind] = (records[kind] ?? 0) + 1;
      else other++;
    }
    return { records, other };
  });
}

describe('S3 requests per record operation, through two servers', () => {
  it('puts with one PUT and gets with one GET, whichever server wrote or read the key before', async () => {
    const made = await call(0, 'POST', `?name=counted-${Date.now()}`);
    expect(made.status).toBe(201);
    const id = ((await made.json()) as { data: { id: string } }).data.id;
    // Each server looks the store up once.
    expect((await call(0, 'GET', `/${id}/records/none`)).status).toBe(404);
    expect((await call(1, 'GET', `/${id}/records/none`)).status).toBe(404);
    let other = 0;
    /** Starts counting again, keeping the count of non-record requests. */
    const restart = () => {
      other += tally().reduce((sum, t) => sum + t.other, 0);
      for (const proxy of proxies) proxy.reset();
    };
    for (const proxy of proxies) proxy.reset();

    const PAIRS = 10;
    // A key of characters that need encoding in a signed request path.
    const key = (i: number) => `k${i}!'()`;
    for (let i = 0; i < PAIRS; i++) {
      expect((await call(0, 'PUT', `/${id}/records/${encodeURIComponent(key(i))}`, `{"v":${i}}`)).status).toBe(201);
      const read = await call(1, 'GET', `/${id}/records/${encodeURIComponent(key(i))}`);
      expect(await read.text()).toBe(`{"v":${i}}`);
    }
    let [a, b] = tally();
    expect(a!.records).toEqual({ PUT: PAIRS });
    expect(b!.records).toEqual({ GET: PAIRS });

    // Overwrites by the server that wrote the key and by the one that read it: one PUT each.
    restart();
    for (let i = 0; i < PAIRS; i++) {
      expect((await call(i % 2, 'PUT', `/${id}/records/${encodeURIComponent(key(i))}`, `{"w":${i}}`)).status).toBe(201);
    }
    [a, b] = tally();
    expect(a!.records).toEqual({ PUT: PAIRS / 2 });
    expect(b!.records).toEqual({ PUT: PAIRS / 2 });

    // A delete: a HEAD for the size the store's count loses, then the DELETE.
    restart();
    expect((await call(1, 'DELETE', `/${id}/records/${encodeURIComponent(key(0))}`)).status).toBe(204);
    expect(tally()[1]!.records).toEqual({ HEAD: 1, DELETE: 1 });
    expect((await call(0, 'GET', `/${id}/records/${encodeURIComponent(key(0))}`)).status).toBe(404);

    // A content type with runs of blanks, which signing canonicalizes, is stored as sent.
    const odd = 'text/plain;  charset=utf-8;\tx="a  b"';
    const put = await fetch(`${servers[0]!.url}/v2/key-value-stores/${id}/records/odd`, { method: 'PUT', body: 'o', headers: { 'content-type': odd } });
    expect(put.status).toBe(201);
    const got = await call(1, 'GET', `/${id}/records/odd`);
    expect(got.headers.get('content-type')).toBe(odd);

    // Nothing else per request: the store's metadata comes from memory (a debounced stats
    // save, every 5 s, is a GET, a GET and a PUT at most).
    restart();
    expect(other).toBeLessThanOrEqual(6);
  });
});
