/**
 * The server as a separate process: graceful shutdown on SIGTERM, and kill -9 during
 * concurrent writes with every acknowledged write intact after a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServerLauncher } from '../reliability/support/server-process.js';
import { createStore, kvs, putRecord, raw, sleep, tempDir } from './helpers.js';

let launcher: string;

let launcherDir: string;

afterAll(async () => {
  if (launcherDir) await fsp.rm(launcherDir, { recursive: true, force: true });
});

beforeAll(async () => {
  // Made here, not with tempDir(): that one is removed after each test.
  launcherDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-launcher-'));
  launcher = await buildServerLauncher(launcherDir);
}, 60_000);

interface Child {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  exited: Promise<number | null>;
}

async function spawnServer(storageDir: string, extra: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [launcher, '--host', '127.0.0.1', '--port', '0', '--storage-dir', storageDir, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 200; i++) {
    const match = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (match) return { proc, port: Number(match[1]), stdout: () => out, exited };
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not start: ${out} ${err}`);
}

/** Deterministic content for a key and version, of a size between ~100 B and ~200 KB. */
function contentFor(key: string, version: number): Buffer {
  const seed = createHash('sha256').update(`${key}:${version}`).digest();
  const size = 100 + (seed.readUInt32BE(0) % (seed[4]! % 4 === 0 ? 200_000 : 2_000));
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += seed.length) seed.copy(out, i, 0, Math.min(seed.length, size - i));
  return out;
}

describe('server process', () => {
  it('prints its real URL and, on SIGTERM, finishes the write in flight before exiting 0', async () => {
    const storageDir = await tempDir();
    const child = await spawnServer(storageDir);
    expect(child.stdout()).toMatch(/^Listening on http:\/\/127\.0\.0\.1:\d+\n/);
    const server = { port: child.port };
    const id = await createStore(server, 'graceful');

    // Start an upload, send half, signal, then send the rest.
    const body = Buffer.alloc(200_000, 9);
    const response = new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: child.port,
        method: 'PUT',
        path: `${kvs}/${id}/records/in-flight`,
        headers: { 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' },
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(body.subarray(0, 100_000), () => {
        setTimeout(() => {
          child.proc.kill('SIGTERM');
          setTimeout(() => req.end(body.subarray(100_000)), 200);
        }, 100);
      });
    });
    expect(await response).toBe(201);
    expect(await child.exited).toBe(0);

    const again = await spawnServer(storageDir);
    try {
      const got = await raw({ port: again.port }, 'GET', `${kvs}/${id}/records/in-flight`);
      expect(got.body.equals(body)).toBe(true);
    } finally {
      again.proc.kill('SIGKILL');
      await again.exited;
    }
  });

  it('after kill -9 during concurrent writes, every acknowledged write is readable and intact', async () => {
    const storageDir = await tempDir();
    const acked = new Map<string, number>(); // key -> last acknowledged version
    const inFlight = new Map<string, number>(); // key -> version being written when killed
    let storeId = '';

    for (let round = 0; round < 3; round++) {
      const child = await spawnServer(storageDir);
      const server = { port: child.port };
      if (!storeId) storeId = await createStore(server, 'crash');

      // Check what survived the previous kill.
      for (const [key, version] of acked) {
        const got = await raw(server, 'GET', `${kvs}/${storeId}/records/${key}`);
        const candidates = [version, inFlight.get(key)].filter((v): v is number => v !== undefined);
        expect(got.status, key).toBe(200);
        expect(candidates.some((v) => contentFor(key, v).equals(got.body)), `${key} intact`).toBe(true);
        const matched = candidates.find((v) => contentFor(key, v).equals(got.body))!;
        acked.set(key, matched);
      }
      for (const [key, version] of inFlight) {
        if (acked.has(key)) continue;
        const got = await raw(server, 'GET', `${kvs}/${storeId}/records/${key}`);
        if (got.status === 200) expect(contentFor(key, version).equals(got.body)).toBe(true);
        else expect(got.status).toBe(404);
      }
      inFlight.clear();
      const listed = await raw(server, 'GET', `${kvs}/${storeId}/keys`);
      for (const item of listed.json.data.items) expect(item.key).toMatch(/^w\d+-\d+$/);

      // Eight writers, each rewriting its own keys with new versions, until the kill.
      let stop = false;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let n = 0; !stop; n++) {
          const key = `w${w}-${n % 5}`;
          const version = (acked.get(key) ?? 0) + 1 + round * 1000 + n;
          inFlight.set(key, version);
          try {
            const res = await putRecord(server, storeId, key, contentFor(key, version), 'application/octet-stream');
            if (res.status === 201) {
              acked.set(key, version);
              inFlight.delete(key);
            }
          } catch {
            return; // connection cut by the kill: this write was never acknowledged
          }
        }
      });
      await sleep(400 + round * 200);
      child.proc.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await child.exited;
    }
    expect(acked.size).toBeGreaterThanOrEqual(20);

    const last = await spawnServer(storageDir);
    try {
      for (const [key, version] of acked) {
        const got = await raw({ port: last.port }, 'GET', `${kvs}/${storeId}/records/${key}`);
        const candidates = [version, inFlight.get(key)].filter((v): v is number => v !== undefined);
        expect(candidates.some((v) => contentFor(key, v).equals(got.body)), `${key} intact`).toBe(true);
      }
    } finally {
      last.proc.kill('SIGKILL');
      await last.exited;
    }
  }, 60_000);
});
