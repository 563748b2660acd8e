/** examples/browser: the page, served by its serve.mjs, works in headless Chromium through the IIFE bundle. */
import { rmSync } from 'node:fs';
import path from 'node:path';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { ensureBuilt, launchChromium, watchForProblems } from '../e2e/support.js';
import { EXAMPLES, start, workDir } from './run.js';

let browser: Browser;
let dir: string;
let server: ReturnType<typeof start> | undefined;

beforeAll(async () => {
  ensureBuilt();
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the browser example lists the record it wrote', async () => {
  const work = workDir();
  dir = work.dir;
  server = start(process.execPath, [path.join(EXAMPLES, 'browser/serve.mjs')], { cwd: dir, env: work.env });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /Open (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    server!.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}`)));
  });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems = watchForProblems(page);
    await page.goto(address);
    const status = page.locator('#status');
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toMatch(/^Done: visit at \d{4}-/);
    expect(await page.locator('#keys li').allTextContents()).toEqual([expect.stringMatching(/^visit \(\d+ bytes\)$/)]);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
}, 60_000);
