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

/** Opens a page that loads the bundles, flipping the first byte of every `blob` record body served to it. */
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
  await page.route(/\/records\/blob($|\?)/, async (route) => {
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

  it('without the add-on, the main bundle reads the flipped byte unchecked and sends no Content-MD5', async () => {
    const { page, problems, uploadMd5s, flipped } = await open('iife.html');
    const result = await putAndRead(page, 'integrity-off');
    expect(result).toEqual({ doc: { intact: true }, blob: [11, 20, 30, 40], error: '' });
    expect(flipped()).toBe(1);
    expect(uploadMd5s).toEqual(['', '']);
    expect(problems).toEqual([]);
  });
});
