/**
 * The browser bundles in a real browser: a page on another origin loads the IIFE (global
 * `ApifyKv`) or the ES module from the server's /assets/, and round-trips records through it.
 * The bulk bundles load beside them and add the bulk methods.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, ensureBuilt, launchChromium, startPageServer, startTestServer, watchForProblems, type TestServer } from './support.js';

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
    '/esm.html':
      `<!doctype html><title>esm</title><script type="module">` +
      `import * as kv from '${s.url}/assets/apify-kv.esm.js'; window.ApifyKv = kv;</script>`,
    '/iife-bulk.html':
      `<!doctype html><title>iife bulk</title><script src="${s.url}/assets/apify-kv.min.js"></script>` +
      `<script src="${s.url}/assets/apify-kv-bulk.min.js"></script>`,
    '/esm-bulk.html':
      `<!doctype html><title>esm bulk</title><script type="module">` +
      `import * as kv from '${s.url}/assets/apify-kv.esm.js'; import '${s.url}/assets/apify-kv-bulk.esm.js'; window.ApifyKv = kv;</script>`,
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

/** Opens a page that loads a bundle and waits for its `ApifyKv` to appear. */
async function open(file: string): Promise<{ page: Page; problems: string[]; requestTypes: Set<string> }> {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const problems = watchForProblems(page);
  const requestTypes = new Set<string>();
  page.on('request', (request) => {
    if (request.url().includes('/v2/')) requestTypes.add(request.resourceType());
  });
  await page.goto(`${pages.url}/${file}`);
  await page.waitForFunction(() => typeof (window as any).ApifyKv?.ApifyClient === 'function');
  return { page, problems, requestTypes };
}

/** put (JSON and bytes) in the browser, check on the server, then get and delete in the browser. */
async function roundTrip(page: Page, storeName: string): Promise<void> {
  const storeId = await page.evaluate(
    async ({ baseUrl, storeName }) => {
      const { ApifyClient } = (window as any).ApifyKv;
      const client = new ApifyClient({ baseUrl });
      const store = await client.keyValueStores.getOrCreateStore({ storeName });
      await client.keyValueStores.putRecord({ storeId: store.id, key: 'doc', body: { hello: 'browser', n: [1, 2] } });
      await client.keyValueStores.putRecord({ storeId: store.id, key: 'bytes', body: new Uint8Array([0, 1, 254, 255]) });
      return store.id as string;
    },
    { baseUrl: s.url, storeName },
  );

  const doc = await api(s, 'GET', `/${storeId}/records/doc`);
  expect(doc.status).toBe(200);
  expect(doc.json()).toEqual({ hello: 'browser', n: [1, 2] });
  expect([...(await api(s, 'GET', `/${storeId}/records/bytes`)).body]).toEqual([0, 1, 254, 255]);

  const result = await page.evaluate(
    async ({ baseUrl, storeId }) => {
      const kv = (window as any).ApifyKv;
      const client = new kv.ApifyClient({ baseUrl, storeId });
      const stores = client.keyValueStores;
      const doc = await stores.getRecord({ key: 'doc' });
      const bytes = await stores.getRecord({ key: 'bytes' });
      const keys = await stores.listKeys({});
      await stores.deleteRecord({ key: 'doc' });
      const afterDelete = await stores.getRecord({ key: 'doc' });
      let missingStore = '';
      try {
        await stores.listKeys({ storeId: 'no-such-store-id' });
      } catch (error: any) {
        missingStore = kv.isApifyApiError(error) ? `${error.statusCode} ${error.type}` : String(error);
      }
      return {
        doc: doc.body,
        docType: doc.contentType,
        bytesIsArrayBuffer: bytes.body instanceof ArrayBuffer,
        bytes: Array.from(new Uint8Array(bytes.body)),
        keys: keys.items.map((item: { key: string }) => item.key),
        afterDelete,
        missingStore,
      };
    },
    { baseUrl: s.url, storeId },
  );
  expect(result).toEqual({
    doc: { hello: 'browser', n: [1, 2] },
    docType: 'application/json; charset=utf-8',
    bytesIsArrayBuffer: true,
    bytes: [0, 1, 254, 255],
    keys: ['bytes', 'doc'],
    afterDelete: null,
    missingStore: '404 record-or-token-not-found',
  });
  expect((await api(s, 'GET', `/${storeId}/records/doc`)).status).toBe(404);
}

