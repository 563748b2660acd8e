import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createStore, expectError, kvs, putRecord, raw, sleep, startTestServer, testStorageKind, type RawResponse } from './helpers.js';

const encoders: Record<string, (b: Buffer) => Buffer> = {
  identity: (b) => b,
  gzip: (b) => zlib.gzipSync(b),
  br: (b) => zlib.brotliCompressSync(b),
  deflate: (b) => zlib.deflateSync(b),
};

/** Sends the body in several writes without Content-Length (chunked transfer). */
function chunkedPut(server: { port: number }, p: string, body: Buffer, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method: 'PUT', path: p, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(buf.toString());
        } catch {}
        resolve({ status: res.statusCode!, headers: res.headers, body: buf, text: buf.toString(), json });
      });
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024));
    req.end();
  });
}

function expectTooLarge(res: RawResponse, limit: number): void {
  expectError(res, 413, 'request-too-large');
  expect(res.json.error.message).toContain(`limit: ${limit} bytes`);
  expect(res.json.error.message).toContain('direct-upload-url');
  expect(res.json.error.message).toContain('--max-payload-bytes');
}

describe('request bodies', () => {
  it.each(Object.keys(encoders))('decodes Content-Encoding %s', async (encoding) => {
    const server = await startTestServer();
    const id = await createStore(server, 'enc');
    const value = Buffer.from('hello '.repeat(2000));
    const res = await raw(server, 'PUT', `${kvs}/${id}/records/k`, {
      headers: { 'Content-Type': 'text/plain', 'Content-Encoding': encoding },
      body: encoders[encoding]!(value),
    });
    expect(res.status).toBe(201);
    const get = await raw(server, 'GET', `${kvs}/${id}/records/k`);
    expect(get.body.equals(value)).toBe(true);
    expect(get.headers['content-encoding']).toBeUndefined();
  });

  it.each(Object.keys(encoders))('a %s body over the limit is 413 after decoding, and nothing changes on disk', async (encoding) => {
    const limit = 1000;
    const server = await startTestServer({ maxPayloadBytes: limit });
    const id = await createStore(server, 'limit');
    await putRecord(server, id, 'k', 'original');
    const before = await server.snapshot();

    // Exactly the limit is fine...
    const atLimit = Buffer.alloc(limit, 'a');
    const ok = await raw(server, 'PUT', `${kvs}/${id}/records/fits`, {
      headers: { 'Content-Type': 'text/plain', 'Content-Encoding': encoding },
      body: encoders[encoding]!(atLimit),
    });
    expect(ok.status).toBe(201);
    await raw(server, 'DELETE', `${kvs}/${id}/records/fits`);

    // ...one byte more is not, whether the length is declared or streamed.
    const over = encoders[encoding]!(Buffer.alloc(limit + 1, 'a'));
    const headers = { 'Content-Type': 'text/plain', 'Content-Encoding': encoding };
    expectTooLarge(await raw(server, 'PUT', `${kvs}/${id}/records/k`, { headers, body: over }), limit);
    expectTooLarge(await chunkedPut(server, `${kvs}/${id}/records/k`, over, headers), limit);
    expectTooLarge(await raw(server, 'POST', `${kvs}/${id}/records/new`, { headers, body: over }), limit);

    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('original');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/new`), 404, 'record-not-found');
    expect(await server.snapshot()).toEqual(before);
  });

  it('a compression bomb is cut off at the limit without inflating it', async () => {
    const server = await startTestServer({ maxPayloadBytes: 64 * 1024 });
    const id = await createStore(server, 'bomb');
    // 1 GiB of zeros in a few hundred KB: made by repeating one compressed block as gzip members.
    const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    expect(bomb.length).toBeLessThan(2_000_000);
    const started = Date.now();
    const res = await raw(server, 'PUT', `${kvs}/${id}/records/k`, { headers: { 'Content-Encoding': 'gzip' }, body: bomb });
    expectTooLarge(res, 64 * 1024);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('enforces the real default limit of 9,437,184 bytes', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'default-limit');
    const exact = Buffer.alloc(9_437_184, 7);
    expect((await raw(server, 'PUT', `${kvs}/${id}/records/exact`, { body: exact })).status).toBe(201);
    expectTooLarge(await raw(server, 'PUT', `${kvs}/${id}/records/over`, { body: Buffer.alloc(9_437_185, 7) }), 9_437_184);
    const gz = zlib.gzipSync(Buffer.alloc(9_437_185, 7));
    expectTooLarge(await raw(server, 'PUT', `${kvs}/${id}/records/over`, { headers: { 'Content-Encoding': 'gzip' }, body: gz }), 9_437_184);
    const head = await raw(server, 'HEAD', `${kvs}/${id}/records/exact`);
    expect(head.headers['content-length']).toBe('9437184');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/over`), 404, 'record-not-found');
  });

  it('refuses a declared oversized identity body before reading it', async () => {
    const server = await startTestServer({ maxPayloadBytes: 1000 });
    const id = await createStore(server, 'early');
    // Declares 50 MB but sends only a little: the answer must come anyway.
    const res = await new Promise<RawResponse>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'PUT',
          path: `${kvs}/${id}/records/k`,
          headers: { 'Content-Length': String(50_000_000) },
          agent: false,
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: r.statusCode!, headers: r.headers, body, text: body.toString(), json: JSON.parse(body.toString()) });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(100));
    });
    expectTooLarge(res, 1000);
    expect(res.json.error.message).toContain('actual length: 50000000 bytes');
    expect(res.headers.connection).toBe('close');
  });

  it('with Expect: 100-continue an oversized body is refused without the body being sent', async () => {
    const server = await startTestServer({ maxPayloadBytes: 1000 });
    const id = await createStore(server, 'expect');
    const { status, gotContinue } = await new Promise<{ status: number; gotContinue: boolean }>((resolve, reject) => {
      let gotContinue = false;
      const req = http.request({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `${kvs}/${id}/records/k`,
        headers: { 'Content-Length': '5000', Expect: '100-continue' },
        agent: false,
      });
      req.on('continue', () => {
        gotContinue = true;
      });
      req.on('response', (r) => {
        r.resume();
        r.on('end', () => {
          resolve({ status: r.statusCode!, gotContinue });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
    expect(gotContinue).toBe(false);

    // A body that fits gets its 100 Continue and is stored.
    const ok = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `${kvs}/${id}/records/k`,
        headers: { 'Content-Length': '5', Expect: '100-continue', 'Content-Type': 'text/plain' },
        agent: false,
      });
      req.on('continue', () => req.end('hello'));
      req.on('response', (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(ok).toBe(201);
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('hello');
  });

  it.each([
    ['gzip', Buffer.from('definitely not gzip')],
    ['br', Buffer.from('definitely not brotli at all, really')],
    ['deflate', Buffer.from('not deflate')],
    ['gzip', zlib.gzipSync(randomBytes(10_000)).subarray(0, 5000)], // cut in the middle
    ['br', zlib.brotliCompressSync(randomBytes(10_000)).subarray(0, 5000)],
  ])('a corrupt %s body is 400 invalid-input and stores nothing', async (encoding, body) => {
    const server = await startTestServer();
    const id = await createStore(server, 'corrupt');
    await putRecord(server, id, 'k', 'original');
    const before = await server.snapshot();
    const res = await raw(server, 'PUT', `${kvs}/${id}/records/k`, { headers: { 'Content-Encoding': encoding }, body });
    expectError(res, 400, 'invalid-input');
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('original');
    expect(await server.snapshot()).toEqual(before);
  });

  it.each(['zstd', 'compress', 'gzip, br', 'bla'])('Content-Encoding "%s" is 415', async (encoding) => {
    const server = await startTestServer();
    const id = await createStore(server, 'enc415');
    const before = await server.snapshot();
    const res = await raw(server, 'PUT', `${kvs}/${id}/records/k`, { headers: { 'Content-Encoding': encoding }, body: 'x' });
    expectError(res, 415, 'unsupported-content-encoding');
    expect(await server.snapshot()).toEqual(before);
  });

  it('a client that aborts mid-upload leaves nothing stored and no temp files', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'abort');
    await putRecord(server, id, 'k', 'original');
    const before = await server.snapshot();
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `${kvs}/${id}/records/k`,
        headers: { 'Content-Length': String(4 * 1024 * 1024), 'Content-Type': 'application/octet-stream' },
        agent: false,
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(512 * 1024, 1), () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
    });
    // Give the server a moment to notice and clean up.
    for (let i = 0; i < 50; i++) {
      if (JSON.stringify(await server.snapshot()) === JSON.stringify(before)) break;
      await sleep(50);
    }
    expect(await server.snapshot()).toEqual(before);
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('original');
    if (testStorageKind() === 'folder') {
      const tmp = path.join(server.storageDir, 'key_value_stores', 'abort', '.tmp');
      const leftovers = await fsp.readdir(tmp).catch(() => []);
      expect(leftovers).toEqual([]);
    }
  });
});
