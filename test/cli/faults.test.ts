/**
 * push and pull through the API when things go wrong, through the built binary against the real
 * local server (behind a fault proxy where a fault must be injected): keep-going with an
 * unreadable file and a server fault, SIGINT / SIGTERM during a download, --timeout, and the
 * rule for where data goes.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { apiServerStorage, BIN, ensureBuilt, pseudoRandomBytes, removeTempDirs, runCli, tempDir } from './helpers.js';
import { startFaultProxy, type Fault, type FaultProxy } from './proxy.js';

const TOKEN = 'cli-faults-token-5a4b3c2d1e';
const SLOW = { timeout: 120_000 };
const BIG = 50 * 1024 * 1024;

let server: RunningServer;
let proxy: FaultProxy;
let client: ApifyClient;
let fault: (method: string, path: string) => Fault = () => null;

beforeAll(async () => {
  ensureBuilt();
  server = await startServer({ host: '127.0.0.1', port: 0, ...(await apiServerStorage()), token: TOKEN, logger: { warn() {}, error() {} } });
  proxy = await startFaultProxy(server.url, (method, p) => fault(method, p));
  client = new ApifyClient({ baseUrl: server.url, token: TOKEN });
}, 180_000);
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await removeTempDirs();
});

const apiCli = (args: string[], input?: string) => runCli([...args, '--api-url', proxy.url], { env: { APIFY_TOKEN: TOKEN }, input });

/** A file push cannot read: unreadable by mode, or (as root, who reads anything) a link to a file whose reads fail. */
async function makeUnreadable(file: string): Promise<void> {
  if (process.getuid?.() === 0) {
    await fsp.symlink('/proc/self/mem', file); // a regular file whose first read fails with EIO
  } else {
    await fsp.writeFile(file, 'secret');
    await fsp.chmod(file, 0o000);
  }
}

async function keysOf(store: string): Promise<string[]> {
  const info = await client.keyValueStores.getStore({ storeId: `local~${store}` });
  if (!info) return [];
  const page = await client.keyValueStores.listKeys({ storeId: info.id });
  return page.items.map((item: { key: string }) => item.key);
}

