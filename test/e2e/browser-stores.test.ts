/** The storage browser's stores list, creating stores, addresses, and the token form, in headless Chromium. */
import { describe, expect, it } from 'vitest';
import {
  checkAccessibility,
  checkLayout,
  checkPage,
  errorText,
  hashOf,
  listedStores,
  openApp,
  server,
  statusText,
  useBrowser,
} from './browser-app.js';
import { api, createStore, putRecord } from './support.js';

useBrowser();

const TOKEN = 'e2e-secret-token-3141';

/** Every flow runs at desktop width on an open server, and at phone width on one that wants a token. */
const VARIANTS = [
  { width: 1280, token: undefined },
  { width: 375, token: TOKEN },
] as const;

describe.each(VARIANTS)('storage browser at $width px (token: $token)', ({ width, token }) => {
  it('lists named stores with records, size and dates, and unnamed ones only when asked', async () => {
    const s = await server({ token });
    const reports = await createStore(s, 'reports', token);
    await createStore(s, 'photos', token);
    for (const key of ['a', 'b', 'c']) await putRecord(s, reports, key, `value ${key}`, 'text/plain', token);
    const unnamed = (await api(s, 'POST', '', { token })).json().data.id as string;
    await putRecord(s, unnamed, 'only', 'x', 'text/plain', token);

    const { page, problems } = await openApp(s, { width, token });
    await expect.poll(() => listedStores(page)).toEqual(['photos', 'reports']);
    const row = page.locator('#store-rows tr', { has: page.getByRole('link', { name: 'reports', exact: true }) });
    await expect.poll(() => row.locator('td').nth(1).textContent()).toBe('3');
    await expect.poll(() => row.locator('td').nth(2).textContent()).toBe('21 B');
    await expect.poll(() => row.locator('time').first().getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    await expect.poll(() => page.locator('#include-unnamed').isChecked()).toBe(false);
    await checkPage(page, 'stores');

    await page.getByLabel('Include unnamed key-value stores').check();
    await expect.poll(() => listedStores(page)).toEqual(['photos', 'reports', 'unnamed']);
    await expect.poll(() => page.locator(`#store-rows tr[data-store-id="${unnamed}"]`).textContent()).toContain(unnamed);
    await expect.poll(() => hashOf(page)).toBe('#/?unnamed=1');
    // The choice is part of the address, so a reload keeps it.
    await page.reload();
    await expect.poll(() => listedStores(page)).toEqual(['photos', 'reports', 'unnamed']);
    await expect.poll(() => page.locator('#include-unnamed').isChecked()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('creates stores, refuses a name that exists, and keeps the place through reload, back and forward', async () => {
    const s = await server({ token });
    await createStore(s, 'taken', token);
    const { page, problems } = await openApp(s, { width, token });
    await expect.poll(() => listedStores(page)).toEqual(['taken']);

    await page.fill('#new-store', 'fresh');
    await page.click('#create-form button[type=submit]');
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('fresh');
    const id = (await api(s, 'GET', '/~fresh', { token })).json().data.id as string;
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    await expect.poll(() => statusText(page)).toBe('Created the store "fresh".');
    // Focus moved to the new page's heading.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('store-title');

    await page.click('#tab-settings');
    await page.locator('#name-form').waitFor();
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}/settings`);
    await page.click('#tab-api');
    await page.locator('#endpoints li').first().waitFor();
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}/api`);
    await page.goBack();
    await page.locator('#name-form').waitFor();
    await expect.poll(() => page.locator('#tab-settings').getAttribute('aria-current')).toBe('page');
    await page.goBack();
    await page.locator('#records-title').waitFor();
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}`);
    await page.goForward();
    await page.locator('#name-form').waitFor();
    await page.reload();
    await page.locator('#name-form').waitFor();
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('fresh');
    await expect.poll(() => page.locator('#tab-settings').getAttribute('aria-current')).toBe('page');

    // A name that exists is refused, not silently opened.
    await page.getByRole('link', { name: 'Key-value stores' }).click();
    await expect.poll(() => listedStores(page)).toEqual(['fresh', 'taken']);
    await page.fill('#new-store', 'taken');
    await page.click('#create-form button[type=submit]');
    await expect.poll(() => errorText(page)).toBe('A store named "taken" already exists: choose another name, or open it from the list.');
    await expect.poll(() => hashOf(page)).toBe('#/');
    await page.fill('#new-store', '-bad-');
    await page.click('#create-form button[type=submit]');
    await expect.poll(() => errorText(page)).toContain('A store name is 1-63 letters');

    // No name: an unnamed store, opened at once.
    await page.fill('#new-store', '');
    await page.click('#create-form button[type=submit]');
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('unnamed');
    const stores = (await api(s, 'GET', '?unnamed=true', { token })).json().data.items as Array<{ id: string; name: string | null; generalAccess: string }>;
    const created = stores.filter((st) => st.name === null);
    expect(created).toHaveLength(1);
    // Said in words: an unnamed store by its id, and the access setting by its meaning, not the API's constant.
    await expect.poll(() => statusText(page)).toBe(`Created an unnamed store (ID ${created[0]!.id}). It expires 7 days after its last use unless you name it.`);
    const accessWords: Record<string, string> = {
      FOLLOW_USER_SETTING: "Follow the account's setting",
      RESTRICTED: 'Restricted',
      ANYONE_WITH_ID_CAN_READ: 'Anyone with the ID can read',
      ANYONE_WITH_NAME_CAN_READ: 'Anyone with the name can read',
    };
    await expect.poll(() => page.locator('#fact-access b').textContent()).toBe(accessWords[created[0]!.generalAccess]);
    expect(await page.locator('#store-facts').textContent()).not.toMatch(/FOLLOW_USER_SETTING|RESTRICTED|ANYONE_WITH/);
    expect(problems).toEqual([]);
  });

  it('says when an address names nothing', async () => {
    const s = await server({ token });
    const present = await createStore(s, 'present', token);
    const { page } = await openApp(s, { width, token, hash: '#/stores/no-such-store-id/settings' });
    await expect.poll(() => errorText(page)).toBe('The store "no-such-store-id" no longer exists: it may have been deleted elsewhere.');
    await expect.poll(() => hashOf(page)).toBe('#/');
    // The message belongs to that page: opening another store leaves it behind.
    await page.getByRole('link', { name: 'present', exact: true }).click();
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('present');
    await expect.poll(() => errorText(page)).toBe('');
    // A store the page knows by name is named in the message, not given by its id.
    await page.getByRole('link', { name: 'Key-value stores' }).click();
    await expect.poll(() => listedStores(page)).toEqual(['present']);
    await api(s, 'DELETE', `/${present}`, { token });
    await page.getByRole('link', { name: 'present', exact: true }).click();
    await expect.poll(() => errorText(page)).toBe('The store "present" no longer exists: it may have been deleted elsewhere.');
    await page.goto(`${s.url}/#/nowhere/at/all`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Page not found');
  });
});

describe('storage browser on a server that wants a token', () => {
  it('says so, takes the token, refuses a wrong one, and never shows it', async () => {
    const s = await server({ token: TOKEN });
    await createStore(s, 'private', TOKEN);
    const { page, problems } = await openApp(s, { width: 375 });
    await expect.poll(() => errorText(page)).toBe('This server needs an API token: enter it at the top and press "Use token".');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('token');
    // The message region stays in view.
    await expect.poll(() => page.locator('#error').evaluate((el) => el.getBoundingClientRect().bottom <= window.innerHeight)).toBe(true);

    await page.fill('#token', 'wrong-token');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => errorText(page)).toContain('The server refused this API token');

    await page.fill('#token', TOKEN);
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => listedStores(page)).toEqual(['private']);
    await expect.poll(() => errorText(page)).toBe('');
    // The token is in no attribute, text or address of the page.
    expect(await page.content()).not.toContain(TOKEN);
    expect(page.url()).not.toContain(TOKEN);

    await page.click('#token-forget');
    await expect.poll(() => errorText(page)).toContain('This server needs an API token');
    await expect.poll(() => page.evaluate(() => sessionStorage.getItem('apify-kv-browser.token'))).toBeNull();
    expect(problems).toEqual([]);
  });
});

