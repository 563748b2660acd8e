/** Where the browser tests get their Chromium (support.ts), and what they say when there is none. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findChromium, launchChromium } from './support.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Chromium for the browser tests', () => {
  it('takes CHROMIUM_PATH first, and says how to fix it when it names nothing', async () => {
    vi.stubEnv('CHROMIUM_PATH', '/nonexistent/chromium');
    await expect(findChromium()).rejects.toThrow(/CHROMIUM_PATH is \/nonexistent\/chromium, which does not exist\. Set CHROMIUM_PATH/);
  });

  it('launches without any set-up, and keeps the checks the tests rely on (CORS stays on)', async () => {
    vi.stubEnv('CHROMIUM_PATH', '');
    const found = await findChromium();
    expect(found.args).toContain('--no-sandbox');
    expect(found.args).not.toContain('--disable-web-security');
    expect(found.args).not.toContain('--single-process');
    const browser = await launchChromium();
    try {
      // Two contexts one after the other: the browser outlives the first one.
      for (let i = 0; i < 2; i++) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.setContent('<p id="p">ready</p>');
        expect(await page.textContent('#p')).toBe('ready');
        await context.close();
      }
    } finally {
      await browser.close();
    }
  }, 600_000);
});
