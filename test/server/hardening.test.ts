import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/storage/index.js';
import { secretFilePath } from '../../src/storage/fs/signing-secret.js';
import { createStore, expectError, kvs, putRecord, raw, startTestServer, tempDir } from './helpers.js';

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** Resolves when the server closes the socket (or after `limitMillis`, with false). */
function closedWithin(socket: net.Socket, limitMillis: number): Promise<{ closed: boolean; received: string }> {
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ closed: false, received }), limitMillis);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received });
    });
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('signing secret', () => {
  it('persists in the storage folder: signed URLs and urlSigningSecretKey survive a restart', async () => {
    const storageDir = await tempDir();
    const users = [{ id: 'u1', username: 'ann', token: 'tok-ann' }];
    const auth = { Authorization: 'Bearer tok-ann' };
    const first = await startTestServer({ storageDir, users });
    const id = await createStore(first, 'kept', 'tok-ann');
    await putRecord(first, id, 'k', 'hello', 'text/plain', 'tok-ann');
    const store = (await raw(first, 'GET', `${kvs}/${id}`, { headers: auth })).json.data;
    const recordPublicUrl = (await raw(first, 'GET', `${kvs}/${id}/keys`, { headers: auth })).json.data.items[0].recordPublicUrl;
    const upload = (await raw(first, 'GET', `${kvs}/${id}/records/up/direct-upload-url`, { headers: auth })).json.data.signedUrl;
    const stat = await fsp.stat(secretFilePath(storageDir));
    expect(stat.mode & 0o077).toBe(0);
    await first.close();

    const second = await startTestServer({ storageDir, users });
    const again = (await raw(second, 'GET', `${kvs}/${id}`, { headers: auth })).json.data;
    expect(again.urlSigningSecretKey).toBe(store.urlSigningSecretKey);
    expect(new URL(again.keysPublicUrl).search).toBe(new URL(store.keysPublicUrl).search);
    expect((await raw(second, 'GET', pathOf(recordPublicUrl))).text).toBe('hello');
    expect((await raw(second, 'GET', pathOf(store.keysPublicUrl))).status).toBe(200);
    expect((await raw(second, 'PUT', pathOf(upload), { body: 'uploaded' })).status).toBe(201);
  });

  it('is made only by the server, and a damaged one stops the start instead of being replaced', async () => {
    const storageDir = await tempDir();
    const storage = new FileStorage({ storageDir, sweepIntervalMillis: 0 });
    await storage.open();
    await storage.close();
    await expect(fsp.access(secretFilePath(storageDir))).rejects.toThrow();

    await fsp.mkdir(path.dirname(secretFilePath(storageDir)), { recursive: true });
    await fsp.writeFile(secretFilePath(storageDir), 'not a secret');
    await expect(startTestServer({ storageDir })).rejects.toThrow(/damaged/);
    expect(await fsp.readFile(secretFilePath(storageDir), 'utf8')).toBe('not a secret');
  });
});

describe('direct upload limits', () => {
  it('caps the body after decoding, and keeps the old record', async () => {
    const server = await startTestServer({ maxDirectUploadBytes: 10_000 });
    const id = await createStore(server, 'capped');
    await putRecord(server, id, 'k', 'old', 'text/plain');
    const signedUrl: string = (await raw(server, 'GET', `${kvs}/${id}/records/k/direct-upload-url`)).json.data.signedUrl;

    const plain = await raw(server, 'PUT', pathOf(signedUrl), { body: Buffer.alloc(10_001, 1) });
    expectError(plain, 413, 'request-too-large');
    expect(plain.json.error.message).toContain('10000');
    // 1 MB of zeros compresses to about 1 KB: the limit counts what it decodes to.
    const bomb = zlib.gzipSync(Buffer.alloc(1_000_000));
    expect(bomb.length).toBeLessThan(10_000);
    expectError(await raw(server, 'PUT', pathOf(signedUrl), { body: bomb, headers: { 'Content-Encoding': 'gzip' } }), 413, 'request-too-large');
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('old');
    // Exactly at the limit is fine.
    expect((await raw(server, 'PUT', pathOf(signedUrl), { body: Buffer.alloc(10_000, 2) })).status).toBe(201);
  });

  it('expires, and refuses lifetimes outside 1 s .. 1 day', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const server = await startTestServer({ now: () => clock });
    const id = await createStore(server, 'ttl');
    const signedUrl: string = (await raw(server, 'GET', `${kvs}/${id}/records/k/direct-upload-url`)).json.data.signedUrl;
    // Default lifetime: 15 minutes.
    expect(Number(new URL(signedUrl).searchParams.get('expires'))).toBe(clock + 15 * 60_000);
    clock += 15 * 60_000 + 1;
    expectError(await raw(server, 'PUT', pathOf(signedUrl), { body: 'late' }), 403, 'invalid-signature');
    await expect(startTestServer({ directUploadTtlMillis: 0 })).rejects.toThrow(/directUploadTtlMillis/);
    await expect(startTestServer({ directUploadTtlMillis: 2 * 24 * 3600_000 })).rejects.toThrow(/directUploadTtlMillis/);
  });
});

