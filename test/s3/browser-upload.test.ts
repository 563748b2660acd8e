/**
 * The storage browser on a server over S3 (Ceph RGW): a file over 9 MiB uploads from the page,
 * with progress, through the server's own direct-upload route (the page's Content-Security-Policy
 * lets it connect to its own origin only, so a presigned bucket URL would be blocked), and reads
 * back byte for byte. In Chromium, as the other browser suites (test/e2e/).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { checkPage, listedKeys, openApp, recordRequests, server, statusText, useBrowser } from '../e2e/browser-app.js';
import { api, createStore } from '../e2e/support.js';
import { useS3 } from '../support/s3-service.js';

const s3 = useS3();
useBrowser();

const TOKEN = 'e2e-s3-upload-token-2323';

describe('the storage browser over S3 storage', () => {
  it('uploads a file over 9 MiB from the page with a progress bar, through its own server, and it reads back byte for byte', async () => {
    const { service, bucket } = s3;
    const s = await server({
      token: TOKEN,
      storage: `s3://${bucket}/browser-upload`,
      s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    });
    const id = await createStore(s, 'big-on-s3', TOKEN);
    const { page, problems } = await openApp(s, { width: 1280, token: TOKEN, hash: `#/stores/${id}` });
    // As "METHOD origin path": a request to the bucket itself would show by its origin.
    const requests = recordRequests(page, (method, url) => `${method} ${url.origin}${url.pathname}`);
    await page.locator('#upload-form').waitFor();
    await checkPage(page, 's3-upload');
    await page.evaluate(() => {
      const bar = document.getElementById('upload-progress') as HTMLProgressElement;
      const values: number[] = [];
      (window as unknown as { progressValues: number[] }).progressValues = values;
      new MutationObserver(() => values.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
    });
    // 9.5 MiB of bytes that differ along the file, so a part lost, doubled or reordered shows.
    const size = 9 * 1024 * 1024 + 512 * 1024;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) body.writeUInt32LE((i * 2654435761 + 23) >>> 0, i);
    await page.setInputFiles('#upload-file', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: body });
    await page.click('#upload-form button[type=submit]');
    await expect.poll(() => statusText(page)).toBe('Uploaded "big.bin" (9.5 MiB, application/octet-stream) through a direct-upload URL.');
    await expect.poll(() => listedKeys(page)).toEqual(['big.bin']);

    const stored = await api(s, 'GET', `/${id}/records/big.bin`, { token: TOKEN });
    expect(stored.status).toBe(200);
    expect(stored.body.length).toBe(size);
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    expect(md5(stored.body)).toBe(md5(body));

    // The page asked for its own server's route and sent the body there, never to the bucket.
    const recordUrl = `${s.url}/v2/key-value-stores/${id}/records/big.bin`;
    expect(requests).toContain(`GET ${recordUrl}/direct-upload-url`);
    expect(requests).toContain(`PUT ${recordUrl}/direct-upload`);
    expect(requests.filter((r) => r.includes(service.endpoint))).toEqual([]);
    // The bar moved, ended full, and is gone once the upload is done.
    const values = await page.evaluate(() => (window as unknown as { progressValues: number[] }).progressValues);
    expect(values.length).toBeGreaterThan(0);
    expect(values.at(-1)).toBe(size);
    await expect.poll(() => page.locator('#upload-progress').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });
});
