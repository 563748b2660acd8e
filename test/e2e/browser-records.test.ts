/** The storage browser's Records tab and record view, in headless Chromium. */
import { describe, expect, it } from 'vitest';
import {
  acceptDialogs,
  checkPage,
  errorText,
  hashOf,
  inView,
  keyLink,
  listedKeys,
  listedStores,
  openApp,
  server,
  statusText,
  useBrowser,
} from './browser-app.js';
import { api, createStore, makePng, putRecord } from './support.js';

useBrowser();

const TOKEN = 'e2e-records-token-2718';
const VARIANTS = [
  { width: 1280, token: undefined },
  { width: 375, token: TOKEN },
] as const;

const focusedText = (page: import('playwright-core').Page) => page.evaluate(() => document.activeElement?.textContent ?? null);

describe.each(VARIANTS)('records at $width px (token: $token)', ({ width, token }) => {
  it('previews JSON, text, images and binary records; Escape closes and focus returns', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'mixed', token);
    const summary = { total: 3, items: ['a', '<b>not bold</b>'] };
    await putRecord(s, id, 'summary.json', JSON.stringify(summary), 'application/json; charset=utf-8', token);
    await putRecord(s, id, 'notes', 'first line\nsecond line', 'text/plain; charset=utf-8', token);
    await putRecord(s, id, 'logo', makePng(64, 40), 'image/png', token);
    await putRecord(s, id, 'blob', Buffer.alloc(2000, 7), 'application/octet-stream', token);

    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}` });
    await expect.poll(() => listedKeys(page)).toEqual(['blob', 'logo', 'notes', 'summary.json']);
    await expect.poll(() => page.locator('#fact-records b').textContent()).toBe('4');
    await checkPage(page, 'store');

    await keyLink(page, 'summary.json').click();
    const pre = page.locator('#preview-body pre');
    await pre.waitFor();
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}/records/summary.json`);
    // Pretty-printed, and markup in the data stays text.
    await expect.poll(() => pre.textContent()).toBe(JSON.stringify(summary, null, 2));
    await expect.poll(() => page.locator('#preview-body b').count()).toBe(0);
    await expect.poll(() => page.locator('#preview-meta').textContent()).toContain('application/json; charset=utf-8');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('preview-title');
    await checkPage(page, 'record');

    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#preview').evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    await expect.poll(() => focusedText(page)).toBe('summary.json');

    await keyLink(page, 'notes').click();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('first line\nsecond line');
    await page.click('#preview-close');
    await expect.poll(() => focusedText(page)).toBe('notes');

    await keyLink(page, 'logo').click();
    const img = page.locator('#preview-body img');
    await img.waitFor();
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => (el.complete ? el.naturalWidth : 0))).toBe(64);
    await expect.poll(() => img.getAttribute('src')).toMatch(/^blob:/);
    await page.keyboard.press('Escape');

    await keyLink(page, 'blob').click();
    await expect.poll(() => page.locator('#preview-body').textContent()).toContain('Binary record of 2.0 KiB');
    // A binary's body is fetched only for a download.
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download 2.0 KiB' }).click();
    expect((await downloading).suggestedFilename()).toBe('blob');
    // The record's signed URL reads it without a token.
    const copyButton = page.locator('#preview-actions button.copy');
    await expect.poll(() => copyButton.getAttribute('data-copy')).toContain('signature=');
    const signed = await copyButton.getAttribute('data-copy');
    expect((await fetch(signed!)).status).toBe(200);

    // Closing steps back to the list: Forward reopens the record, Back closes it again.
    await page.keyboard.press('Escape');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    await page.goForward();
    await expect.poll(() => page.locator('#preview').evaluate((d: HTMLDialogElement) => d.open)).toBe(true);
    await expect.poll(() => page.locator('#preview-title').textContent()).toBe('blob');
    await page.goBack();
    await expect.poll(() => page.locator('#preview').evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    expect(problems).toEqual([]);
  });

  it('pages to record 146 of 150 and opens it in view; a reload keeps the record open', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'many', token);
    const keys = Array.from({ length: 150 }, (_, i) => `item-${String(i + 1).padStart(3, '0')}`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((key) => putRecord(s, id, key, `value of ${key}`, 'text/plain', token)));
    }
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}` });
    await expect.poll(async () => (await listedKeys(page)).length).toBe(50);
    await page.click('#keys-more');
    await expect.poll(async () => (await listedKeys(page)).length).toBe(100);
    // Focus goes to the first new row.
    await expect.poll(() => focusedText(page)).toBe('item-051');
    await page.click('#keys-more');
    await expect.poll(async () => (await listedKeys(page)).length).toBe(150);
    await expect.poll(() => page.locator('#keys-more').isHidden()).toBe(true);
    await expect.poll(() => listedKeys(page)).toEqual(keys);

    await keyLink(page, 'item-146').scrollIntoViewIfNeeded();
    await keyLink(page, 'item-146').click();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('value of item-146');
    await expect.poll(() => inView(page, '#preview')).toBe(true);
    await expect.poll(() => page.locator('#key-rows tr[data-key="item-146"]').getAttribute('aria-current')).toBe('true');

    await page.reload();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('value of item-146');
    await expect.poll(() => inView(page, '#preview')).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    // Closing settles asynchronously: after the reload item-146 is not on the first page, so focus
    // lands on the list's heading. Wait for that before moving focus again.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('records-title');
    await expect.poll(() => page.locator('#preview').isVisible()).toBe(false);

    // The skip link jumps past the list to the upload form.
    await page.locator('.skip-inline').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('upload-title');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    expect(problems).toEqual([]);
  });

  it('filters by prefix, and the filter stays with its store', async () => {
    const s = await server({ token });
    const a = await createStore(s, 'alpha', token);
    const b = await createStore(s, 'beta', token);
    for (const key of ['img-1', 'img-2', 'doc-1']) await putRecord(s, a, key, key, 'text/plain', token);
    for (const key of ['img-9', 'zz']) await putRecord(s, b, key, key, 'text/plain', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${a}` });
    await expect.poll(() => listedKeys(page)).toEqual(['doc-1', 'img-1', 'img-2']);
    await page.fill('#prefix', 'img-');
    await page.click('#filter-form button');
    await expect.poll(() => listedKeys(page)).toEqual(['img-1', 'img-2']);
    // Focus stays on the button the user pressed (it is disabled while the list loads).
    await expect.poll(() => focusedText(page)).toBe('Filter');
    // The filter is in the address: a reload and a trip to another tab keep it.
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${a}?prefix=img-`);
    await page.reload();
    await expect.poll(() => listedKeys(page)).toEqual(['img-1', 'img-2']);
    await expect.poll(() => page.inputValue('#prefix')).toBe('img-');
    await page.click('#tab-settings');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${a}/settings`);
    await page.click('#tab-records');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${a}?prefix=img-`);
    await expect.poll(() => listedKeys(page)).toEqual(['img-1', 'img-2']);
    await expect.poll(() => page.inputValue('#prefix')).toBe('img-');
    await page.fill('#prefix', 'nothing');
    await page.click('#filter-form button');
    await expect.poll(() => page.locator('#keys-empty').textContent()).toBe('No records with keys starting with "nothing".');

    await page.getByRole('link', { name: 'Key-value stores' }).click();
    await page.getByRole('link', { name: 'beta', exact: true }).click();
    await expect.poll(() => listedKeys(page)).toEqual(['img-9', 'zz']);
    await expect.poll(() => page.inputValue('#prefix')).toBe('');
    expect(problems).toEqual([]);
  });

  it('uploads a file (asking before replacing one), keeps the store facts fresh, and shows errors in view', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'uploads', token);
    for (let i = 0; i < 40; i++) await putRecord(s, id, `k${String(i).padStart(2, '0')}`, 'x', 'text/plain', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}` });
    const confirms = acceptDialogs(page);
    await expect.poll(async () => (await listedKeys(page)).length).toBe(40);
    await expect.poll(() => page.locator('#fact-records b').textContent()).toBe('40');
    const modifiedBefore = await page.locator('#fact-modified time').getAttribute('datetime');

    await page.setInputFiles('#upload-file', { name: 'my report.json', mimeType: 'application/json', buffer: Buffer.from('{"ok":true}') });
    await expect.poll(() => page.inputValue('#upload-key')).toBe('my_report.json');
    await page.click('#upload-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('Uploaded "my_report.json" (11 B, application/json).');
    await expect.poll(() => inView(page, '#status')).toBe(true);
    await expect.poll(() => listedKeys(page)).toContain('my_report.json');
    await expect.poll(() => page.locator('#fact-records b').textContent()).toBe('41');
    await expect.poll(() => page.locator('#fact-modified time').getAttribute('datetime')).not.toBe(modifiedBefore);
    const stored = await api(s, 'GET', `/${id}/records/my_report.json`, { token });
    expect(stored.body.toString()).toBe('{"ok":true}');
    expect(confirms).toEqual([]);

    // The same key again: replaced only after a confirm().
    await page.setInputFiles('#upload-file', { name: 'my report.json', mimeType: 'application/json', buffer: Buffer.from('{"ok":2}') });
    await page.click('#upload-form button[type=submit]');
    await expect.poll(() => confirms).toEqual(['The record "my_report.json" exists. Replace it?']);
    await expect.poll(async () => (await api(s, 'GET', `/${id}/records/my_report.json`, { token })).body.toString()).toBe('{"ok":2}');
    // The page is done with that upload (it clears the form then) before the next file is chosen.
    await expect.poll(() => statusText(page)).toBe('Uploaded "my_report.json" (8 B, application/json).');

    // A bad key: the error shows where the user is, at the bottom of a long page.
    await page.setInputFiles('#upload-file', { name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('a') });
    await page.fill('#upload-key', 'no spaces allowed');
    await page.click('#upload-form button[type=submit]');
    await expect.poll(() => errorText(page)).toContain('A record key is 1-256 characters');
    await expect.poll(() => inView(page, '#error')).toBe(true);
    expect(problems).toEqual([]);
  });

  it('deletes a record after a confirm(), and copes with records and stores deleted elsewhere', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'shared', token);
    await createStore(s, 'other', token);
    for (const key of ['a', 'b', 'c', 'd']) await putRecord(s, id, key, key, 'text/plain', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}` });
    const confirms = acceptDialogs(page);
    await expect.poll(() => listedKeys(page)).toEqual(['a', 'b', 'c', 'd']);

    await page.getByRole('button', { name: 'Delete record b' }).click();
    await expect.poll(() => listedKeys(page)).toEqual(['a', 'c', 'd']);
    expect(confirms).toEqual(['Delete the record "b"?']);
    await expect.poll(() => statusText(page)).toBe('Deleted the record "b".');
    await expect.poll(async () => (await api(s, 'GET', `/${id}/records/b`, { token })).status).toBe(404);
    // Focus moves to the next row, not to the top of the page.
    await expect.poll(() => focusedText(page)).toBe('c');
    await expect.poll(() => page.locator('#fact-records b').textContent()).toBe('3');

    // Deleted elsewhere: opening it says so and its row goes.
    await api(s, 'DELETE', `/${id}/records/c`, { token });
    await keyLink(page, 'c').click();
    await expect.poll(() => errorText(page)).toBe('The record "c" no longer exists: it may have been deleted elsewhere.');
    await expect.poll(() => listedKeys(page)).toEqual(['a', 'd']);
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    await expect.poll(() => page.locator('#preview').evaluate((d: HTMLDialogElement) => d.open)).toBe(false);

    // The store deleted elsewhere: one message, and back to the list without it.
    await api(s, 'DELETE', `/${id}`, { token });
    await keyLink(page, 'd').click();
    await expect.poll(() => errorText(page)).toBe('The store "shared" no longer exists: it may have been deleted elsewhere.');
    await expect.poll(() => hashOf(page)).toBe('#/');
    await expect.poll(() => listedStores(page)).toEqual(['other']);
    await expect.poll(() => page.locator('#preview').evaluate((d: HTMLDialogElement) => d.open)).toBe(false);
    expect(problems).toEqual([]);
  });
});

describe('records changed or deleted elsewhere', () => {
  it('refreshes a row and an open preview (Refresh buttons), and a tab switch finds a deleted store gone', async () => {
    const s = await server();
    const id = await createStore(s, 'changing');
    await putRecord(s, id, 'doc', 'v1', 'text/plain');
    await putRecord(s, id, 'other', 'short', 'text/plain');
    const { page, problems } = await openApp(s, { width: 1280, hash: `#/stores/${id}` });
    const sizeOf = (key: string) => page.locator(`#key-rows tr[data-key="${key}"] td.num`).textContent();
    await expect.poll(() => sizeOf('doc')).toBe('2 B');

    // An open preview reads the record again on Refresh, and its row learns the new size.
    await keyLink(page, 'doc').click();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('v1');
    await putRecord(s, id, 'doc', 'version two', 'text/plain');
    await page.click('#preview-refresh');
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('version two');
    await expect.poll(() => page.locator('#preview-meta').textContent()).toContain('11 B');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('preview-refresh');
    await page.keyboard.press('Escape');
    await expect.poll(() => sizeOf('doc')).toBe('11 B');

    // The page's Refresh reads the list and the store's facts again.
    await putRecord(s, id, 'other', 'a much longer value', 'text/plain');
    await putRecord(s, id, 'new-one', 'n', 'text/plain');
    await page.click('#store-refresh');
    await expect.poll(() => sizeOf('other')).toBe('19 B');
    await expect.poll(() => listedKeys(page)).toEqual(['doc', 'new-one', 'other']);
    await expect.poll(() => page.locator('#fact-records b').textContent()).toBe('3');

    // A tab switch reads the store again: deleted elsewhere, the page says so instead of showing its forms.
    await api(s, 'DELETE', `/${id}`);
    await page.click('#tab-settings');
    await expect.poll(() => page.locator('#store-gone-title').textContent()).toBe('This store no longer exists');
    await expect.poll(() => page.locator('#store-gone').textContent()).toContain('The store "changing" was deleted');
    await expect.poll(() => page.locator('#name-form').count()).toBe(0);
    await expect.poll(() => page.locator('#delete-form').count()).toBe(0);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('store-gone-title');
    await checkPage(page, 'store-gone');
    await page.getByRole('link', { name: 'Back to the stores' }).click();
    await expect.poll(() => hashOf(page)).toBe('#/');
    expect(problems).toEqual([]);
  });
});