describe('a deep link on a server that wants a token', () => {
  it('keeps the address through the token prompt and then opens the record', async () => {
    const s = await server({ token: TOKEN });
    const id = await createStore(s, 'private-deep', TOKEN);
    await putRecord(s, id, 'report.json', '{"rows":3}', 'application/json', TOKEN);
    const link = `#/stores/${id}/records/report.json`;
    const { page, problems } = await openApp(s, { width: 375, hash: link });
    // Without a token the private store answers 404: that is no proof it was deleted.
    await expect.poll(() => errorText(page)).toBe(
      'The store "' + id + '" was not found without a token. This server needs an API token for private stores: enter it at the top and press "Use token".',
    );
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('token');
    expect(hashOf(page)).toBe(link);
    await page.fill('#token', TOKEN);
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe(JSON.stringify({ rows: 3 }, null, 2));
    await expect.poll(() => page.locator('#preview-title').textContent()).toBe('report.json');
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('private-deep');
    await expect.poll(() => hashOf(page)).toBe(link);
    await expect.poll(() => errorText(page)).toBe('');
    expect(problems).toEqual([]);
  });
});

describe('the checks every page gets', () => {
  it('fail on a page with an unlabelled field, a tiny button and a too-wide block', async () => {
    const s = await server();
    const { page } = await openApp(s, { width: 375 });
    await page.locator('#store-rows').waitFor({ state: 'attached' });
    await page.evaluate(() => {
      const main = document.getElementById('main')!;
      main.insertAdjacentHTML('beforeend', '<input id="bare"><button id="tiny" class="tiny">x</button><div id="wide">wide</div>');
      document.getElementById('tiny')!.setAttribute('aria-label', 'tiny');
      Object.assign(document.getElementById('tiny')!.style, { minHeight: '0', minWidth: '0', padding: '0', height: '12px', width: '12px' });
      Object.assign(document.getElementById('wide')!.style, { width: '900px' });
    });
    const attempt = (check: typeof checkPage) => check(page, 'broken').then(() => null, (err: Error) => err.message);
    const failure = await attempt(checkAccessibility);
    expect(failure).toContain('accessibility of broken at 375 px');
    expect(failure).toContain('label (critical)');
    const overflow = await attempt(checkLayout);
    expect(overflow).toContain('horizontal overflow');
    await page.evaluate(() => document.getElementById('wide')!.remove());
    const small = await attempt(checkLayout);
    expect(small).toContain('touch targets under 24x24 px');
    expect(small).toContain('button#tiny');
  });
});

