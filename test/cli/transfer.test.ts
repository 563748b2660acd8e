/**
 * push and pull of a folder of mixed files, on local storage and through the API of a local
 * server, plus auth and network failures and `serve`, all through the built binary.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { apiServerStorage, BIN, ensureBuilt, pseudoRandomBytes, removeTempDirs, runCli, tempDir, type RunResult } from './helpers.js';

const TOKEN = 'cli-transfer-token-9f8e7d6c5b4a';

/** The mixed folder: name -> [bytes, content type push must give it]. */
function mixedFiles(): Record<string, [Buffer, string]> {
  return {
    'data.json': [Buffer.from('{"items":[1,2,3],"name":"ü"}\n'), 'application/json; charset=utf-8'],
    'notes.txt': [Buffer.from('line one\nline two\n'), 'text/plain; charset=utf-8'],
    'pixel.png': [Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pseudoRandomBytes(5000, 3)]), 'image/png'],
    'big.bin': [pseudoRandomBytes(9 * 1024 * 1024 + 123_457, 5), 'application/octet-stream'],
    README: [Buffer.from('no extension'), 'application/octet-stream'],
  };
}

async function writeFolder(dir: string, files: Record<string, [Buffer, string]>): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  for (const [name, [bytes]] of Object.entries(files)) await fsp.writeFile(path.join(dir, name), bytes);
}

async function expectSameFolder(dir: string, files: Record<string, [Buffer, string]>): Promise<void> {
  expect((await fsp.readdir(dir)).sort()).toEqual(Object.keys(files).sort());
  for (const [name, [bytes]] of Object.entries(files)) {
    expect((await fsp.readFile(path.join(dir, name))).equals(bytes), name).toBe(true);
  }
}

type Cli = (args: string[], input?: string) => Promise<RunResult>;

