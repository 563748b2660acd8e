/**
 * A server process with only 64 file descriptors, hit by 200 clients at once: no request hangs
 * (each is answered, refused with 503 + Retry-After, or its connection closed, within seconds),
 * nothing acknowledged is lost, and the server stays up and serves afterwards. The limit is set
 * with `ulimit -n` in the shell that starts the server (no root needed; `prlimit` does the same).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServerLauncher, makeTempDir, removeDir, sleep } from './support/server-process.js';

const FD_LIMIT = 64;
const CLIENTS = 200;
/** Longest any one request may take: "a few seconds". */
const REQUEST_BOUND_MILLIS = 5000;

let work: string;
let launcher: string;
beforeAll(async () => {
  work = await makeTempDir('kv-fdlimit-');
  launcher = await buildServerLauncher(work);
}, 60_000);
afterAll(() => removeDir(work));

interface Outcome {
  status: number | null;
  error?: string;
  millis: number;
  retryAfter?: string;
  type?: string;
}

/** One request on a connection of its own; never waits past the bound (then reports a hang). */
function request(port: number, method: string, target: string, body?: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, agent: false, headers: body ? { 'Content-Type': 'text/plain' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', (error) => resolve({ status: null, error: error.message, millis: Date.now() - started }));
      res.on('end', () => {
        let type: string | undefined;
        try {
          type = (JSON.parse(text) as { error?: { type?: string } }).error?.type;
        } catch {
          type = undefined;
        }
        resolve({ status: res.statusCode!, millis: Date.now() - started, retryAfter: res.headers['retry-after'], type });
      });
    });
    req.setTimeout(REQUEST_BOUND_MILLIS * 3, () => req.destroy(new Error('hung')));
    req.on('error', (error) => resolve({ status: null, error: error.message, millis: Date.now() - started }));
    req.end(body);
  });
}

async function startLimited(storageDir: string): Promise<{ proc: ChildProcess; port: number; output: () => string }> {
  const proc = spawn('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, launcher, '--port', '0', '--storage-dir', storageDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  for (let i = 0; i < 400; i++) {
    const match = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (match) return { proc, port: Number(match[1]), output: () => out };
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not start: ${out}`);
}

describe(`a server limited to ${FD_LIMIT} descriptors`, () => {
  it(`answers ${CLIENTS} concurrent clients within seconds, loses nothing acknowledged, and stays up`, async () => {
    const storageDir = path.join(work, 'storage');
    const server = await startLimited(storageDir);
    try {
      const limits = await import('node:fs').then((fs) => fs.promises.readFile(`/proc/${server.proc.pid}/limits`, 'latin1').catch(() => ''));
      if (limits) expect(limits).toMatch(new RegExp(`Max open files\\s+${FD_LIMIT}\\s`));
      const created = await request(server.port, 'POST', '/v2/key-value-stores?name=crowd');
      expect(created.status).toBe(201);

      const outcomes = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) =>
          i % 2 === 0
            ? request(server.port, 'PUT', `/v2/key-value-stores/~crowd/records/k${i}`, `value ${i}`).then((o) => ({ ...o, key: `k${i}` }))
            : request(server.port, 'GET', '/v2/key-value-stores/~crowd/keys').then((o) => ({ ...o, key: undefined })),
        ),
      );
      const slowest = Math.max(...outcomes.map((o) => o.millis));
      const hung = outcomes.filter((o) => o.error === 'hung' || o.millis > REQUEST_BOUND_MILLIS);
      expect(hung, `slowest ${slowest} ms`).toEqual([]);
      for (const outcome of outcomes) {
        if (outcome.status === null) continue; // closed at the connection cap: the client sees it at once
        if (outcome.status === 503) {
          expect(outcome.type).toBe('storage-unavailable');
          expect(outcome.retryAfter).toBe('1');
        } else {
          expect([200, 201]).toContain(outcome.status);
        }
      }
      const served = outcomes.filter((o) => o.status === 200 || o.status === 201).length;
      expect(served).toBeGreaterThan(0);

      // Still up; every acknowledged write is there.
      expect(server.proc.exitCode).toBeNull();
      let keys: Outcome & { items?: string[] } = { status: null, millis: 0 };
      for (let attempt = 0; attempt < 50 && keys.status !== 200; attempt++) {
        keys = await new Promise((resolve) => {
          http.get({ host: '127.0.0.1', port: server.port, path: '/v2/key-value-stores/~crowd/keys', agent: false }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c));
            res.on('end', () =>
              resolve({ status: res.statusCode!, millis: 0, items: res.statusCode === 200 ? (JSON.parse(text) as { data: { items: { key: string }[] } }).data.items.map((x) => x.key) : [] }),
            );
          }).on('error', () => resolve({ status: null, millis: 0 }));
        });
        if (keys.status !== 200) await sleep(100);
      }
      expect(keys.status).toBe(200);
      const acknowledged = outcomes.filter((o) => o.status === 201 && o.key).map((o) => o.key!);
      expect(keys.items).toEqual(expect.arrayContaining(acknowledged));
    } finally {
      server.proc.kill('SIGKILL');
    }
  }, 60_000);
});
