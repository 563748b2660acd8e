/**
 * Helpers for the storage browser's tests: one Chromium per test file, a page per test at a
 * given width, and the checks every page gets (no accessibility violations that are serious or
 * critical, no horizontal overflow, touch targets of at least 24x24 px).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { ROOT, ensureBuilt, launchChromium, startTestServer, watchForProblems, type TestServer } from './support.js';

export const WIDTHS = [1280, 375] as const;
export const SCREENSHOTS = path.join(ROOT, 'test/e2e/screenshots');

let browser: Browser;
const cleanups: Array<() => Promise<void>> = [];

/** Call once at the top of a test file: a Chromium for the file, and cleanup after each test. */
export function useBrowser(): void {
  // A page's answers wait on a shared, loaded machine: polls and tests get room (never a speed assert).
  vi.setConfig({ testTimeout: 120_000, expect: { poll: { timeout: 20_000, interval: 50 } } });
  beforeAll(async () => {
    ensureBuilt();
    browser = await launchChromium();
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
}

export async function server(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(options);
  cleanups.push(() => s.dispose());
  return s;
}

export interface OpenPage {
  page: Page;
  /** Uncaught errors and CSP violations seen so far. */
  problems: string[];
}

/** A fresh browser context at `width` on `hash` of the server's page; with `token`, typed into the token form. */
export async function openApp(target: TestServer, options: { width?: number; hash?: string; token?: string } = {}): Promise<OpenPage> {
  const width = options.width ?? 1280;
  const context = await browser.newContext({ viewport: { width, height: width < 600 ? 740 : 800 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const problems = watchForProblems(page);
  if (options.token) {
    // As if typed into the token form before (the form itself is tested on its own): the page
    // keeps the token in this tab's sessionStorage.
    await page.addInitScript((token) => {
      if (sessionStorage.getItem('apify-kv-browser.token') === null) sessionStorage.setItem('apify-kv-browser.token', token);
    }, options.token);
  }
  await page.goto(`${target.url}/${options.hash ?? ''}`);
  return { page, problems };
}

/** Accepts every confirm() and remembers its messages. */
export function acceptDialogs(page: Page): string[] {
  const messages: string[] = [];
  page.on('dialog', (dialog) => {
    messages.push(dialog.message());
    void dialog.accept();
  });
  return messages;
}

/**
 * Every request the page sends from now on, in order, as `format` writes it (by default
 * "METHOD path?query"). The array fills as the page sends; emptying it starts a new count.
 */
export function recordRequests(page: Page, format = (method: string, url: URL) => `${method} ${url.pathname}${url.search}`): string[] {
  const seen: string[] = [];
  page.on('request', (request) => seen.push(format(request.method(), new URL(request.url()))));
  return seen;
}

export const hashOf = (page: Page) => new URL(page.url()).hash;
export const listedKeys = (page: Page) => page.locator('#key-rows tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')));
export const listedStores = (page: Page) =>
  page.locator('#store-rows tr td:first-child a').evaluateAll((links) => links.map((a) => a.textContent));
export const keyLink = (page: Page, key: string) => page.locator('#key-rows').getByRole('link', { name: key, exact: true });
export const statusText = (page: Page) => page.locator('#status').textContent();
export const errorText = (page: Page) => page.locator('#error').textContent();

/** Whether the element is fully inside the viewport. */
export async function inView(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
  });
}

/** Controls in the viewport that something else covers (a message, a dialog's backdrop): their labels. */
export async function coveredControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('button, a[href], input, select'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || el.closest('.sr-only') || el.matches('.skip-link, .skip-inline')) continue;
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) continue;
      const top = document.elementFromPoint(x, y);
      if (top && top !== el && !el.contains(top)) out.push(`${el.tagName.toLowerCase()} "${el.getAttribute('aria-label') ?? el.textContent?.trim()}"`);
    }
    return out;
  });
}

/** The checks every page gets, and a screenshot into test/e2e/screenshots/. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await checkAccessibility(page, name);
  await checkLayout(page, name);
  await fsp.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${page.viewportSize()!.width}.png`), fullPage: true });
}

/** No serious or critical accessibility violations, as axe finds them. */
export async function checkAccessibility(page: Page, name: string): Promise<void> {
  const width = page.viewportSize()!.width;
  // The page has no frames, so axe runs in it directly (legacy mode): the default cross-frame
  // mode opens an extra blank page per check, which doubles the time.
  const results = await new AxeBuilder({ page }).setLegacyMode().options({ resultTypes: ['violations'] }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `accessibility of ${name} at ${width} px`).toEqual([]);
}

/** No horizontal overflow, and touch targets of at least 24x24 px. */
export async function checkLayout(page: Page, name: string): Promise<void> {
  const width = page.viewportSize()!.width;

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `horizontal overflow of ${name} at ${width} px`).toBeLessThanOrEqual(0);

  const small = await page.evaluate(() => {
    const out: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('button, a[href], input, select, summary'))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not shown
      if (el.closest('.sr-only') || el.matches('.skip-link, .skip-inline')) continue; // shown on focus only
      if (r.width < 24 || r.height < 24) out.push(`${el.tagName.toLowerCase()}#${el.id} "${el.textContent?.trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
    return out;
  });
  expect(small, `touch targets under 24x24 px on ${name} at ${width} px`).toEqual([]);
}
