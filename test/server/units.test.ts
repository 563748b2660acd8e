import http from 'node:http';
import { PassThrough } from 'node:stream';
import { createHmacSignature } from '@apify/utilities';
import { describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { createRequestHandler, isLoopbackHost, parseServeArgs, runServeCommand, startServer } from '../../src/server/index.js';
import { FileStorage } from '../../src/storage/index.js';
import { parseTarget } from '../../src/server/routes.js';
import { UrlSigner, apifyHmac } from '../../src/server/signing.js';
import { createStore, kvs, raw, startTestServer, tempDir } from './helpers.js';

describe('routing table', () => {
  it('splits before decoding, so encoded slashes stay in their segment', () => {
    expect(parseTarget('/v2/key-value-stores').route).toEqual({ kind: 'stores' });
    expect(parseTarget('/v2/key-value-stores/abc?x=1').route).toEqual({ kind: 'store', storeRef: 'abc' });
    expect(parseTarget('/v2/key-value-stores/abc/records/a%2Fb').route).toMatchObject({ kind: 'record', key: 'a/b' });
    expect(parseTarget('/v2/key-value-stores/u~n/records/k/direct-upload-url').route).toMatchObject({
      kind: 'direct-upload-url',
      storeRef: 'u~n',
      key: 'k',
    });
    expect(parseTarget('/v2/key-value-stores/abc/records/%E0%A4%A').route?.segmentError?.type).toBe('invalid-record-key');
    expect(parseTarget('/v2/key-value-stores/%E0%A4%A/keys').route?.segmentError?.type).toBe('invalid-input');
    expect(parseTarget('/v2/key-value-stores/abc/records/a/b').route).toBeNull();
    expect(parseTarget('/v2/key-value-stores/..').route).toMatchObject({ kind: 'store', storeRef: '..' });
    expect(parseTarget('/v2/key-value-stores/../x').route).toBeNull();
    expect(parseTarget('/v2/key-value-storesX').route).toBeNull();
    expect(parseTarget('v2/key-value-stores').route).toBeNull();
    expect(parseTarget('/v2/key-value-stores?token=t').query.get('token')).toBe('t');
    // One trailing slash is fine, an empty segment is not; a target without a query has an empty one.
    expect(parseTarget('/v2/key-value-stores/').route).toEqual({ kind: 'stores' });
    expect(parseTarget('/v2/key-value-stores/abc/keys/').route).toEqual({ kind: 'keys', storeRef: 'abc' });
    expect(parseTarget('/v2/key-value-stores//').route).toBeNull();
    expect(parseTarget('/v2/key-value-stores/abc//records').route).toBeNull();
    expect(parseTarget('/v2/key-value-stores/abc/records/k?').route).toEqual({ kind: 'record', storeRef: 'abc', key: 'k' });
    expect([...parseTarget('/v2/key-value-stores/abc/records/k').query]).toEqual([]);
    expect(parseTarget('/v2/key-value-stores/a%7Eb/records/%E0%A4%A').route).toMatchObject({ storeRef: 'a~b', segmentError: { type: 'invalid-record-key' } });
    expect(parseTarget('/v2/key-value-stores/abc/records/k/direct-upload').route).toMatchObject({ kind: 'direct-upload', key: 'k' });
    expect(parseTarget('/v2/key-value-stores/abc/records/k/other').route).toBeNull();
    expect(parseTarget('/v2/key-value-stores/abc/other').route).toBeNull();
  });
});

describe('signatures', () => {
  it('match the official client\'s HMAC format', () => {
    expect(apifyHmac('secret', 'message')).toBe(createHmacSignature('secret', 'message'));
    expect(apifyHmac('k3y', 'INPUT')).toBe(createHmacSignature('k3y', 'INPUT'));
    const signer = new UrlSigner('a-secret-of-enough-length');
    expect(signer.storeSecretKey('s1')).toBe(new UrlSigner('a-secret-of-enough-length').storeSecretKey('s1'));
    expect(signer.storeSecretKey('s1')).not.toBe(signer.storeSecretKey('s2'));
    const sig = signer.storeContentSignature('s1', 2000);
    expect(signer.verifyStoreContentSignature('s1', sig, 1999)).toBe(true);
    expect(signer.verifyStoreContentSignature('s1', sig, 2000)).toBe(false);
    expect(signer.verifyStoreContentSignature('s2', sig, 0)).toBe(false);
    expect(signer.verifyStoreContentSignature('s1', 'garbage', 0)).toBe(false);
    expect(() => new UrlSigner('short')).toThrow();
  });

  it('signs record URLs exactly as the official client does, for many keys and digests', () => {
    const signer = new UrlSigner('a-secret-of-enough-length');
    for (let i = 0; i < 2000; i++) {
      const key = `key-${i}-${'x'.repeat(i % 40)}`;
      const storeId = `store${i % 7}`;
      expect(signer.recordSignature(storeId, key)).toBe(createHmacSignature(signer.storeSecretKey(storeId), key));
    }
  });
});

describe('serve command', () => {
  it('parses flags', () => {
    expect(
      parseServeArgs([
        '--host', '127.0.0.1', '--port', '0', '--storage-dir', '/tmp/x', '--token', 't',
        '--users-file', 'u.json', '--max-payload-bytes', '100', '--consistency-lag-ms', '300',
      ]),
    ).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      storageDir: '/tmp/x',
      token: 't',
      usersFile: 'u.json',
      maxPayloadBytes: 100,
      consistencyLagMillis: 300,
    });
    expect(parseServeArgs(['--allow-origin', 'http://localhost:3000/', '--allow-origin', '*']).allowedOrigins).toEqual([
      'http://localhost:3000',
      '*',
    ]);
    expect(parseServeArgs([]).allowedOrigins).toBeUndefined();
    expect(() => parseServeArgs(['--allow-origin', 'localhost:3000'])).toThrow(/is not an origin/);
    expect(() => parseServeArgs(['--port', 'abc'])).toThrow(/--port/);
    expect(() => parseServeArgs(['--max-payload-bytes', '0'])).toThrow(/--max-payload-bytes/);
    expect(() => parseServeArgs(['--nope'])).toThrow();
  });

  it('prints help and usage errors with exit codes', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    let errText = '';
    err.on('data', (d) => (errText += d));
    expect(await runServeCommand(['--help'], { stdout: out, stderr: err })).toBe(0);
    expect(text).toContain('--max-payload-bytes');
    expect(await runServeCommand(['--port', 'x'], { stdout: out, stderr: err })).toBe(2);
    expect(errText).toContain('--port');
  });

  it('knows loopback hosts (anything else without tokens gets a warning)', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com']) expect(isLoopbackHost(h)).toBe(false);
  });

  it('rejects bad options', async () => {
    const storageDir = await tempDir();
    await expect(startServer({ port: 0, storageDir, maxPayloadBytes: 0 })).rejects.toThrow(/maxPayloadBytes/);
    await expect(startServer({ port: -1, storageDir })).rejects.toThrow(/port/);
    await expect(startServer({ port: 0, storageDir, consistencyLagMillis: -5 })).rejects.toThrow(/consistencyLagMillis/);
  });
});