/** Bulk put, get and delete in the browser; the server holds what was put until the delete. */
async function bulkRoundTrip(page: Page, storeName: string): Promise<void> {
  const result = await page.evaluate(
    async ({ baseUrl, storeName }) => {
      const { ApifyClient } = (window as any).ApifyKv;
      const client = new ApifyClient({ baseUrl });
      const { id } = await client.keyValueStores.getOrCreate(storeName);
      const store = client.keyValueStore(id);
      const keys = Array.from({ length: 20 }, (_, i) => `k-${i}`);
      const collect = async (results: AsyncIterable<{ key: string; ok: boolean; record?: { value: unknown } }>) => {
        const all = [];
        for await (const r of results) all.push(r);
        return all.sort((a, b) => a.key.localeCompare(b.key));
      };
      const puts = await collect(store.putRecords(keys.map((key, i) => ({ key, value: { i } })), { concurrency: 4 }));
      const gets = await collect(store.getRecords(keys));
      const deletes = await collect(client.keyValueStores.deleteRecords(keys.slice(0, 10), { storeId: id }));
      return { id, puts: puts.filter((r) => r.ok).length, values: gets.map((r) => r.record?.value), deletes: deletes.filter((r) => r.ok).length };
    },
    { baseUrl: s.url, storeName },
  );
  expect(result.puts).toBe(20);
  expect(result.deletes).toBe(10);
  expect(result.values).toEqual(Array.from({ length: 20 }, (_, i) => `k-${i}`).sort().map((key) => ({ i: Number(key.slice(2)) })));
  expect((await api(s, 'GET', `/${result.id}/records/k-0`)).status).toBe(404);
  expect((await api(s, 'GET', `/${result.id}/records/k-19`)).json()).toEqual({ i: 19 });
}

describe('browser bundles against the local server', () => {
  it('bulk bundles: the IIFE and the ES module add putRecords, getRecords and deleteRecords', async () => {
    for (const [file, storeName] of [['iife-bulk.html', 'bulk-iife'], ['esm-bulk.html', 'bulk-esm']]) {
      const { page, problems } = await open(file!);
      await page.waitForFunction(() => typeof (window as any).ApifyKv.KeyValueStoreClient.prototype.putRecords === 'function');
      await bulkRoundTrip(page, storeName!);
      expect(problems).toEqual([]);
    }
  });

  it('IIFE bundle: global ApifyKv, put/get/delete over fetch', async () => {
    const { page, problems, requestTypes } = await open('iife.html');
    await roundTrip(page, 'bundle-iife');
    // The browser build talks through fetch (the xhr adapter is left out of it).
    expect([...requestTypes]).toEqual(['fetch']);
    expect(problems).toEqual([]);
  });

  it('ESM bundle via <script type="module">: the same round trip', async () => {
    const { page, problems, requestTypes } = await open('esm.html');
    await roundTrip(page, 'bundle-esm');
    expect([...requestTypes]).toEqual(['fetch']);
    expect(problems).toEqual([]);
  });

  it('request hooks (v2 requestInterceptors) in both bundles: the query a hook changes is the one served', async () => {
    for (const file of ['iife.html', 'esm.html']) {
      const { page, problems } = await open(file);
      const result = await page.evaluate(
        async ({ baseUrl, storeName }) => {
          const { ApifyClient } = (window as any).ApifyKv;
          const seen: unknown[] = [];
          const client = new ApifyClient({
            baseUrl,
            requestInterceptors: [
              (config: any) => {
                seen.push({ ...config.params });
                // listKeys sends limit=2: the hook asks for one key only, and a prefix.
                if (config.params.limit !== undefined) config.params = { ...config.params, limit: 1, prefix: 'b' };
                return config;
              },
            ],
          });
          const store = await client.keyValueStores.getOrCreateStore({ storeName });
          for (const key of ['a1', 'b1', 'b2']) await client.keyValueStores.putRecord({ storeId: store.id, key, body: key });
          const listed = await client.keyValueStores.listKeys({ storeId: store.id, limit: 2 });
          return { keys: listed.items.map((item: { key: string }) => item.key), listParams: seen.at(-1) };
        },
        { baseUrl: s.url, storeName: `hooked-${file.split('.')[0]}` },
      );
      expect(result).toEqual({ keys: ['b1'], listParams: { limit: 2 } });
      expect(problems).toEqual([]);
    }
  });
});
