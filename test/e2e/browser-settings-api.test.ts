/** The storage browser's Settings and API tabs, in headless Chromium. */
import { describe, expect, it } from 'vitest';
import { checkPage, errorText, hashOf, listedStores, openApp, server, statusText, useBrowser } from './browser-app.js';
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
    expect(await page.locator('#name-help').textContent()).toContain('This store is named, so it is kept until you delete it.');
    expect(await page.locator('#remove-name-help').textContent()).toContain('it then expires 7 days after it was last used');
    await checkPage(page, 'settings');

    await page.fill('#store-name', 'after');
    await page.click('#name-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('The store is now named "after". Named stores are kept until you delete them.');
    expect(await page.locator('#store-title').textContent()).toBe('after');
    expect((await api(s, 'GET', `/${id}`, { token })).json().data.name).toBe('after');

    await page.fill('#store-name', 'not valid!');
    await page.click('#name-form button[type=submit]');
    await expect.poll(() => errorText(page)).toContain('A store name is 1-63 letters');
    expect((await api(s, 'GET', `/${id}`, { token })).json().data.name).toBe('after');

    await page.click('#remove-name');
    await expect.poll(() => statusText(page)).toBe('The store is now unnamed: it expires 7 days after it was last used unless you name it again.');
    expect(await page.locator('#store-title').textContent()).toBe('unnamed');
    expect((await api(s, 'GET', `/${id}`, { token })).json().data.name).toBeNull();
    expect(await page.locator('#name-help').textContent()).toContain('This store is unnamed: it expires 7 days after it was last used.');
    expect(await page.locator('#remove-name').count()).toBe(0);
    expect(hashOf(page)).toBe(`#/stores/${id}/settings`);
    expect(problems).toEqual([]);
  });

  it('sets who may read the store, each choice explained', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'access', token);
    await putRecord(s, id, 'hello', 'hi', 'text/plain', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}/settings` });
    const radios = page.locator('#access-form input[type=radio]');
    await expect.poll(() => radios.count()).toBe(4);
    expect(await radios.evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual([
      'RESTRICTED',
      'ANYONE_WITH_ID_CAN_READ',
      'ANYONE_WITH_NAME_CAN_READ',
      'FOLLOW_USER_SETTING',
    ]);
    for (const value of ['RESTRICTED', 'ANYONE_WITH_ID_CAN_READ', 'ANYONE_WITH_NAME_CAN_READ', 'FOLLOW_USER_SETTING']) {
      expect((await page.locator(`#access-${value}-help`).textContent())!.length, value).toBeGreaterThan(20);
    }
    await page.getByLabel('Anyone with the ID can read').check();
    await page.click('#access-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('Access is now anyone with the id can read (ANYONE_WITH_ID_CAN_READ).');
    expect((await api(s, 'GET', `/${id}`, { token })).json().data.generalAccess).toBe('ANYONE_WITH_ID_CAN_READ');
    await expect.poll(() => page.locator('#store-facts').textContent()).toContain('ANYONE_WITH_ID_CAN_READ');
    // On a server with tokens, the record is now readable without one.
    if (token) expect((await api(s, 'GET', `/${id}/records/hello`)).status).toBe(200);
    expect(problems).toEqual([]);
  });

  it('deletes the store only once its name is typed; a store deleted elsewhere is not reported deleted', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'doomed', token);
    const other = await createStore(s, 'gone-elsewhere', token);
    const { page, problems } = await openApp(s, { width, token, hash: `#/stores/${id}/settings` });
    const submit = page.locator('#delete-form button[type=submit]');
    await submit.waitFor();
    expect(await submit.isDisabled()).toBe(true);
    await page.fill('#delete-confirm', 'doome');
    expect(await submit.isDisabled()).toBe(true);
    await page.fill('#delete-confirm', 'doomed');
    expect(await submit.isEnabled()).toBe(true);
    await submit.click();
    await expect.poll(() => statusText(page)).toBe('Deleted the store "doomed".');
    expect(hashOf(page)).toBe('#/');
    expect((await api(s, 'GET', `/${id}`, { token })).status).toBe(404);
    await expect.poll(() => listedStores(page)).toEqual(['gone-elsewhere']);

    await page.goto(`${s.url}/#/stores/${other}/settings`);
    await page.locator('#delete-confirm').waitFor();
    await api(s, 'DELETE', `/${other}`, { token });
    await page.fill('#delete-confirm', 'gone-elsewhere');
    await page.click('#delete-form button[type=submit]');
    await expect.poll(() => errorText(page)).toBe('The store "gone-elsewhere" no longer exists: it may have been deleted elsewhere.');
    expect(await statusText(page)).toBe('');
    expect(hashOf(page)).toBe('#/');
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
    const urls = await page.locator('#endpoints code').allTextContents();
    expect(urls).toEqual([
      base,
      `${base}/keys`,
      `${base}/records/greeting`,
      `${base}/records/greeting`,
      `${base}/records/greeting`,
      `${base}/records`,
      `${base}/records/greeting/direct-upload-url`,
    ]);
    expect(await page.locator('#endpoints .method').allTextContents()).toEqual(['GET', 'GET', 'GET', 'PUT', 'DELETE', 'GET', 'GET']);
    expect(await page.locator('#endpoints button', { hasText: 'Try it' }).count()).toBe(5);

    await page.getByRole('button', { name: 'Copy the URL of List keys' }).click();
    await expect.poll(() => statusText(page)).toBe('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${base}/keys`);

    await page.getByRole('button', { name: 'Try it: Get record' }).click();
    await expect.poll(() => page.locator('#try-status').textContent()).toContain('200 OK');
    expect(await page.locator('#try-body').textContent()).toBe(JSON.stringify({ hello: 'world' }, null, 2));
    expect(await page.locator('#try-headers').textContent()).toContain('application/json');
    await checkPage(page, 'api');

    await page.fill('#api-key', 'missing-key');
    await page.getByRole('button', { name: 'Try it: Get record' }).click();
    await expect.poll(() => page.locator('#try-status').textContent()).toContain('404');
    expect(await page.locator('#try-body').textContent()).toContain('record-not-found');
    await page.getByRole('button', { name: 'Try it: All records as a ZIP' }).click();
    await expect.poll(() => page.locator('#try-body').textContent()).toMatch(/of application\/zip, not shown/);

    // Signed public URLs read without a token.
    const signed = await page.locator('#public-urls code').allTextContents();
    expect(signed).toHaveLength(2);
    for (const url of signed) {
      expect(url).toContain('signature=');
      expect((await fetch(url)).status, url).toBe(200);
    }
    if (token) {
      expect(await page.locator('#auth-help').textContent()).toContain('Authorization: Bearer <YOUR_API_TOKEN>');
      expect(await page.content()).not.toContain(token);
      const copied = await page.locator('[data-copy]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-copy')));
      expect(copied.length).toBeGreaterThan(7);
      for (const url of copied) expect(url).not.toContain(token);
    }
    expect(problems).toEqual([]);
  });
});
