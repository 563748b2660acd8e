/** The storage browser with large records: direct uploads with progress, and nothing downloaded only to be looked at. */
import { describe, expect, it } from 'vitest';
import { checkPage, keyLink, listedKeys, openApp, recordRequests, server, statusText, useBrowser } from './browser-app.js';
import { api, createStore, putRecord } from './support.js';

useBrowser();

const TOKEN = 'e2e-large-token-1414';

describe.each([undefined, TOKEN])('large records (token: %s)', (token) => {
  it('uploads a file over 9 MiB through the direct-upload URL with a progress bar, and previews it without downloading it', async () => {
    const s = await server({ token });
    const id = await createStore(s, 'big', token);
    const { page, problems } = await openApp(s, { width: 375, token, hash: `#/stores/${id}` });
    const requests = recordRequests(page);
    await page.locator('#upload-form').waitFor();
    await checkPage(page, 'upload');
    // Every value the progress bar takes, as the page sets it.
    await page.evaluate(() => {
      const bar = document.getElementById('upload-progress') as HTMLProgressElement;
      const values: number[] = [];
      (window as unknown as { progressValues: number[] }).progressValues = values;
      new MutationObserver(() => values.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
    });
    const size = 9 * 1024 * 1024 + 512 * 1024;
    const body = Buffer.alloc(size, 0x5a);
    await page.setInputFiles('#upload-file', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: body });
    await page.click('#upload-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('Uploaded "big.bin" (9.5 MiB, application/octet-stream) through a direct-upload URL.');
    await expect.poll(() => listedKeys(page)).toEqual(['big.bin']);
    const stored = await api(s, 'GET', `/${id}/records/big.bin`, { token });
    expect(stored.status).toBe(200);
    expect(stored.body.length).toBe(size);
    expect(requests.some((r) => r.startsWith(`GET /v2/key-value-stores/${id}/records/big.bin/direct-upload-url`))).toBe(true);
    expect(requests.some((r) => r.startsWith(`PUT /v2/key-value-stores/${id}/records/big.bin/direct-upload?`))).toBe(true);
    // The bar moved, ended full, and is gone once the upload is done.
    const values = await page.evaluate(() => (window as unknown as { progressValues: number[] }).progressValues);
    expect(values.length).toBeGreaterThan(0);
    expect(values.at(-1)).toBe(size);
    await expect.poll(() => page.locator('#upload-progress').isHidden()).toBe(true);

    // The preview learns the type and size by HEAD: a binary's body is never fetched to say "no preview".
    requests.length = 0;
    await keyLink(page, 'big.bin').click();
    await expect.poll(() => page.locator('#preview-body').textContent()).toBe('Binary record of 9.5 MiB, no preview.');
    await expect.poll(() => page.locator('#preview-meta').textContent()).toContain(`${size.toLocaleString('en-US')} bytes`);
    const recordPath = `/v2/key-value-stores/${id}/records/big.bin`;
    expect(requests.filter((r) => r.endsWith(recordPath))).toEqual([`HEAD ${recordPath}`]);
    expect(problems).toEqual([]);
  });
});

describe('"Try it" on the records ZIP', () => {
  it('sends a HEAD and shows the headers, never downloading the whole store', async () => {
    const s = await server();
    const id = await createStore(s, 'zipped');
    for (let i = 0; i < 3; i++) await putRecord(s, id, `part-${i}`, Buffer.alloc(256 * 1024, i), 'application/octet-stream');
    const { page, problems } = await openApp(s, { width: 1280, hash: `#/stores/${id}/api` });
    const requests = recordRequests(page);
    await page.getByRole('button', { name: 'Try it: All records as a ZIP' }).click();
    await expect.poll(() => page.locator('#try-status').textContent()).toContain(`200 OK HEAD ${s.url}/v2/key-value-stores/${id}/records`);
    await expect.poll(() => page.locator('#try-headers').textContent()).toContain('application/zip');
    await expect.poll(() => page.locator('#try-body').textContent()).toContain('Not downloaded');
    expect(requests.filter((r) => r.endsWith(`/${id}/records`))).toEqual([`HEAD /v2/key-value-stores/${id}/records`]);
    expect(problems).toEqual([]);
  });
});
