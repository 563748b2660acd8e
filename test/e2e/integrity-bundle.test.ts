/**
 * The integrity add-on in a real browser: loaded beside the main bundle (IIFE or ES module), the
 * client sends Content-MD5 with its uploads and refuses a download whose body is not the MD5 its
 * ETag names. A route flips one byte of a record's body in transit, keeping the ETag; without
 * the add-on the same flip goes unnoticed.
 */
import { createHash } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, launchChromium, startPageServer, startTestServer, watchForProblems, type TestServer } from './support.js';

let browser: Browser;
let s: TestServer;
let pages: Awaited<ReturnType<typeof startPageServer>>;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  ensureBuilt();
  browser = await launchChromium();
  s = await startTestServer();
  pages = await startPageServer({
    '/iife.html': `<!doctype html><title>iife</title><script src="${s.url}/assets/apify-kv.min.js"></script>`,
    '/iife-integrity.html':
      `<!doctype html><title>iife integrity</title><script src="${s.url}/assets/apify-kv.min.js"></script>` +
      `<script src="${s.url}/assets/apify-kv-integrity.min.js"></script>`,
    '/esm-integrity.html':
      `<!doctype html><title>esm integrity</title><script type="module">` +
      `import * as kv from '${s.url}/assets/apify-kv.esm.js'; import '${s.url}/assets/apify-kv-integrity.esm.js'; window.ApifyKv = kv;</script>`,
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await s?.dispose();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Opened {
  page: Page;
  problems: string[];
  /** The Content-MD5 header of each record upload, '' when it had none. */
  uploadMd5s: string[];
  /** How many record bodies the route flipped a byte of. */
  flipped: () => number;
}

/** Opens a page that loads the bundles, flipping the first byte of every `blob` and `large-flipped` record body served to it. */
async function open(file: string): Promise<Opened> {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const problems = watchForProblems(page);
  const uploadMd5s: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'PUT' && request.url().includes('/records/')) uploadMd5s.push(request.headers()['content-md5'] ?? '');
  });
  let flips = 0;
  await page.route(/\/records\/(blob|large-flipped)($|\?)/, async (route) => {
    if (route.request().method() !== 'GET') return route.continue();
    const response = await route.fetch();
    const body = await response.body();
    body[0] ^= 0x01;
    flips++;
    await route.fulfill({ response, body });
  });
  await page.goto(`${pages.url}/${file}`);
  await page.waitForFunction(() => typeof (window as any).ApifyKv?.ApifyClient === 'function');
  return { page, problems, uploadMd5s, flipped: () => flips };
}

/** Stores `blob` (and `doc`) from the page, then reads both back; the read of `blob` gets a flipped byte. */
function putAndRead(page: Page, storeName: string) {
  return page.evaluate(
    async ({ baseUrl, storeName }) => {
      const kv = (window as any).ApifyKv;
      const client = new kv.ApifyClient({ baseUrl });
      const store = await client.keyValueStores.getOrCreateStore({ storeName });
      const stores = client.keyValueStores;
      await stores.putRecord({ storeId: store.id, key: 'blob', body: new Uint8Array([10, 20, 30, 40]), contentType: 'application/octet-stream' });
      await stores.putRecord({ storeId: store.id, key: 'doc', body: { intact: true } });
      const doc = await stores.getRecord({ storeId: store.id, key: 'doc' });
      try {
        const blob = await stores.getRecord({ storeId: store.id, key: 'blob' });
        return { doc: doc.body, blob: Array.from(new Uint8Array(blob.body)), error: '' };
      } catch (error: any) {
        return { doc: doc.body, blob: null, error: kv.isApifyApiError(error) ? `${error.name} ${error.type}: ${error.message}` : String(error) };
      }
    },
    { baseUrl: s.url, storeName },
  );
}

/** Above the add-on's threshold for hashing in slices (1 MiB): five slices of 256 KiB and a tail. */
const LARGE = 5 * 256 * 1024 + 4_099;
/** The large body, the same in the page and here. */
const largeByte = (i: number) => (i * 31 + 7) & 255;

/**
 * Stores a large body as `large` and `large-flipped`, then reads both back (the route flips a byte
 * of `large-flipped`). A timer chain (setTimeout 0) ticks meanwhile; its count is noted as each
 * upload's request leaves (with `fetch`), after its body was hashed.
 */
