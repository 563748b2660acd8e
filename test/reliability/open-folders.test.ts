/**
 * A server process limited to 256 descriptors (`prlimit --nofile`), writing one record into
 * each of 300 stores and then reading them all back: every request succeeds, and the folders
 * it keeps open for fsyncs stay within the bound of open folders (an eighth of the limit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServerLauncher, makeTempDir, removeDir, sleep } from './support/server-process.js';

const FD_LIMIT = 256;
const STORES = 300;
/** The default bound on open folders under this limit: an eighth of it. */
const FOLDER_BOUND = FD_LIMIT / 8;

let work: string;
let launcher: string;
beforeAll(async () => {
  work = await makeTempDir('kv-open-folders-');
  launcher = await buildServerLauncher(work);
}, 60_000);
afterAll(() => removeDir(work));

function request(port: number, method: string, target: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: body === undefined ? {} : { 'Content-Type': 'text/plain' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function startLimited(storageDir: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, launcher, '--host', '127.0.0.1', '--port', '0', '--storage-dir', storageDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  for (let i = 0; i < 600; i++) {
    const match = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (match) return { proc, port: Number(match[1]) };
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not start: ${out}`);
}

/** Descriptors of process `pid` that are open folders. */
async function openFolders(pid: number): Promise<string[]> {
  const fds = await fsp.readdir(`/proc/${pid}/fd`);
  const folders: string[] = [];
  for (const fd of fds) {
    const link = `/proc/${pid}/fd/${fd}`;
    const stats = await fsp.stat(link).catch(() => undefined);
    if (stats?.isDirectory()) folders.push(await fsp.readlink(link).catch(() => '?'));
  }
  return folders;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe.runIf(process.platform === 'linux')(`a server limited to ${FD_LIMIT} descriptors`, () => {
  it(`writes to ${STORES} stores and reads them all back, with at most ${FOLDER_BOUND} folders open`, async () => {
    const server = await startLimited(path.join(work, 'storage'));
    try {
      const limits = await fsp.readFile(`/proc/${server.proc.pid}/limits`, 'latin1');
      expect(limits).toMatch(new RegExp(`Max open files\\s+${FD_LIMIT}\\s`));
      const names = Array.from({ length: STORES }, (_, i) => `store-${i}`);
      const failures: string[] = [];
      let mostFolders = 0;
      await inParallel(names, 4, async (name) => {
        const created = await request(server.port, 'POST', `/v2/key-value-stores?name=${name}`);
        if (created.status !== 201) failures.push(`create ${name}: ${created.status} ${created.text}`);
        const put = await request(server.port, 'PUT', `/v2/key-value-stores/~${name}/records/k`, `value of ${name}`);
        if (put.status !== 201) failures.push(`put ${name}: ${put.status} ${put.text}`);
        mostFolders = Math.max(mostFolders, (await openFolders(server.proc.pid!)).length);
      });
      expect(failures.slice(0, 5)).toEqual([]);

      await inParallel(names, 4, async (name) => {
        const got = await request(server.port, 'GET', `/v2/key-value-stores/~${name}/records/k`);
        if (got.status !== 200 || got.text !== `value of ${name}`) failures.push(`get ${name}: ${got.status} ${got.text}`);
      });
      expect(failures.slice(0, 5)).toEqual([]);
      expect(server.proc.exitCode).toBeNull();

      // Idle, only the kept folders are open. Background work started by the last requests (a
      // metadata save's fsync, the close of a folder the pool let go) may still hold one for a
      // moment: wait, bounded, for the server to settle.
      let folders = await openFolders(server.proc.pid!);
      for (let i = 0; i < 100 && folders.length > FOLDER_BOUND; i++) {
        await sleep(100);
        folders = await openFolders(server.proc.pid!);
      }
      expect(folders.length, folders.join('\n')).toBeLessThanOrEqual(FOLDER_BOUND);
      expect(folders.length).toBeGreaterThan(0);
      // Besides the kept ones, each of the 4 requests in flight may hold up to two folders open
      // for a moment (a new store syncs its staging folder, then key_value_stores; a listing).
      expect(mostFolders).toBeLessThanOrEqual(FOLDER_BOUND + 8);
    } finally {
      server.proc.kill('SIGKILL');
    }
  }, 120_000);
});