/** Push, re-push, pull, re-pull and a second-generation push, checking content types with `typeOf`. */
function transferSuite(setup: () => Promise<{ cli: Cli; typeOf: (store: string, key: string) => Promise<string | null> }>) {
  let cli: Cli;
  let typeOf: (store: string, key: string) => Promise<string | null>;
  const files = mixedFiles();

  beforeAll(async () => {
    ({ cli, typeOf } = await setup());
  });

  it('pushes a folder, skips what is unchanged, and pulls it back byte for byte', { timeout: 120_000 }, async () => {
    const src = await tempDir();
    await writeFolder(src, files);
    await fsp.writeFile(path.join(src, 'bad name.txt'), 'x');
    await fsp.mkdir(path.join(src, 'nested'));

    const first = await cli(['push', 'batch', src]);
    // Skipped files make the exit code 2, as aws s3 sync does; the rest is uploaded.
    expect(first.code).toBe(2);
    expect(first.stderr).toContain('skipped bad name.txt: not a valid record key');
    expect(first.stderr).toContain('skipped nested: a folder: keys cannot contain "/"');
    for (const name of Object.keys(files)) expect(first.out).toMatch(new RegExp(`^uploaded ${name} \\(`, 'm'));
    expect(first.out).toMatch(/5 uploaded, 0 unchanged, 0 deleted, 2 skipped, 0 failed\.\n$/);
    for (const [name, [, type]] of Object.entries(files)) expect(await typeOf('batch', name), name).toBe(type);

    // A re-run uploads nothing.
    const second = await cli(['push', 'batch', src, '--json']);
    expect(second.code).toBe(2); // the same two files are still skipped
    const summary = JSON.parse(second.out);
    expect(summary.exitCode).toBe(2);
    expect(summary.skipped.map((s: { file: string }) => s.file)).toEqual(['bad name.txt', 'nested']);
    expect(summary.uploaded).toEqual([]);
    expect(summary.unchanged.map((f: { key: string }) => f.key).sort()).toEqual(Object.keys(files).sort());

    // A changed file (same size) and a new one are the only uploads.
    await fsp.writeFile(path.join(src, 'notes.txt'), 'LINE ONE\nline two\n');
    await fsp.writeFile(path.join(src, 'extra.json'), '[]');
    const third = JSON.parse((await cli(['push', 'batch', src, '--json', '--concurrency', '2'])).out);
    expect(third.uploaded.map((f: { key: string }) => f.key).sort()).toEqual(['extra.json', 'notes.txt']);
    await fsp.writeFile(path.join(src, 'notes.txt'), files['notes.txt']![0]);
    await fsp.rm(path.join(src, 'extra.json'));
    await cli(['push', 'batch', src]);
    await cli(['rm', 'batch', 'extra.json']);

    const keys = await cli(['keys', 'batch']);
    expect(keys.out.trim().split('\n')).toEqual(Object.keys(files).sort());
    const one = await cli(['get', 'batch', 'pixel.png']);
    expect(one.stdout.equals(files['pixel.png']![0])).toBe(true);

    const dest = path.join(await tempDir(), 'out');
    const pulled = await cli(['pull', 'batch', dest]);
    expect(pulled.code).toBe(0);
    expect(pulled.out).toMatch(/5 downloaded, 0 unchanged, 0 deleted, 0 skipped, 0 failed\.\n$/);
    await expectSameFolder(dest, files);

    const again = JSON.parse((await cli(['pull', 'batch', dest, '--json'])).out);
    expect(again.downloaded).toEqual([]);
    expect(again.unchanged).toHaveLength(5);

    // The pulled folder pushed to another store gives the same records and content types.
    expect((await cli(['push', 'copy', dest])).code).toBe(0);
    for (const [name, [, type]] of Object.entries(files)) expect(await typeOf('copy', name), name).toBe(type);
    const dest2 = await tempDir();
    await cli(['pull', 'copy', dest2]);
    await expectSameFolder(dest2, files);
  });

  it('uploads again a record with the same bytes but another content type', async () => {
    const dir = await tempDir();
    await fsp.writeFile(path.join(dir, 'page.html'), '<p>x</p>');
    expect((await cli(['put', 'types', 'page.html', '--content-type', 'text/plain'], '<p>x</p>')).code).toBe(0);
    const summary = JSON.parse((await cli(['push', 'types', dir, '--json'])).out);
    expect(summary.uploaded.map((f: { key: string }) => f.key)).toEqual(['page.html']);
    expect(await typeOf('types', 'page.html')).toBe('text/html; charset=utf-8');
  });

  it('names pulled records whose key lacks their extension KEY~.EXT, and pushes them back to KEY', { timeout: 120_000 }, async () => {
    expect((await cli(['put', 'typed', 'INPUT', '--content-type', 'application/json; charset=utf-8'], '{"a":1}')).code).toBe(0);
    expect((await cli(['put', 'typed', 'shot', '--content-type', 'image/png'], 'png-ish')).code).toBe(0);
    expect((await cli(['put', 'typed', 'table.txt', '--content-type', 'text/csv; charset=utf-8'], 'a,b\n')).code).toBe(0);
    const dir = await tempDir();
    const pulled = await cli(['pull', 'typed', dir]);
    expect(pulled.out).toContain('downloaded INPUT as INPUT~.json');
    expect((await fsp.readdir(dir)).sort()).toEqual(['INPUT~.json', 'shot~.png', 'table.txt~.csv']);

    expect((await cli(['push', 'typed-copy', dir])).code).toBe(0);
    expect((await cli(['keys', 'typed-copy'])).out).toBe('INPUT\nshot\ntable.txt\n');
    expect(await typeOf('typed-copy', 'INPUT')).toBe('application/json; charset=utf-8');
    expect(await typeOf('typed-copy', 'shot')).toBe('image/png');
    expect(await typeOf('typed-copy', 'table.txt')).toBe('text/csv; charset=utf-8');
    expect((await cli(['get', 'typed-copy', 'INPUT'])).out).toBe('{"a":1}');
  });
}

beforeAll(() => ensureBuilt(), 180_000);
afterAll(removeTempDirs);

describe('push and pull on local storage', () => {
  transferSuite(async () => {
    const storageDir = await tempDir();
    const cli: Cli = (args, input) => runCli(args, { env: { APIFY_LOCAL_STORAGE_DIR: storageDir }, input });
    const { FileStorage, LOCAL_USER } = await import('../../src/storage/index.js');
    const typeOf = async (store: string, key: string) => {
      const storage = new FileStorage({ storageDir });
      await storage.open();
      try {
        const info = await storage.getStore(store, LOCAL_USER);
        return (info && (await storage.getRecord(info.id, key)))?.contentType ?? null;
      } finally {
        await storage.close();
      }
    };
    return { cli, typeOf };
  });
});