describe('connection limits', () => {
  it('cuts off a client that sends its headers too slowly (slowloris)', async () => {
    const server = await startTestServer({ headersTimeoutMillis: 400 });
    const socket = await connect(server.port);
    const result = closedWithin(socket, 15_000);
    socket.write(`GET ${kvs} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    // One header byte every 100 ms, never the blank line that ends them.
    const drip = setInterval(() => socket.writable && socket.write('X'), 100);
    const { closed, received } = await result;
    clearInterval(drip);
    expect(closed).toBe(true);
    expect(received).not.toContain('200 OK');
    // The server still answers everyone else.
    expect((await raw(server, 'GET', kvs)).status).toBe(200);
  });

  it('cuts off a client that trickles its body past the request timeout', async () => {
    const server = await startTestServer({ requestTimeoutMillis: 600, headersTimeoutMillis: 400 });
    const id = await createStore(server, 'slow');
    const socket = await connect(server.port);
    const result = closedWithin(socket, 15_000);
    socket.write(`PUT ${kvs}/${id}/records/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n`);
    const drip = setInterval(() => socket.writable && socket.write('x'), 100);
    const { closed, received } = await result;
    clearInterval(drip);
    expect(closed).toBe(true);
    expect(received).not.toContain('201 Created');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/k`), 404, 'record-not-found');
  });

  it('closes connections beyond maxConnections and serves again once one ends', async () => {
    const server = await startTestServer({ maxConnections: 2 });
    const held = [await connect(server.port), await connect(server.port)];
    // Both are accepted and served.
    for (const socket of held) {
      const answered = new Promise<string>((resolve) => socket.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
      socket.write(`GET ${kvs} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(await answered).toContain('200 OK');
    }
    const third = await connect(server.port);
    const result = closedWithin(third, 15_000);
    third.write(`GET ${kvs} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const { closed, received } = await result;
    expect(closed).toBe(true);
    expect(received).toBe('');

    held[0]!.destroy();
    // The slot frees once the server sees the close; retry a few times within a bound.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await raw(server, 'GET', kvs).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    held[1]!.destroy();
  });
});

describe('reading a record', () => {
  it('answers 404, not a broken 200, when the record vanishes between lookup and open', async () => {
    const storageDir = await tempDir();
    const storage = new FileStorage({ storageDir, sweepIntervalMillis: 0 });
    await storage.open();
    const { store } = await storage.getOrCreateStore({ name: 'vanish', user: { id: 'local-user', username: 'local' } });
    const big = Buffer.alloc(2 * 1024 * 1024, 5);
    await storage.putRecord(store.id, 'big', big, { contentType: 'application/octet-stream' });
    const file = path.join(storageDir, 'key_value_stores', 'vanish', 'big.bin');
    const lookup = storage.getRecord.bind(storage);
    let removeAfterLookup = true;
    storage.getRecord = async (storeId, key) => {
      const record = await lookup(storeId, key);
      if (removeAfterLookup) await fsp.rm(file);
      return record;
    };
    const server = await startTestServer({ storageDir, storage });
    expectError(await raw(server, 'GET', `${kvs}/${store.id}/records/big`), 404, 'record-not-found');
    removeAfterLookup = false;
    expectError(await raw(server, 'GET', `${kvs}/${store.id}/records/big`), 404, 'record-not-found');
    await storage.close();
  });
});
