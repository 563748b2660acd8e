/** The storage browser page at `/`, driven in headless Chromium against the real server. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  api,
  createStore,
  ensureBuilt,
  launchChromium,
  makePng,
  putRecord,
  startTestServer,
  watchForProblems,
  type TestServer,
} from './support.js';

let browser: Browser;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  ensureBuilt();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(options);
  cleanups.push(() => s.dispose());
  return s;
}

/** A fresh browser context (its own cookies and storage) on the page. */
async function openBrowser(target: TestServer): Promise<{ page: Page; context: BrowserContext; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const problems = watchForProblems(page);
  await page.goto(`${target.url}/`);
  return { page, context, problems };
}

const storeButton = (page: Page, name: string) => page.locator('#store-list').getByRole('button', { name, exact: true });
const keyButton = (page: Page, key: string) => page.locator('#key-rows').getByRole('button', { name: key, exact: true });
const listedKeys = (page: Page) =>
  page.locator('#key-rows tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')));
const listedStores = (page: Page) =>
  page.locator('#store-list button').evaluateAll((buttons) => buttons.map((b) => b.firstChild?.textContent ?? ''));
const textOf = (page: Page, selector: string) => page.locator(selector).textContent();

/** Accepts every confirm() and remembers its messages. */
function acceptDialogs(page: Page): string[] {
  const messages: string[] = [];
  page.on('dialog', (dialog) => {
    messages.push(dialog.message());
    void dialog.accept();
  });
  return messages;
}