function putAndReadLarge(page: Page, storeName: string) {
  return page.evaluate(
    async ({ baseUrl, storeName, size }) => {
      const kv = (window as any).ApifyKv;
      let ticks = 0;
      let ticking = true;
      const tick = () => {
        ticks++;
        if (ticking) setTimeout(tick, 0);
      };
      const ticksAtUpload: number[] = [];
      const send = window.fetch;
      window.fetch = (input: any, init?: RequestInit) => {
        if ((init?.method ?? input.method) === 'PUT') ticksAtUpload.push(ticks);
        return send(input, init);
      };
      const client = new kv.ApifyClient({ baseUrl });
      const store = await client.keyValueStores.getOrCreateStore({ storeName });
      const stores = client.keyValueStores;
      const body = new Uint8Array(size);
      for (let i = 0; i < size; i++) body[i] = (i * 31 + 7) & 255;
      for (const key of ['large', 'large-flipped']) {
        ticks = 0;
        setTimeout(tick, 0);
        await stores.putRecord({ storeId: store.id, key, body, contentType: 'application/octet-stream' });
      }
      ticking = false;
      const read = new Uint8Array((await stores.getRecord({ storeId: store.id, key: 'large' })).body);
      const intact = read.length === size && read.every((byte, i) => byte === body[i]);
      const error = await stores.getRecord({ storeId: store.id, key: 'large-flipped' }).then(
        () => '',
        (e: any) => (kv.isApifyApiError(e) ? `${e.name} ${e.type}: ${e.message}` : String(e)),
      );
      return { ticksAtUpload, intact, error };
    },
    { baseUrl: s.url, storeName, size: LARGE },
  );
}

describe('integrity add-on in Chromium', () => {
  it('with the add-on (IIFE and ES module), a flipped byte in transit fails with integrity-mismatch', async () => {
    for (const [file, storeName] of [['iife-integrity.html', 'integrity-iife'], ['esm-integrity.html', 'integrity-esm']]) {
      const { page, problems, uploadMd5s, flipped } = await open(file!);
      const result = await putAndRead(page, storeName!);
      expect(result.doc, file).toEqual({ intact: true });
      expect(result.blob, file).toBeNull();
      expect(result.error, file).toMatch(/^ApifyApiError integrity-mismatch: /);
      // The download is tried once more before failing.
      expect(flipped(), file).toBe(2);
      // Uploads carry the MD5 of their bytes, base64 (RFC 1864): here of [10, 20, 30, 40].
      expect(uploadMd5s[0], file).toBe(createHash('md5').update(Uint8Array.from([10, 20, 30, 40])).digest('base64'));
      expect(uploadMd5s.every((md5) => md5 !== ''), file).toBe(true);
      expect(problems, file).toEqual([]);
    }
  });

  it('with the add-on, a large body is checked too, hashed in slices while timers run (IIFE and ES module)', async () => {
    const bytes = Uint8Array.from({ length: LARGE }, (_, i) => largeByte(i));
    const md5 = createHash('md5').update(bytes).digest('base64');
    for (const [file, storeName] of [['iife-integrity.html', 'large-iife'], ['esm-integrity.html', 'large-esm']]) {
      const { page, problems, uploadMd5s, flipped } = await open(file!);
      const result = await putAndReadLarge(page, storeName!);
      expect(uploadMd5s, file).toEqual([md5, md5]);
      // A timer queued as each upload started ran before its request left: hashing one body
      // in a single call would have let none run.
      expect(result.ticksAtUpload.length, file).toBe(2);
      expect(Math.min(...result.ticksAtUpload), file).toBeGreaterThanOrEqual(1);
      expect(result.intact, file).toBe(true);
      expect(result.error, file).toMatch(/^ApifyApiError integrity-mismatch: /);
      expect(flipped(), file).toBe(2);
      expect(problems, file).toEqual([]);
    }
  });

  it('without the add-on, the main bundle reads the flipped byte unchecked and sends no Content-MD5', async () => {
    const { page, problems, uploadMd5s, flipped } = await open('iife.html');
    const result = await putAndRead(page, 'integrity-off');
    expect(result).toEqual({ doc: { intact: true }, blob: [11, 20, 30, 40], error: '' });
    expect(flipped()).toBe(1);
    expect(uploadMd5s).toEqual(['', '']);
    expect(problems).toEqual([]);
  });
});
