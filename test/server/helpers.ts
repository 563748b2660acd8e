/** Shared test helpers: servers on port 0 with temp storage, raw HTTP, and storage-dir snapshots. */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

export async function tempDir(prefix = 'kv-server-'): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Where `startTestServer` keeps a server's data: a fresh temp folder, unless a test file
 * switches to another storage first (the S3 variants of the API suites do, see test/s3/).
 */
export interface TestStorage {
  kind: 'folder' | 's3';
  /** Server options that select a fresh, empty storage for one server. */
  fresh(): Promise<{ options: Partial<StartServerOptions>; snapshot: () => Promise<Record<string, string>> }>;
}

let testStorage: TestStorage | undefined;

/** Makes every later `startTestServer` in this test file run over the given storage. */
export function useTestStorage(storage: TestStorage): void {
  testStorage = storage;
}

/** The storage servers of this test file run on. */
export function testStorageKind(): TestStorage['kind'] {
  return testStorage?.kind ?? 'folder';
}

/**
 * Server options selecting a fresh storage of this test file's kind, for servers a test file
 * starts and closes itself; undefined on folder storage (the caller picks the folder).
 */
export async function freshTestStorageOptions(): Promise<Partial<StartServerOptions> | undefined> {
  return testStorage ? (await testStorage.fresh()).options : undefined;
}

export interface TestServer extends RunningServer {
  /** The storage folder (folder storage only). */
  storageDir: string;
  /** Every stored object with a digest of its body; store metadata by presence only. */
  snapshot(): Promise<Record<string, string>>;
  /** Options that start another server over this one's storage (a restart). */
  sameStorage: Partial<StartServerOptions>;
}

/** A server on 127.0.0.1:0 over a fresh temp dir (or the given one), closed after the test. */
export async function startTestServer(options: StartServerOptions = {}): Promise<TestServer> {
  const warnings: string[] = [];
  const base = { host: '127.0.0.1', port: 0, logger: { warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) } };
  if (testStorage && options.storageDir === undefined && options.storage === undefined) {
    const storage = await testStorage.fresh();
    const server = await startServer({ ...base, ...options, ...storage.options });
    cleanups.push(() => server.close());
    return Object.assign(server, { storageDir: '', snapshot: storage.snapshot, sameStorage: storage.options });
  }
  const storageDir = options.storageDir ?? (await tempDir());
  const server = await startServer({ ...base, ...options, storageDir });
  cleanups.push(() => server.close());
  return Object.assign(server, { storageDir, snapshot: () => snapshot(storageDir), sameStorage: { storageDir } });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: any;
}

/**
 * A request through node:http, which sends the path exactly as given (fetch would
 * normalize `..` and `%2e%2e` away before sending).
 */
export function raw(
  server: { port: number },
  method: string,
  rawPath: string,
  options: { headers?: Record<string, string | number>; body?: Buffer | string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path: rawPath, headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, body, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export const kvs = '/v2/key-value-stores';

/** Creates (or gets) a named store and returns its id. */
export async function createStore(server: { port: number }, name?: string, token?: string): Promise<string> {
  const res = await raw(server, 'POST', name ? `${kvs}?name=${name}` : kvs, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`create store failed: ${res.status} ${res.text}`);
  return res.json.data.id;
}

export async function putRecord(
  server: { port: number },
  storeId: string,
  key: string,
  body: string | Buffer,
  contentType = 'text/plain',
  token?: string,
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'Content-Type': contentType };
  if (token) headers.Authorization = `Bearer ${token}`;
  return raw(server, 'PUT', `${kvs}/${storeId}/records/${encodeURIComponent(key)}`, { headers, body });
}

/**
 * Every file under the dir with a digest of its contents. Store metadata files (which
 * record access times and counters) are listed by presence only.
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(current: string): Promise<void> {
    let entries;
    try {
      entries = await fsp.readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out[`${rel}/`] = 'dir';
        await walk(full);
      } else if (entry.name === '__metadata__.json') {
        out[rel] = 'present';
      } else {
        out[rel] = createHash('sha256').update(await fsp.readFile(full)).digest('hex');
      }
    }
  }
  await walk(dir);
  return out;
}

export function expectError(res: RawResponse, status: number, type: string): void {
  if (res.status !== status || res.json?.error?.type !== type) {
    throw new Error(`expected ${status} ${type}, got ${res.status} ${res.text}`);
  }
  if (typeof res.json.error.message !== 'string' || res.json.error.message === '') {
    throw new Error('error message missing');
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