describe('the record preview as a dialog', () => {
  it('does not reopen on Back after closing, shows its copy confirmation above the backdrop, and keeps Close whole beside a long key', async () => {
    const s = await server();
    const id = await createStore(s, 'dialog');
    const longKey = `k${'x'.repeat(224)}`;
    await putRecord(s, id, 'short', 'hello', 'text/plain');
    await putRecord(s, id, longKey, 'long', 'text/plain');
    const { page, problems } = await openApp(s, { width: 375, hash: `#/stores/${id}/settings` });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
    const dialogOpen = () => page.locator('#preview').evaluate((d: HTMLDialogElement) => d.open);
    await page.locator('#name-form').waitFor();
    await page.click('#tab-records');
    await keyLink(page, 'short').click();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('hello');
    const closeWidth = await page.locator('#preview-close').evaluate((el) => el.getBoundingClientRect().width);

    // The copy confirmation shows inside the dialog, on top of everything.
    await page.getByRole('button', { name: 'Copy signed URL' }).click();
    await expect.poll(() =>
      page.evaluate(() => {
        const shown = Array.from(document.querySelectorAll<HTMLElement>('.notice')).find((el) => el.textContent === 'Copied to the clipboard.');
        if (!shown) return 'no message';
        const r = shown.getBoundingClientRect();
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return top && shown.contains(top) ? 'on top' : `covered by ${top?.tagName}`;
      }),
    ).toBe('on top');

    // Closed, then Back: the tab before, not the record again.
    await page.click('#preview-close');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    await expect.poll(dialogOpen).toBe(false);
    await page.goBack();
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}/settings`);
    await page.locator('#name-form').waitFor();
    expect(await dialogOpen()).toBe(false);

    // A 225-character key wraps; Close keeps its size.
    await page.click('#tab-records');
    await keyLink(page, longKey).click();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('long');
    await expect.poll(() => page.locator('#preview-close').evaluate((el) => el.getBoundingClientRect().width)).toBe(closeWidth);
    await expect.poll(() => page.locator('#preview-refresh').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await checkPage(page, 'record-long-key');
    expect(problems).toEqual([]);
  });
});

describe('an SVG record', () => {
  it('shows as an image from a blob URL, never as source text or inline markup', async () => {
    const s = await server();
    const id = await createStore(s, 'drawings');
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><script>document.title="pwned"</script>' +
      '<rect width="120" height="80" fill="teal"/></svg>';
    await putRecord(s, id, 'shape.svg', svg, 'image/svg+xml');
    const { page, problems } = await openApp(s, { width: 1280, hash: `#/stores/${id}/records/shape.svg` });
    const img = page.locator('#preview-body img');
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => (el.complete ? el.naturalWidth : 0))).toBe(120);
    await expect.poll(() => img.getAttribute('src')).toMatch(/^blob:/);
    expect(await page.locator('#preview-body pre, #preview-body svg').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
    expect(problems).toEqual([]);
  });
});

describe('switching tabs quickly', () => {
  it('shows the tab clicked last, even when the one clicked before answers later', async () => {
    const s = await server();
    const id = await createStore(s, 'quick');
    await putRecord(s, id, 'only', 'x', 'text/plain');
    const { page, problems } = await openApp(s, { width: 1280, hash: `#/stores/${id}` });
    await expect.poll(() => listedKeys(page)).toEqual(['only']);
    // Hold the store read that the Settings tab starts until Records was clicked.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const storeUrl = `${s.url}/v2/key-value-stores/${id}`;
    await page.route(storeUrl, async (route) => {
      await gate;
      await route.continue();
    });
    await page.click('#tab-settings');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}/settings`);
    await page.click('#tab-records');
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    // The late answer is used (the store's facts), and then the records count is read: the page has moved past it.
    const countRead = page.waitForRequest((request) => request.url().startsWith(`${storeUrl}/keys?limit=1000`));
    release();
    await countRead;
    await page.unroute(storeUrl);
    expect(await page.locator('#name-form').count()).toBe(0);
    expect(await listedKeys(page)).toEqual(['only']);
    expect(await page.locator('#tab-records').getAttribute('aria-current')).toBe('page');
    expect(problems).toEqual([]);
  });
});
