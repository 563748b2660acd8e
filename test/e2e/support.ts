/**
 * Browser tests run the real server on 127.0.0.1:0 and drive a headless Chromium through
 * playwright-core (which never downloads a browser of its own). The Chromium is, in this order:
 * `CHROMIUM_PATH`, the system's /usr/bin/chromium, or the one inside the @sparticuz/chromium
 * devDependency (Linux x64/arm64), unpacked once into the temp folder.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** `npm test` builds first; a bare `vitest run` builds only when a built file is missing. */
export function ensureBuilt(): void {
  const needed = [
    'dist/browser/apify-kv.min.js',
    'dist/browser/apify-kv.esm.js',
    'dist/web/index.html',
    'dist/web/storage-browser.js',
    'dist/server/index.js',
    'dist/server/index.cjs',
  ];
  if (needed.every((file) => existsSync(path.join(ROOT, file)))) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

/** Flags every Chromium gets: this machine may have no network, and Chromium's own calls home only slow it. */
const QUIET_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * @sparticuz/chromium's flags that would weaken what the tests check (CORS, CSP, mixed content),
 * that Playwright sets itself (headless mode), or that suit one page per browser but not tests
 * (a single-process browser exits when its first context closes).
 */
const UNWANTED_PACKAGED_FLAGS =
  /^--(disable-web-security|allow-running-insecure-content|disable-site-isolation-trials|headless|single-process)/;

const HOW_TO_SET = 'Set CHROMIUM_PATH to a Chromium or Chrome executable (e.g. on macOS ' +
  '"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome") and run the tests again.';

/** Where the Chromium comes from, and the flags it needs. */
export async function findChromium(): Promise<{ executablePath: string; args: string[]; source: string }> {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is ${fromEnv}, which does not exist. ${HOW_TO_SET}`);
    return { executablePath: fromEnv, args: QUIET_FLAGS, source: 'CHROMIUM_PATH' };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, args: QUIET_FLAGS, source: SYSTEM_CHROMIUM };
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    throw new Error(
      `No Chromium for the browser tests: @sparticuz/chromium ships one for Linux x64/arm64 only ` +
        `(this is ${process.platform}/${process.arch}) and ${SYSTEM_CHROMIUM} is absent. ${HOW_TO_SET}`,
    );
  }
  const packaged = (await import('@sparticuz/chromium')).default;
  const executablePath = await withUnpackLock(() => packaged.executablePath());
  const args = [...packaged.args.filter((flag) => !UNWANTED_PACKAGED_FLAGS.test(flag)), ...QUIET_FLAGS];
  return { executablePath, args: [...new Set(args)], source: '@sparticuz/chromium' };
}

/**
 * @sparticuz/chromium unpacks into the temp folder and treats a file that exists as unpacked, so
 * two test files unpacking at once could launch a half-written binary. One unpacks at a time: a
 * lock folder holding the unpacking process's id (a lock whose process is gone is left over from
 * a killed run). Unpacking takes seconds, or a minute on a loaded machine.
 */
async function withUnpackLock<T>(unpack: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), 'apify-kv-chromium-unpack.lock');
  const owner = path.join(lock, 'pid');
  const deadline = Date.now() + 540_000;
  for (;;) {
    try {
      await fsp.mkdir(lock);
      await fsp.writeFile(owner, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await lockIsStale(lock, owner)) await fsp.rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`Waited 9 minutes for another process to unpack Chromium (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await unpack();
  } finally {
    await fsp.rm(lock, { recursive: true, force: true });
  }
}

/** A lock whose process has exited, or one that never got its process id (after 10 s). */
async function lockIsStale(lock: string, owner: string): Promise<boolean> {
  const pid = Number(await fsp.readFile(owner, 'utf8').catch(() => ''));
  if (!pid) return fsp.stat(lock).then((s) => Date.now() - s.mtimeMs > 10_000, () => false);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A missing browser fails the suite, it is never skipped. */
export async function launchChromium(): Promise<Browser> {
  const { executablePath, args, source } = await findChromium();
  try {
    // launch() gives every browser a fresh temporary profile.
    return await chromium.launch({ executablePath, args });
  } catch (err) {
    const partial =
      source === '@sparticuz/chromium' ? ` If a run was stopped while it unpacked, delete ${executablePath} so it is unpacked again.` : '';
    throw new Error(`Chromium from ${source} (${executablePath}) did not start.${partial} ${HOW_TO_SET}`, { cause: err });
  }
}

export interface TestServer extends RunningServer {
  storageDir: string;
  /** Removes the server and its storage. */
  dispose(): Promise<void>;
}

export async function startTestServer(options: StartServerOptions = {}): Promise<TestServer> {
  const storageDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-e2e-'));
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: { warn: () => {}, error: () => {} },
    ...options,
    storageDir,
  });
  return Object.assign(server, {
    storageDir,
    dispose: async () => {
      await server.close();
      await fsp.rm(storageDir, { recursive: true, force: true });
    },
  });
}

/** One HTTP call to the API as a plain Node client would send it. */
export async function api(
  server: { url: string },
  method: string,
  apiPath: string,
  options: { body?: string | Buffer; contentType?: string; token?: string } = {},
): Promise<{ status: number; body: Buffer; json: () => any }> {
  const headers: Record<string, string> = {};
  if (options.contentType) headers['Content-Type'] = options.contentType;
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const body = typeof options.body === 'string' ? options.body : options.body && new Uint8Array(options.body);
  const res = await fetch(`${server.url}/v2/key-value-stores${apiPath}`, { method, headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body: bytes, json: () => JSON.parse(bytes.toString('utf8')) };
}

/** A store named `name`, created through the API; returns its id. */
export async function createStore(server: { url: string }, name: string, token?: string): Promise<string> {
  const res = await api(server, 'POST', `?name=${name}`, { token });
  if (res.status !== 201 && res.status !== 200) throw new Error(`creating store ${name}: HTTP ${res.status}`);
  return res.json().data.id as string;
}

export async function putRecord(
  server: { url: string },
  storeId: string,
  key: string,
  body: string | Buffer,
  contentType: string,
  token?: string,
): Promise<void> {
  const res = await api(server, 'PUT', `/${storeId}/records/${encodeURIComponent(key)}`, { body, contentType, token });
  if (res.status !== 201) throw new Error(`putting ${key}: HTTP ${res.status}`);
}

/**
 * Collects what would show that the page broke: uncaught exceptions and CSP violations. (Failed
 * requests also log console errors; the token tests cause some on purpose, so they are not counted.)
 */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
  });
  return problems;
}

/** A tiny static server on another loopback port, for pages that load the bundle from the API's origin. */
export async function startPageServer(pages: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const html = pages[req.url ?? ''];
    res.writeHead(html === undefined ? 404 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A small PNG with a colour gradient, built here so the browser has a real image to decode. */
export function makePng(width: number, height: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0, then RGB
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = Math.round((255 * x) / (width - 1));
      row[2 + x * 3] = Math.round((255 * y) / (height - 1));
      row[3 + x * 3] = 200;
    }
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])));
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
