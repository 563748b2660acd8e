/**
 * Slow and greedy clients: a connection whose headers time out is destroyed (not half-closed),
 * so a client that keeps trickling bytes holds no descriptor; one address holds at most
 * `maxConnectionsPerAddress` connections; the connection cap follows the open-files limit.
 */
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/server/cli.js';
import { connectionCapFor, openFilesLimit, resolveConnectionCap } from '../../src/server/connection-limits.js';
import { createStore, kvs, raw, startTestServer, tempDir } from './helpers.js';

/** A raw client that keeps its side open after the server's FIN, as a trickler does. */
function connect(port: number, localAddress = '127.0.0.1', allowHalfOpen = true): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the time the socket took to close, or `null` if it was still open after `limitMillis`. */
function closeTime(socket: net.Socket, limitMillis: number): Promise<{ millis: number | null; received: string }> {
  const started = Date.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ millis: null, received }), limitMillis);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ millis: Date.now() - started, received });
    });
  });
}

/** Polls until `probe` returns true, for at most `limitMillis`. */
async function waitFor(probe: () => Promise<boolean>, limitMillis: number): Promise<boolean> {
  const deadline = Date.now() + limitMillis;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return probe();
}

const connections = (server: { server: import('node:http').Server }) =>
  new Promise<number>((resolve, reject) => server.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));

describe('slow clients', () => {
  it('destroys the connections of clients that trickle header bytes past the headers timeout', async () => {
    const server = await startTestServer({ headersTimeoutMillis: 300 });
    const clients = await Promise.all(Array.from({ length: 30 }, () => connect(server.port)));
    const closes = clients.map((socket) => closeTime(socket, 10_000));
    for (const socket of clients) socket.write(`GET ${kvs} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
    // One header byte every 50 ms, never the end of the headers, and on after the server's answer.
    const drip = setInterval(() => {
      for (const socket of clients) if (!socket.destroyed && socket.writable) socket.write('x');
    }, 50);
    try {
      const results = await Promise.all(closes);
      for (const { millis, received } of results) {
        // Closed for good (not half-closed) within a bound: timeout + check interval + margin.
        expect(millis).not.toBeNull();
        expect(millis!).toBeLessThan(5000);
        expect(received).not.toContain('200 OK');
        if (received) expect(received).toMatch(/^HTTP\/1\.1 408 /);
      }
    } finally {
      clearInterval(drip);
      for (const socket of clients) socket.destroy();
    }
    // The server holds none of them any more.
    expect(await waitFor(async () => (await connections(server)) === 0, 5000)).toBe(true);
    expect((await raw(server, 'GET', kvs)).status).toBe(200);
  });

  it('destroys a half-sent body past the request timeout, even while the client keeps sending', async () => {
    const server = await startTestServer({ requestTimeoutMillis: 500, headersTimeoutMillis: 300 });
    const id = await createStore(server, 'slow');
    const socket = await connect(server.port);
    const closed = closeTime(socket, 10_000);
    socket.write(`PUT ${kvs}/${id}/records/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n`);
    const drip = setInterval(() => !socket.destroyed && socket.writable && socket.write('x'), 50);
    try {
      const { millis, received } = await closed;
      expect(millis).not.toBeNull();
      // Cut by the request timeout, not answered before it.
      expect(millis!).toBeGreaterThanOrEqual(400);
      expect(millis!).toBeLessThan(5000);
      expect(received).not.toContain('201 Created');
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect(await waitFor(async () => (await connections(server)) === 0, 5000)).toBe(true);
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).status).toBe(404);
  });
});

describe('connections per client address', () => {
  it('closes connections of one address beyond the limit as they arrive, and serves other addresses', async () => {
    const server = await startTestServer({ maxConnectionsPerAddress: 3 });
    const held = await Promise.all([1, 2, 3].map(() => connect(server.port)));
    const extra = await connect(server.port, '127.0.0.1', false);
    const refused = await closeTime(extra, 5000);
    expect(refused.millis).not.toBeNull();
    expect(refused.received).toBe('');
    // The held ones are served.
    const answered = new Promise<string>((resolve) => held[0]!.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    held[0]!.write(`GET ${kvs} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    expect(await answered).toContain('200 OK');
    // Another client address is not affected (127.0.0.0/8 is all loopback on Linux).
    if (process.platform === 'linux') {
      const other = await connect(server.port, '127.0.0.2');
      const otherAnswer = new Promise<string>((resolve) => other.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
      other.write(`GET ${kvs} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(await otherAnswer).toContain('200 OK');
      other.destroy();
    }
    // Once one of the address's connections ends, it may open another.
    held[1]!.destroy();
    expect(await waitFor(async () => (await raw(server, 'GET', kvs).then((r) => r.status, () => 0)) === 200, 5000)).toBe(true);
    for (const socket of held) socket.destroy();
    expect(await waitFor(async () => (await connections(server)) === 0, 5000)).toBe(true);
  });

  it('takes the limit from --max-connections-per-address (0 turns it off) and refuses bad values', async () => {
    expect(parseServeArgs(['--max-connections-per-address', '8']).maxConnectionsPerAddress).toBe(8);
    expect(parseServeArgs(['--max-connections-per-address', '0']).maxConnectionsPerAddress).toBe(0);
    expect(parseServeArgs([]).maxConnectionsPerAddress).toBeUndefined();
    expect(() => parseServeArgs(['--max-connections-per-address', '-1'])).toThrow(/--max-connections-per-address/);
    await expect(startTestServer({ maxConnectionsPerAddress: 1.5 })).rejects.toThrow(/maxConnectionsPerAddress/);
  });
});

describe('connection cap from the open-files limit', () => {
  it('reads the soft limit from /proc/self/limits, and nothing where it is missing or unlimited', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'limits');
    await fsp.writeFile(
      file,
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
        'Max processes             63455                63455                processes \n' +
        'Max open files            64                   4096                 files     \n',
    );
    expect(openFilesLimit(file)).toBe(64);
    await fsp.writeFile(file, 'Max open files            unlimited            unlimited            files     \n');
    expect(openFilesLimit(file)).toBeUndefined();
    expect(openFilesLimit(path.join(dir, 'missing'))).toBeUndefined();
    if (process.platform === 'linux') expect(openFilesLimit()).toBeGreaterThan(0);
  });

  it('leaves descriptors for files: a small limit gives a small cap, a large one the default', () => {
    expect(connectionCapFor(64)).toBeLessThanOrEqual(16);
    expect(connectionCapFor(64)).toBeGreaterThanOrEqual(4);
    expect(connectionCapFor(20)).toBe(1);
    expect(connectionCapFor(1024)).toBeLessThan(512);
    expect(connectionCapFor(1_000_000)).toBe(1000);
    expect(connectionCapFor(undefined)).toBe(1000);
    // Every cap leaves at least half of the descriptors to files and the process itself.
    for (const limit of [64, 128, 256, 1024, 4096]) expect(connectionCapFor(limit)).toBeLessThanOrEqual(limit / 2);
    // An explicit cap the limit cannot carry is lowered, with a note saying why; the default silently.
    expect(resolveConnectionCap(500, 256)).toMatchObject({ cap: connectionCapFor(256), note: expect.stringMatching(/ulimit -n/) });
    expect(resolveConnectionCap(undefined, 256)).toEqual({ cap: connectionCapFor(256) });
    expect(resolveConnectionCap(10, 256)).toEqual({ cap: 10 });
  });
});