describe('storage browser', () => {
  it('lists stores and keys, and previews JSON, text, images and binary records', async () => {
    const s = await server();
    const reports = await createStore(s, 'reports');
    const photos = await createStore(s, 'photos');
    const summary = { total: 3, items: ['a', '<b>not bold</b>'], nested: { ok: true } };
    await putRecord(s, reports, 'summary.json', JSON.stringify(summary), 'application/json; charset=utf-8');
    await putRecord(s, reports, 'notes', 'first line\nsecond line', 'text/plain; charset=utf-8');
    await putRecord(s, photos, 'logo', makePng(64, 40), 'image/png');
    await putRecord(s, photos, 'blob', Buffer.alloc(2000, 7), 'application/octet-stream');

    const { page, problems } = await openBrowser(s);
    expect(await page.title()).toContain('Storage browser');
    await expect.poll(() => listedStores(page)).toEqual(['photos', 'reports']);

    await storeButton(page, 'reports').click();
    await expect.poll(() => listedKeys(page)).toEqual(['notes', 'summary.json']);
    expect(await textOf(page, '#store-title')).toBe('reports');
    expect(await storeButton(page, 'reports').getAttribute('aria-current')).toBe('true');

    await keyButton(page, 'summary.json').click();
    const pre = page.locator('#preview-body pre');
    await pre.waitFor();
    // Pretty-printed, and markup in the data stays text.
    expect(await pre.textContent()).toBe(JSON.stringify(summary, null, 2));
    expect(await page.locator('#preview-body b').count()).toBe(0);
    expect(await textOf(page, '#preview-meta')).toContain('application/json; charset=utf-8');

    await fsp.mkdir(path.join(ROOT, '.tmp'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, '.tmp', 'storage-browser.png'), fullPage: true });

    await keyButton(page, 'notes').click();
    await expect.poll(() => textOf(page, '#preview-body pre')).toBe('first line\nsecond line');

    await storeButton(page, 'photos').click();
    await expect.poll(() => listedKeys(page)).toEqual(['blob', 'logo']);
    await keyButton(page, 'logo').click();
    const img = page.locator('#preview-body img');
    await img.waitFor();
    await expect
      .poll(() => img.evaluate((el: HTMLImageElement) => (el.complete ? el.naturalWidth : 0)))
      .toBe(64);
    expect(await img.getAttribute('src')).toMatch(/^blob:/);
    expect(await img.getAttribute('alt')).toContain('logo');

    await keyButton(page, 'blob').click();
    await expect.poll(() => textOf(page, '#preview-body')).toContain('Binary record of 2.0 KiB');
    const download = page.locator('#preview-body a[download]');
    expect(await download.getAttribute('download')).toBe('blob');
    expect(await download.getAttribute('href')).toMatch(/^blob:/);

    expect(problems).toEqual([]);
  });

  it('pages through keys with "More" and filters them by prefix', async () => {
    const s = await server();
    const id = await createStore(s, 'many');
    const keys = Array.from({ length: 60 }, (_, i) => `item-${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((key) => putRecord(s, id, key, key, 'text/plain')));
    await putRecord(s, id, 'other-1', 'x', 'text/plain');

    const { page, problems } = await openBrowser(s);
    await storeButton(page, 'many').click();
    await expect.poll(async () => (await listedKeys(page)).length).toBe(50);
    expect(await listedKeys(page)).toEqual(keys.slice(0, 50));
    expect(await page.locator('#keys-more').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'More', exact: true }).click();
    await expect.poll(async () => (await listedKeys(page)).length).toBe(61);
    expect(await listedKeys(page)).toEqual([...keys, 'other-1']);
    expect(await page.locator('#keys-more').isVisible()).toBe(false);

    await page.getByLabel('Key prefix').fill('other');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => listedKeys(page)).toEqual(['other-1']);

    await page.getByLabel('Key prefix').fill('nothing-here');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => page.locator('#keys-empty').isVisible()).toBe(true);
    expect(await listedKeys(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('uploads a file as a record, and asks before replacing one', async () => {
    const s = await server();
    const id = await createStore(s, 'uploads');
    const { page, problems } = await openBrowser(s);
    const dialogs = acceptDialogs(page);
    await storeButton(page, 'uploads').click();
    await page.locator('#keys-empty').waitFor();

    const text = 'uploaded from the browser\n';
    await page.getByLabel('File').setInputFiles({ name: 'my notes.txt', mimeType: 'text/plain', buffer: Buffer.from(text) });
    // The key comes from the file name, with characters a key cannot hold replaced.
    expect(await page.getByLabel('Key', { exact: true }).inputValue()).toBe('my_notes.txt');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();

    await expect.poll(() => listedKeys(page)).toEqual(['my_notes.txt']);
    await expect.poll(() => textOf(page, '#status')).toContain('Uploaded "my_notes.txt"');
    await expect.poll(() => textOf(page, '#preview-body pre')).toBe(text);

    // Through the API, and on disk.
    const record = await api(s, 'GET', `/${id}/records/my_notes.txt`);
    expect(record.status).toBe(200);
    expect(record.body.toString('utf8')).toBe(text);
    const files = await fsp.readdir(path.join(s.storageDir, 'key_value_stores', 'uploads'));
    expect(files).toContain('my_notes.txt.txt');

    // An edited key, an image, then the same key again: replaced after a confirm().
    const png = makePng(32, 32);
    await page.getByLabel('File').setInputFiles({ name: 'picture.png', mimeType: 'image/png', buffer: png });
    await page.getByLabel('Key', { exact: true }).fill('avatar');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect.poll(() => listedKeys(page)).toEqual(['avatar', 'my_notes.txt']);
    await page.locator('#preview-body img').waitFor();
    expect(dialogs).toEqual([]);

    const png2 = makePng(48, 16);
    await page.getByLabel('File').setInputFiles({ name: 'other.png', mimeType: 'image/png', buffer: png2 });
    await page.getByLabel('Key', { exact: true }).fill('avatar');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toContain('"avatar" exists');
    await expect.poll(async () => (await api(s, 'GET', `/${id}/records/avatar`)).body.equals(png2)).toBe(true);
    const stored = await api(s, 'GET', `/${id}/records/avatar`);
    expect(stored.status).toBe(200);
    expect(problems).toEqual([]);
  });

  it('deletes a record only after a confirm()', async () => {
    const s = await server();
    const id = await createStore(s, 'cleanup');
    await putRecord(s, id, 'keep', 'k', 'text/plain');
    await putRecord(s, id, 'remove-me', 'r', 'text/plain');
    const { page, problems } = await openBrowser(s);
    await storeButton(page, 'cleanup').click();
    await expect.poll(() => listedKeys(page)).toEqual(['keep', 'remove-me']);

    // Dismissed: nothing happens.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Delete record remove-me' }).click();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await listedKeys(page)).toEqual(['keep', 'remove-me']);
    expect((await api(s, 'GET', `/${id}/records/remove-me`)).status).toBe(200);

    const dialogs = acceptDialogs(page);
    await keyButton(page, 'remove-me').click();
    await page.locator('#preview-body pre').waitFor();
    await page.getByRole('button', { name: 'Delete record remove-me' }).click();
    await expect.poll(() => listedKeys(page)).toEqual(['keep']);
    expect(dialogs).toEqual(['Delete the record "remove-me"?']);
    expect(await page.locator('#preview-panel').isHidden()).toBe(true);
    expect((await api(s, 'GET', `/${id}/records/remove-me`)).status).toBe(404);
    expect((await api(s, 'GET', `/${id}/records/keep`)).status).toBe(200);
    expect(problems).toEqual([]);
  });

  it('creates and deletes stores, and shows unnamed stores on request', async () => {
    const s = await server();
    const unnamed = await api(s, 'POST', '');
    const unnamedId = unnamed.json().data.id as string;
    const { page, problems } = await openBrowser(s);
    acceptDialogs(page);
    await expect.poll(() => textOf(page, '#stores-summary')).toBe('No stores yet.');

    await page.getByLabel('New store').fill('fresh-store');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => listedStores(page)).toEqual(['fresh-store']);
    await expect.poll(() => textOf(page, '#store-title')).toBe('fresh-store');
    expect((await api(s, 'GET', '/~fresh-store')).status).toBe(200);

    await page.getByLabel('Show unnamed stores').check();
    await expect.poll(async () => (await listedStores(page)).length).toBe(2);
    expect(await textOf(page, '#store-list')).toContain(unnamedId);

    await page.getByLabel('New store').fill('bad name!');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => textOf(page, '#error')).toContain('store name');

    await storeButton(page, 'fresh-store').click();
    await page.getByRole('button', { name: 'Delete store' }).click();
    await expect.poll(async () => (await listedStores(page)).length).toBe(1);
    expect(await page.locator('#store-panel').isHidden()).toBe(true);
    expect((await api(s, 'GET', '/~fresh-store')).status).toBe(404);
    expect(problems).toEqual([]);
  });

  it('says clearly when the server needs a token, and works once it is typed in', async () => {
    const token = 'e2e-secret-token';
    const s = await server({ token });
    await createStore(s, 'private', token);

    const { page, problems } = await openBrowser(s);
    await expect.poll(() => textOf(page, '#error')).toContain('This server needs an API token');
    expect(await listedStores(page)).toEqual([]);

    await page.getByLabel('API token').fill('wrong-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => textOf(page, '#error')).toContain('refused this API token');

    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => listedStores(page)).toEqual(['private']);
    expect(await page.locator('#error').isHidden()).toBe(true);

    // Kept for this tab only, and used again after a reload.
    expect(await page.evaluate(() => sessionStorage.getItem('apify-kv-browser.token'))).toBe(token);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).not.toContain(token);
    await page.reload();
    await expect.poll(() => listedStores(page)).toEqual(['private']);

    await page.getByRole('button', { name: 'Forget' }).click();
    await expect.poll(() => textOf(page, '#error')).toContain('This server needs an API token');
    expect(await page.evaluate(() => sessionStorage.getItem('apify-kv-browser.token'))).toBeNull();
    expect(problems).toEqual([]);
  });
});