describe('close()', () => {
  it('lets a write in flight finish, then refuses new connections', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'closing');
    const body = Buffer.alloc(100_000, 5);
    let closePromise: Promise<void> | undefined;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: server.port,
        method: 'PUT',
        path: `${kvs}/${id}/records/late`,
        headers: { 'Content-Length': String(body.length) },
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        expect(res.headers.connection).toBe('close');
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(body.subarray(0, 50_000), () => {
        setTimeout(() => {
          closePromise = server.close();
          setTimeout(() => req.end(body.subarray(50_000)), 100);
        }, 50);
      });
    });
    expect(status).toBe(201);
    await closePromise;
    await expect(raw(server, 'GET', kvs)).rejects.toThrow();

    const reopened = await startTestServer({ storageDir: server.storageDir });
    expect((await raw(reopened, 'GET', `${kvs}/${id}/records/late`)).body.equals(body)).toBe(true);
  });

  it('is idempotent', async () => {
    const server = await startTestServer();
    await Promise.all([server.close(), server.close()]);
    await server.close();
  });
});

describe('createRequestHandler', () => {
  it('serves the API from a caller-owned http server and storage', async () => {
    const storage = new FileStorage({ storageDir: await tempDir() });
    await storage.open();
    const handler = createRequestHandler({ storage, token: 'mount-token', maxPayloadBytes: 10 });
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const auth = { Authorization: 'Bearer mount-token' };
      const created = await raw({ port }, 'POST', `${kvs}?name=mounted`, { headers: auth });
      expect(created.status).toBe(201);
      expect(created.headers.location).toBe(`http://127.0.0.1:${port}${kvs}/${created.json.data.id}`);
      expect((await raw({ port }, 'PUT', `${kvs}/mounted/records/k`, { headers: auth, body: 'tiny' })).status).toBe(201);
      expect((await raw({ port }, 'PUT', `${kvs}/mounted/records/k`, { headers: auth, body: 'x'.repeat(11) })).status).toBe(413);
      expect((await raw({ port }, 'GET', kvs)).status).toBe(401);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await storage.close();
    }
  });
});