describe('an anonymous visitor on a server that wants a token', () => {
  it('reads a public store but gets no controls that would fail: no upload, delete, settings forms or new store', async () => {
    const s = await server({ token: TOKEN });
    const id = await createStore(s, 'public-read', TOKEN);
    await putRecord(s, id, 'open.txt', 'anyone may read', 'text/plain', TOKEN);
    expect((await api(s, 'PUT', `/${id}`, { token: TOKEN, body: '{"generalAccess":"ANYONE_WITH_ID_CAN_READ"}', contentType: 'application/json' })).status).toBe(200);
    const { page, problems } = await openApp(s, { width: 375, hash: `#/stores/${id}` });
    await expect.poll(() => page.locator('#key-rows tr').count()).toBe(1);
    await expect.poll(() => page.locator('.read-only-note').textContent()).toContain('only its owner can upload, delete or change settings');
    expect(await page.locator('#upload-form').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
    await checkPage(page, 'store-read-only');
    // Reading still works.
    await page.getByRole('link', { name: 'open.txt', exact: true }).click();
    await expect.poll(() => page.locator('#preview-body pre').textContent()).toBe('anyone may read');
    await page.keyboard.press('Escape');

    await page.click('#tab-settings');
    await expect.poll(() => page.locator('#settings-read-only').textContent()).toContain('Anyone with the ID can read');
    expect(await page.locator('#name-form, #access-form, #delete-form').count()).toBe(0);

    // The owner's token brings the controls back.
    await page.fill('#token', TOKEN);
    await page.click('#token-form button[type=submit]');
    await page.locator('#delete-form').waitFor();
    await page.click('#tab-records');
    await page.locator('#upload-form').waitFor();
    await expect.poll(() => page.getByRole('button', { name: 'Delete record open.txt' }).count()).toBe(1);

    // Without a token, the stores page offers no "Create store" that would fail.
    await page.click('#token-forget');
    await page.goto(`${s.url}/#/`);
    await expect.poll(() => errorText(page)).toContain('This server needs an API token');
    expect(await page.locator('#create-form').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
