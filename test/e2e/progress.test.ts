/**
 * Progress callbacks in a real browser: a page on another origin loads the IIFE bundle and the
 * progress add-on, uploads a record with `onUploadProgress` (XMLHttpRequest, from the add-on) and
 * reads it back with `onDownloadProgress` (fetch). Without the add-on the upload stays on fetch
 * and reports one final event.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createStore, ensureBuilt, launchChromium, startPageServer, startTestServer, watchForProblems, type TestServer } from './support.js';

let browser: Browser;
let s: TestServer;
let pages: Awaited<ReturnType<typeof startPageServer>>;

beforeAll(async () => {
  ensureBuilt();
  browser = await launchChromium();
  s = await startTestServer();
  pages = await startPageServer({
    '/iife.html': `<!doctype html><title>iife</title><script src="${s.url}/assets/apify-kv.min.js"></script>`,
    '/progress.html': `<!doctype html><title>progress</title><script src="${s.url}/assets/apify-kv.min.js"></script><script src="${s.url}/assets/apify-kv-progress.min.js"></script>`,
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await pages?.close();
  await s?.dispose();
});

interface Event {
  loaded: number;
  total?: number;
}

function expectWhole(events: Event[], size: number): void {
  expect(events.length).toBeGreaterThan(0);
  for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThan(events[i - 1]!.loaded);
  for (const e of events) expect(e.total).toBe(size);
  expect(events.at(-1)!.loaded).toBe(size);
}

/** Uploads then reads back `size` bytes in a page, with both callbacks; their events, and whether the bytes came back. */
async function roundTrip(page: Page, storeId: string, size: number) {
  return page.evaluate(
    async ({ baseUrl, storeId, size }) => {
      const { ApifyClient } = (window as any).ApifyKv;
      const store = new ApifyClient({ baseUrl }).keyValueStore(storeId);
      const body = new Uint8Array(size);
      for (let i = 0; i < size; i++) body[i] = (i * 7) & 255;
      const up: Event[] = [];
      const down: Event[] = [];
      await store.setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' }, { onUploadProgress: (p: Event) => up.push({ ...p }) });
      const record = await store.getRecord('big', { buffer: true, onDownloadProgress: (p: Event) => down.push({ ...p }) });
      const back = new Uint8Array(record.value as ArrayBuffer);
      return { up, down, same: back.length === size && back.every((b, i) => b === ((i * 7) & 255)) };
    },
    { baseUrl: s.url, storeId, size },
  );
}

/** Opens `path` of the page server; the resource types of the record PUTs it sends. */
async function open(context: BrowserContext, path: string) {
  const page = await context.newPage();
  const problems = watchForProblems(page);
  const putTypes: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'PUT' && request.url().includes('/records/')) putTypes.push(request.resourceType());
  });
  await page.goto(`${pages.url}${path}`);
  await page.waitForFunction(() => typeof (window as any).ApifyKv?.ApifyClient === 'function');
  return { page, problems, putTypes };
}

describe('progress in the browser', () => {
  it('with the progress add-on, setRecord reports its upload as it goes and getRecord its download', async () => {
    const storeId = await createStore(s, 'browser-progress');
    const context = await browser.newContext();
    try {
      const { page, problems, putTypes } = await open(context, '/progress.html');
      const size = 4 * 1024 * 1024;
      const result = await roundTrip(page, storeId, size);
      expectWhole(result.up, size);
      expectWhole(result.down, size);
      expect(result.same).toBe(true);
      // The watched upload went through XMLHttpRequest, the one browser API that reports uploads.
      expect(putTypes).toEqual(['xhr']);
      const stored = await api(s, 'GET', `/${storeId}/records/big`);
      expect(stored.body.length).toBe(size);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('without the add-on, the upload stays on fetch and reports one final event; downloads still report as they go', async () => {
    const storeId = await createStore(s, 'browser-progress-main-only');
    const context = await browser.newContext();
    try {
      const { page, problems, putTypes } = await open(context, '/iife.html');
      const size = 1024 * 1024;
      const result = await roundTrip(page, storeId, size);
      expect(result.up).toEqual([{ loaded: size, total: size }]);
      expectWhole(result.down, size);
      expect(result.same).toBe(true);
      expect(putTypes).toEqual(['fetch']);
      const stored = await api(s, 'GET', `/${storeId}/records/big`);
      expect(stored.body.length).toBe(size);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