/** Waits (bounded) until `check` holds. */
async function waitFor(check: () => Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('keep going', () => {
  it('uploads the rest when one file cannot be read and the server fails one upload; exit 1 and a summary', SLOW, async () => {
    const src = await tempDir();
    for (const name of ['a.txt', 'b.txt', 'c.txt', 'fault.txt']) await fsp.writeFile(path.join(src, name), name);
    await makeUnreadable(path.join(src, 'locked.txt'));
    fault = (method, p) => (method === 'PUT' && p.endsWith('/records/fault.txt') ? { kind: 'status', status: 500 } : null);
    try {
      const result = await apiCli(['push', 'keepgoing', src, '--json', '--max-retries', '0']);
      expect(result.code).toBe(1);
      const summary = JSON.parse(result.out);
      expect(summary.exitCode).toBe(1);
      expect(summary.uploaded.map((f: { key: string }) => f.key)).toEqual(['a.txt', 'b.txt', 'c.txt']);
      expect(summary.failed.map((f: { file: string }) => f.file)).toEqual(['fault.txt', 'locked.txt']);
      expect(summary.failed[0].reason).toContain('500');
      expect(result.stderr).toMatch(/^failed fault\.txt: /m);
      expect(result.stderr).toMatch(/^failed locked\.txt: /m);
      expect(await keysOf('keepgoing')).toEqual(['a.txt', 'b.txt', 'c.txt']);

      // Mirror mode deletes nothing after a failure.
      await client.keyValueStores.putRecord({ storeId: `local~keepgoing`, key: 'extra.txt', body: 'x', contentType: 'text/plain' });
      const mirror = JSON.parse((await apiCli(['push', 'keepgoing', src, '--json', '--delete', '--max-retries', '0'])).out);
      expect(mirror.deleted).toEqual([]);
      expect(mirror.deleteNotDone).toMatch(/failed/);
      expect(await keysOf('keepgoing')).toContain('extra.txt');
    } finally {
      fault = () => null;
    }
  });
});

describe('interrupted downloads', () => {
  let storeId: string;
  beforeAll(async () => {
    const store = await client.keyValueStores.getOrCreateStore({ storeName: 'huge' });
    storeId = store.id;
    await client.keyValueStores.putRecord({ storeId, key: 'big.bin', body: pseudoRandomBytes(BIG, 9), contentType: 'application/octet-stream' });
    await client.keyValueStores.putRecord({ storeId, key: 'small.txt', body: 'small', contentType: 'text/plain; charset=utf-8' });
  }, 180_000);

  /** Starts the CLI with the big record's body stalled after 8 MB; resolves once a partial file holds bytes. */
  async function startStalled(args: string[], dest: string) {
    fault = (method, p) => (method === 'GET' && p.endsWith('/records/big.bin') ? { kind: 'stall', afterBytes: 8 * 1024 * 1024 } : null);
    const child = spawn(process.execPath, [BIN, ...args, '--api-url', proxy.url], {
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), APIFY_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(async () => {
      for (const name of await fsp.readdir(dest).catch(() => [] as string[])) {
        if (name.startsWith('.apify-kv-partial~') && (await fsp.stat(path.join(dest, name)).catch(() => null))?.size) return true;
      }
      return false;
    }, 'a partial file with bytes in it');
    return { child, exited, stderr: () => stderr };
  }

  it('SIGINT during a 50 MB pull leaves no partial file, and the next pull completes it', SLOW, async () => {
    const dest = path.join(await tempDir(), 'out');
    try {
      const run = await startStalled(['pull', 'huge', dest, '--concurrency', '1'], dest);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(130);
      const left = await fsp.readdir(dest);
      expect(left.filter((name) => name.startsWith('.apify-kv-partial~'))).toEqual([]);
      expect(left).not.toContain('big.bin');
    } finally {
      fault = () => null;
    }
    const again = await apiCli(['pull', 'huge', dest, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).downloaded.map((f: { key: string }) => f.key)).toContain('big.bin');
    expect((await fsp.stat(path.join(dest, 'big.bin'))).size).toBe(BIG);
    expect((await fsp.readdir(dest)).sort()).toEqual(['big.bin', 'small.txt']);
  });

  it('SIGTERM during get -o leaves neither the file nor a partial one', SLOW, async () => {
    const dest = await tempDir();
    try {
      const run = await startStalled(['get', 'huge', 'big.bin', '-o', path.join(dest, 'copy.bin')], dest);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(143);
      expect(await fsp.readdir(dest)).toEqual([]);
    } finally {
      fault = () => null;
    }
  });

  it('--timeout ends a request that stalls (exit 5)', SLOW, async () => {
    const dest = await tempDir();
    fault = (method, p) => (method === 'GET' && p.endsWith('/records/small.txt') ? { kind: 'stall', afterBytes: 0 } : null);
    try {
      const result = await apiCli(['get', 'huge', 'small.txt', '-o', path.join(dest, 's.txt'), '--timeout', '1', '--max-retries', '0']);
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/^apify-kv: Cannot reach the API: .*tim/i);
      expect(await fsp.readdir(dest)).toEqual([]);
    } finally {
      fault = () => null;
    }
  });
});

describe('where data goes', () => {
  it('a token alone keeps the CLI on local storage; APIFY_IS_AT_HOME or APIFY_API_BASE_URL selects the API', SLOW, async () => {
    const local = await tempDir();
    await client.keyValueStores.getOrCreateStore({ storeName: 'remote-only' });
    const tokenOnly = await runCli(['create', 'local-only', '--json'], { env: { APIFY_TOKEN: TOKEN, APIFY_LOCAL_STORAGE_DIR: local } });
    expect(tokenOnly.code).toBe(0);
    expect(existsSync(path.join(local, 'key_value_stores', 'local-only'))).toBe(true);
    expect(await keysOf('local-only')).toEqual([]);
    expect((await client.keyValueStores.getStore({ storeId: 'local~local-only' }))).toBeNull();

    const atHome = await runCli(['stores', '--json'], {
      env: { APIFY_TOKEN: TOKEN, APIFY_IS_AT_HOME: '1', APIFY_API_BASE_URL: server.url, APIFY_LOCAL_STORAGE_DIR: local },
    });
    expect(atHome.code).toBe(0);
    const names = JSON.parse(atHome.out).map((s: { name: string }) => s.name);
    expect(names).toContain('remote-only');
    expect(names).not.toContain('local-only');

    const both = await runCli(['stores', '--cloud', '--storage-dir', local]);
    expect(both.code).toBe(2);
  });
});