describe('push and pull through the API (--api-url)', () => {
  let server: RunningServer;
  afterAll(() => server?.close());

  transferSuite(async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      ...(await apiServerStorage()),
      token: TOKEN,
      logger: { warn: () => {}, error: () => {} },
    });
    // The local storage dir is set too, to show --api-url wins over it.
    const localDir = await tempDir();
    const cli: Cli = (args, input) =>
      runCli([...args, '--api-url', server.url], { env: { APIFY_TOKEN: TOKEN, APIFY_LOCAL_STORAGE_DIR: localDir }, input });
    const client = new ApifyClient({ baseUrl: server.url, token: TOKEN });
    const typeOf = async (store: string, key: string) => {
      const info = await client.keyValueStores.getStore({ storeId: `local~${store}` });
      const record = info && (await client.keyValueStores.getRecord({ storeId: info.id, key, disableBodyParser: true }));
      return record ? record.contentType : null;
    };
    return { cli, typeOf };
  });

  it('uses APIFY_API_BASE_URL when --api-url is not given, and never prints the token on auth failure', async () => {
    const ok = await runCli(['stores', '--json'], { env: { APIFY_API_BASE_URL: server.url, APIFY_TOKEN: TOKEN } });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).map((s: { name: string }) => s.name)).toContain('batch');

    const wrong = 'wrong-token-1234567890abcdef';
    for (const result of [
      await runCli(['stores'], { env: { APIFY_API_BASE_URL: server.url, APIFY_TOKEN: wrong } }),
      await runCli(['keys', 'batch', '--api-url', server.url, '--token', wrong]),
    ]) {
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/^apify-kv: Authentication failed \(401/);
      expect(result.stderr).not.toContain(wrong);
      expect(result.stderr).not.toContain(TOKEN);
      expect(result.out).toBe('');
    }
    // Without a token, a private store answers as a missing one does (the server does not tell
    // anonymous callers which stores exist).
    const anonymous = await runCli(['get', 'batch', 'README', '--api-url', server.url]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/not found/i);
    expect(anonymous.stderr).not.toContain(TOKEN);
    expect(anonymous.out).toBe('');
  });

  it('re-runs a push with HEAD requests alone: no record body is downloaded', async () => {
    const src = await tempDir();
    await writeFolder(src, {
      'data.json': [Buffer.from('{"a":1}'), ''],
      'notes.txt': [Buffer.from('some text\n'), ''],
      'blob.bin': [pseudoRandomBytes(70_000, 21), ''],
    });
    const push = () => runCli(['push', 'heads', src, '--json', '--api-url', server.url], { env: { APIFY_TOKEN: TOKEN } });
    expect((await push()).code).toBe(0);

    const recordRequests: string[] = [];
    const onRequest = (req: IncomingMessage) => {
      if (req.url?.includes('/records/')) recordRequests.push(`${req.method} ${req.url}`);
    };
    server.server.on('request', onRequest);
    let again: RunResult;
    try {
      again = await push();
    } finally {
      server.server.off('request', onRequest);
    }
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.out);
    expect(summary.uploaded).toEqual([]);
    expect(summary.unchanged.map((f: { key: string }) => f.key).sort()).toEqual(['blob.bin', 'data.json', 'notes.txt']);
    expect(recordRequests).toHaveLength(3);
    expect(recordRequests.filter((request) => !request.startsWith('HEAD '))).toEqual([]);
  });

  it('round-trips binary stdin to stdout byte for byte, also over 9 MiB', async () => {
    const env = { APIFY_API_BASE_URL: server.url, APIFY_TOKEN: TOKEN };
    for (const bytes of [pseudoRandomBytes(70_000, 11), pseudoRandomBytes(9 * 1024 * 1024 + 10, 12)]) {
      const put = await runCli(['put', 'pipes', 'blob'], { env, input: bytes });
      expect(put.code).toBe(0);
      const get = await runCli(['get', 'pipes', 'blob'], { env });
      expect(get.code).toBe(0);
      expect(get.stdout.length).toBe(bytes.length);
      expect(get.stdout.equals(bytes)).toBe(true);
    }
  });

  it('exits 5 when the API cannot be reached after retries', async () => {
    const closed = await startServer({ host: '127.0.0.1', port: 0, storageDir: await tempDir(), logger: { warn: () => {} } });
    const url = closed.url;
    await closed.close();
    const result = await runCli(['keys', 'batch', '--api-url', url, '--max-retries', '1'], { env: { APIFY_TOKEN: TOKEN } });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^apify-kv: Cannot reach the API: Network error: .*ECONNREFUSED.*attempt 2\)/);
    expect(result.stderr).not.toContain(TOKEN);
  });
});

describe('apify-kv serve', () => {
  it('starts the server, which the other commands can use, and stops on SIGTERM', async () => {
    const storageDir = await tempDir();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--storage-dir', storageDir], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      expect((await runCli(['put', 'served', 'k', '--api-url', url], { input: 'v' })).code).toBe(0);
      expect((await runCli(['get', 'served', 'k', '--api-url', url])).out).toBe('v');
      // It wrote into the storage dir it was given: the local CLI sees the record too.
      const local = await runCli(['get', 'served', 'k', '--storage-dir', storageDir]);
      expect(local.stderr).toBe('');
      expect(local.out).toBe('v');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
