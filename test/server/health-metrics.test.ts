/** Health probes and Prometheus metrics of the server. */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore, kvs, putRecord, raw, startTestServer } from './helpers.js';

/** The value of one sample in Prometheus text, `undefined` when absent. Labels must match exactly (any order). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[m[1]!] = m[2]!;
    const want = Object.entries(labels);
    if (want.length === Object.keys(found).length && want.every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const RECORD_ROUTE = '/v2/key-value-stores/:storeId/records/:recordKey';

describe('health probes', () => {
  it('answers /health/live and /health/ready without a token, even on a server that wants one', async () => {
    const server = await startTestServer({ token: 'probe-secret' });
    for (const probe of ['/health/live', '/health/ready']) {
      const res = await raw(server, 'GET', probe);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ status: 'ok' });
      expect(res.headers['cache-control']).toBe('no-store');
      const head = await raw(server, 'HEAD', probe);
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    }
    const post = await raw(server, 'POST', '/health/ready');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    // The API itself still wants the token.
    expect((await raw(server, 'POST', `${kvs}?name=x`)).status).toBe(401);
  });

  it('answers probes whatever Host header a load balancer sends (no token on the server)', async () => {
    const server = await startTestServer();
    const res = await raw(server, 'GET', '/health/ready', { headers: { Host: 'kv.internal.example:8010' } });
    expect(res.status).toBe(200);
    // The API keeps refusing that host.
    expect((await raw(server, 'GET', kvs, { headers: { Host: 'kv.internal.example:8010' } })).status).toBe(403);
  });

  it('is not ready while the storage folder is gone, and ready again once it is back', async () => {
    const warnings: string[] = [];
    const server = await startTestServer({ logger: { warn: (m) => warnings.push(m) } });
    expect((await raw(server, 'GET', '/health/ready')).status).toBe(200);
    const stores = path.join(server.storageDir, 'key_value_stores');
    const aside = path.join(server.storageDir, 'moved-aside');
    await fsp.rename(stores, aside);
    // Answers are reused for a second, so wait (bounded) for the next check.
    await expect
      .poll(async () => (await raw(server, 'GET', '/health/ready')).json, { timeout: 5000, interval: 100 })
      .toEqual({ status: 'not-ready', reason: 'storage-unavailable' });
    expect((await raw(server, 'GET', '/health/ready')).status).toBe(503);
    // Liveness does not depend on the storage.
    expect((await raw(server, 'GET', '/health/live')).status).toBe(200);
    await fsp.rename(aside, stores);
    await expect.poll(async () => (await raw(server, 'GET', '/health/ready')).status, { timeout: 5000, interval: 100 }).toBe(200);
    // Said once, not at every probe.
    expect(warnings.filter((w) => w.startsWith('Not ready')).length).toBe(1);
    expect(warnings[0]).toContain('key_value_stores');
  });

  it('is not ready once shutdown starts, while it finishes a write in flight', async () => {
    const server = await startTestServer();
    const storeId = await createStore(server, 'drain');
    // A write in flight holds the shutdown open: its body is only half sent.
    const writer = net.connect(server.port, '127.0.0.1');
    const writerAnswer = readAll(writer);
    writer.write(`PUT ${kvs}/${storeId}/records/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n12345`);
    // A probe whose request has begun (so shutdown does not close its connection as idle).
    const probe = net.connect(server.port, '127.0.0.1');
    const probeAnswer = readAll(probe);
    probe.write('GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // One full round trip after those writes: the server has read them by then (one process, one loop).
    await expect.poll(async () => (await raw(server, 'GET', `${kvs}/${storeId}`)).status, { timeout: 5000 }).toBe(200);

    const closing = server.close();
    probe.write('\r\n');
    const answer = await probeAnswer;
    expect(answer).toMatch(/^HTTP\/1\.1 503/);
    expect(answer).toContain('"reason":"draining"');
    writer.write('67890');
    expect(await writerAnswer).toMatch(/^HTTP\/1\.1 201/);
    await closing;
  });
});

function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

describe('metrics', () => {
  it('are off unless asked for', async () => {
    const server = await startTestServer();
    expect((await raw(server, 'GET', '/metrics')).status).toBe(404);
  });

  it('count requests by route template, method and status, with latency and bytes', async () => {
    const server = await startTestServer({ metrics: true });
    const storeId = await createStore(server, 'metered');
    const body = 'x'.repeat(1234);
    expect((await putRecord(server, storeId, 'secret-key-1', body)).status).toBe(201);
    expect((await putRecord(server, storeId, 'secret-key-2', body)).status).toBe(201);
    const read = await raw(server, 'GET', `${kvs}/${storeId}/records/secret-key-1`);
    expect(read.status).toBe(200);
    expect((await raw(server, 'GET', `${kvs}/${storeId}/records/missing`)).status).toBe(404);

    const scrape = await raw(server, 'GET', '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = scrape.text;
    expect(sample(text, 'apify_kv_http_requests_total', { route: RECORD_ROUTE, method: 'PUT', status: '201' })).toBe(2);
    expect(sample(text, 'apify_kv_http_requests_total', { route: RECORD_ROUTE, method: 'GET', status: '200' })).toBe(1);
    expect(sample(text, 'apify_kv_http_requests_total', { route: RECORD_ROUTE, method: 'GET', status: '404' })).toBe(1);
    expect(sample(text, 'apify_kv_http_requests_total', { route: '/v2/key-value-stores', method: 'POST', status: '201' })).toBe(1);
    expect(sample(text, 'apify_kv_http_request_duration_seconds_count', { route: RECORD_ROUTE, method: 'PUT' })).toBe(2);
    expect(sample(text, 'apify_kv_http_request_body_bytes_total', { route: RECORD_ROUTE })).toBe(2 * body.length);
    // The 200's body and the 404's error body.
    const out = sample(text, 'apify_kv_http_response_body_bytes_total', { route: RECORD_ROUTE })!;
    expect(out).toBeGreaterThan(body.length);
    expect(sample(text, 'apify_kv_storage_operation_duration_seconds_count', { backend: 'fs', operation: 'putRecord' })).toBe(2);
    expect(sample(text, 'apify_kv_storage_operation_duration_seconds_count', { backend: 'fs', operation: 'getRecord' })).toBe(2);
    // The scrape's own connection at least.
    expect(sample(text, 'apify_kv_http_open_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // Never a raw key.
    expect(text).not.toContain('secret-key');
  });

  it('count storage errors by operation and code', async () => {
    const server = await startTestServer({ metrics: true });
    await createStore(server, 'taken');
    const other = await createStore(server, 'other');
    const rename = await raw(server, 'PUT', `${kvs}/${other}`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'taken' }) });
    expect(rename.status).toBeGreaterThanOrEqual(400);
    const text = (await raw(server, 'GET', '/metrics')).text;
    expect(sample(text, 'apify_kv_storage_errors_total', { backend: 'fs', operation: 'updateStore', code: 'name-not-unique' })).toBe(1);
  });

  it('count a body the folder storage refused for its Content-MD5 as integrity-mismatch', async () => {
    const server = await startTestServer({ metrics: true });
    const storeId = await createStore(server, 'digests');
    const headers = { 'Content-Type': 'text/plain', 'Content-MD5': createHash('md5').update('sent').digest('base64') };
    const put = await raw(server, 'PUT', `${kvs}/${storeId}/records/k`, { headers, body: 'sens' });
    expect(put.status).toBe(400);
    const text = (await raw(server, 'GET', '/metrics')).text;
    expect(sample(text, 'apify_kv_storage_errors_total', { backend: 'fs', operation: 'putRecord', code: 'integrity-mismatch' })).toBe(1);
  });

  it('count what the consistency-lag simulation did', async () => {
    const server = await startTestServer({ metrics: true, consistencyLagMillis: 60_000 });
    const storeId = await createStore(server, 'lagging');
    expect((await putRecord(server, storeId, 'k', 'v1')).status).toBe(201);
    const read = await raw(server, 'GET', `${kvs}/${storeId}/records/k`);
    const text = (await raw(server, 'GET', '/metrics')).text;
    expect(sample(text, 'apify_kv_consistency_lag_writes_total')).toBe(1);
    // The read within the lag sees the record missing (unless its random lag was ~0).
    expect(sample(text, 'apify_kv_consistency_lag_stale_reads_total')).toBe(read.status === 404 ? 1 : 0);
  });

  it('want a token on a server that has tokens', async () => {
    const server = await startTestServer({ metrics: true, token: 'scrape-token' });
    expect((await raw(server, 'GET', '/metrics')).status).toBe(401);
    expect((await raw(server, 'GET', '/metrics', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await raw(server, 'GET', '/metrics', { headers: { Authorization: 'Bearer scrape-token' } });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain('scrape-token');
  });
});
