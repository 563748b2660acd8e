/** The storage browser's Settings and API tabs, in headless Chromium. */
import { describe, expect, it } from 'vitest';
import { checkPage, coveredControls, errorText, hashOf, inView, listedStores, openApp, server, statusText, useBrowser } from './browser-app.js';
import { api, createStore, putRecord } from './support.js';

useBrowser();

const TOKEN = 'e2e-settings-token-1618';
const VARIANTS = [
  { width: 1280, token: undefined },
  { width: 375, token: TOKEN },
] as const;

describe.each(VARIANTS)('store settings and API at $width px (token: $token)', ({ width, token }) => {
  it('renames the store and removes its name, saying what that does to retention', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'before', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}/settings` });
    await expect.poll(() => page.inputValue('#store-name')).toBe('before');
    await expect.poll(() => page.locator('#name-help').textContent()).toContain('This store is named, so it is kept until you delete it.');
    await expect.poll(() => page.locator('#remove-name-help').textContent()).toContain('it then expires 7 days after it was last used');
    await checkPage(page, 'settings');

    await page.fill('#store-name', 'after');
    await page.click('#name-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('The store is now named "after". Named stores are kept until you delete them.');
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('after');
    await expect.poll(async () => (await api(s, 'GET', `/${id}`, { token })).json().data.name).toBe('after');

    await page.fill('#store-name', 'not valid!');
    await page.click('#name-form button[type=submit]');
    await expect.poll(() => errorText(page)).toContain('A store name is 1-63 letters');
    await expect.poll(async () => (await api(s, 'GET', `/${id}`, { token })).json().data.name).toBe('after');

    await page.click('#remove-name');
    await expect.poll(() => statusText(page)).toBe('The store is now unnamed: it expires 7 days after it was last used unless you name it again.');
    await expect.poll(() => page.locator('#store-title').textContent()).toBe('unnamed');
    await expect.poll(async () => (await api(s, 'GET', `/${id}`, { token })).json().data.name).toBeNull();
    await expect.poll(() => page.locator('#name-help').textContent()).toContain('This store is unnamed: it expires 7 days after it was last used.');
    await expect.poll(() => page.locator('#remove-name').count()).toBe(0);
    await expect.poll(() => hashOf(page)).toBe(`#/stores/${id}/settings`);
    expect(problems).toEqual([]);
  });

  it('sets who may read the store, each choice explained', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'access', token);
    await putRecord(s, id, 'hello', 'hi', 'text/plain', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}/settings` });
    const radios = page.locator('#access-form input[type=radio]');
    await expect.poll(() => radios.count()).toBe(4);
    await expect.poll(() => radios.evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual([
      'RESTRICTED',
      'ANYONE_WITH_ID_CAN_READ',
      'ANYONE_WITH_NAME_CAN_READ',
      'FOLLOW_USER_SETTING',
    ]);
    for (const value of ['RESTRICTED', 'ANYONE_WITH_ID_CAN_READ', 'ANYONE_WITH_NAME_CAN_READ', 'FOLLOW_USER_SETTING']) {
      await expect.poll(async () => (await page.locator(`#access-${value}-help`).textContent())?.length ?? 0, { message: value }).toBeGreaterThan(20);
    }
    // Only a server with tokens checks access; without, the page says the setting has no effect.
    if (token) await expect.poll(() => page.locator('#access-note').count()).toBe(0);
    else await expect.poll(() => page.locator('#access-note').textContent()).toContain('This server takes no API token');
    if (!token) expect(await page.locator('#access-note').textContent()).toContain('so this setting has no effect here');
    await page.getByLabel('Anyone with the ID can read').check();
    await page.click('#access-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('Access is now anyone with the id can read (ANYONE_WITH_ID_CAN_READ).');
    // Focus stays on the button the user pressed (it is disabled while saving).
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent ?? null)).toBe('Save access');
    await expect.poll(async () => (await api(s, 'GET', `/${id}`, { token })).json().data.generalAccess).toBe('ANYONE_WITH_ID_CAN_READ');
    await expect.poll(() => page.locator('#fact-access b').textContent()).toBe('Anyone with the ID can read');
    // On a server with tokens, the record is now readable without one.
    if (token) await expect.poll(async () => (await api(s, 'GET', `/${id}/records/hello`)).status).toBe(200);
    expect(problems).toEqual([]);
  });

  it('deletes the store only once its name is typed; a store deleted elsewhere is not reported deleted', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'doomed', token);
    const other = await createStore(s, 'gone-elsewhere', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}/settings` });
    const submit = page.locator('#delete-form button[type=submit]');
    await submit.waitFor();
    await expect.poll(() => submit.isDisabled()).toBe(true);
    await page.fill('#delete-confirm', 'doome');
    await expect.poll(() => submit.isDisabled()).toBe(true);
    await page.fill('#delete-confirm', 'doomed');
    await expect.poll(() => submit.isEnabled()).toBe(true);
    await submit.click();
    await expect.poll(() => statusText(page)).toBe('Deleted the store "doomed".');
    await expect.poll(() => hashOf(page)).toBe('#/');
    await expect.poll(async () => (await api(s, 'GET', `/${id}`, { token })).status).toBe(404);
    await expect.poll(() => listedStores(page)).toEqual(['gone-elsewhere']);

    await page.goto(`${s.url}/#/stores/${other}/settings`);
    await page.locator('#delete-confirm').waitFor();
    await api(s, 'DELETE', `/${other}`, { token });
    await page.fill('#delete-confirm', 'gone-elsewhere');
    await page.click('#delete-form button[type=submit]');
    await expect.poll(() => errorText(page)).toBe('The store "gone-elsewhere" no longer exists: it may have been deleted elsewhere.');
    await expect.poll(() => statusText(page)).toBe('');
    await expect.poll(() => hashOf(page)).toBe('#/');
    expect(problems).toEqual([]);
  });

  it('lists the endpoints as full URLs to copy, runs the GET ones, and never shows the token', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'api-demo', token);
    await putRecord(s, id, 'greeting', '{"hello":"world"}', 'application/json', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}/api` });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
    const endpoints = page.locator('#endpoints li');
    await expect.poll(() => endpoints.count()).toBe(7);
    // The first key is suggested for the record endpoints.
    await expect.poll(() => page.inputValue('#api-key')).toBe('greeting');
    const base = `${s.url}/v2/key-value-stores/${id}`;
    await expect.poll(() => page.locator('#endpoints code').allTextContents()).toEqual([
      base,
      `${base}/keys`,
      `${base}/records/greeting`,
      `${base}/records/greeting`,
      `${base}/records/greeting`,
      `${base}/records`,
      `${base}/records/greeting/direct-upload-url`,
    ]);
    await expect.poll(() => page.locator('#endpoints .method').allTextContents()).toEqual(['GET', 'GET', 'GET', 'PUT', 'DELETE', 'GET', 'GET']);
    await expect.poll(() => page.locator('#endpoints button', { hasText: 'Try it' }).count()).toBe(5);

    await page.getByRole('button', { name: 'Copy the URL of List keys' }).click();
    await expect.poll(() => statusText(page)).toBe('Copied to the clipboard.');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(`${base}/keys`);

    await page.getByRole('button', { name: 'Try it: Get record' }).click();
    await expect.poll(() => page.locator('#try-status').textContent()).toContain('200 OK');
    // Focus moves to the answer (not dropped to the page's body).
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('try-title');
    await expect.poll(() => page.locator('#try-body').textContent()).toBe(JSON.stringify({ hello: 'world' }, null, 2));
    await expect.poll(() => page.locator('#try-headers').textContent()).toContain('application/json');
    await checkPage(page, 'api');

    await page.fill('#api-key', 'missing-key');
    await page.getByRole('button', { name: 'Try it: Get record' }).click();
    await expect.poll(() => page.locator('#try-status').textContent()).toContain('404');
    await expect.poll(() => page.locator('#try-body').textContent()).toContain('record-not-found');
    await page.getByRole('button', { name: 'Try it: All records as a ZIP' }).click();
    await expect.poll(() => page.locator('#try-body').textContent()).toContain('Not downloaded');

    // Signed public URLs read without a token.
    await expect.poll(() => page.locator('#public-urls code').allTextContents()).toHaveLength(2);
    const signed = await page.locator('#public-urls code').allTextContents();
    for (const url of signed) {
      expect(url).toContain('signature=');
      expect((await fetch(url)).status, url).toBe(200);
    }
    if (token) {
      await expect.poll(() => page.locator('#auth-help').textContent()).toContain('Authorization: Bearer <YOUR_API_TOKEN>');
      expect(await page.content()).not.toContain(token);
      await expect.poll(() => page.locator('[data-copy]').count()).toBeGreaterThan(7);
      const copied = await page.locator('[data-copy]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-copy')));
      for (const url of copied) expect(url).not.toContain(token);
    }
    expect(problems).toEqual([]);
  });
});

describe('the API tab on a phone (390 px)', () => {
  it('brings each "Try it" answer into view, covers no button with a message, and shows a 404 as a failure', async () => {
    const s = await server();
    const id = await createStore(s, 'try-demo');
    await putRecord(s, id, 'greeting', '{"hello":"world"}', 'application/json');
    const { page, problems } = await openApp(s, { width: 390, hash: `#/stores/${id}/api` });
    await expect.poll(() => page.inputValue('#api-key')).toBe('greeting');

    await page.getByRole('button', { name: 'Try it: Get store' }).click();
    await expect.poll(() => page.locator('#try-status').textContent()).toContain('200 OK');
    // The answer starts inside the viewport, and focus is on it.
    await expect.poll(() => page.locator('#try-title').evaluate((el) => el.getBoundingClientRect().top)).toBeGreaterThanOrEqual(0);
    await expect.poll(() => inView(page, '#try-title')).toBe(true);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('try-title');
    await expect.poll(() => page.locator('#try-status').getAttribute('class')).toContain('ok');
    await expect.poll(() => coveredControls(page)).toEqual([]);

    // Back up to the next endpoint's buttons: nothing lies over them.
    await page.getByRole('button', { name: 'Try it: List keys' }).scrollIntoViewIfNeeded();
    await expect.poll(() => coveredControls(page)).toEqual([]);
    await page.getByRole('button', { name: 'Try it: List keys' }).click();
    await expect.poll(() => page.locator('#try-title').textContent()).toBe('Response: List keys');
    await expect.poll(() => inView(page, '#try-title')).toBe(true);
    await expect.poll(() => coveredControls(page)).toEqual([]);

    // A 404 is a failure: red, in the answer, and no green "success" message anywhere.
    await page.fill('#api-key', 'missing-key');
    await page.getByRole('button', { name: 'Try it: Get record' }).click();
    await expect.poll(() => page.locator('#try-status').getAttribute('class')).toContain('bad');
    await expect.poll(() => page.locator('#try-status').textContent()).toContain('404');
    await expect.poll(() => inView(page, '#try-title')).toBe(true);
    await expect.poll(() => page.locator('#try-status').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(143, 28, 19)');
    expect(await statusText(page)).toBe('');
    await expect.poll(() => coveredControls(page)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
