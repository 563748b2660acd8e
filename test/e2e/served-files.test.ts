/**
 * The storage browser's files as the server sends them: headers, methods, and the bundle found
 * next to the built server (ESM and CJS builds), or a clear 404 when it was never built.
 */
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as ServerModule from '../../src/server/index.js';
import { ROOT, ensureBuilt, startTestServer } from './support.js';

const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => ensureBuilt(), 180_000);

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serverFrom(mod: typeof ServerModule) {
  await fsp.mkdir(path.join(ROOT, '.tmp'), { recursive: true });
  const storageDir = await fsp.mkdtemp(path.join(ROOT, '.tmp', 'served-'));
  const server = await mod.startServer({ host: '127.0.0.1', port: 0, storageDir, logger: { warn: () => {} } });
  cleanups.push(async () => {
    await server.close();
    await fsp.rm(storageDir, { recursive: true, force: true });
  });
  return server;
}

describe('storage browser files', () => {
  it('serves the page with a strict CSP and no token needed, even when the API wants one', async () => {
    const s = await startTestServer({ token: 'needed-for-the-api' });
    cleanups.push(() => s.dispose());
    const res = await fetch(`${s.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("img-src 'self' blob: data:");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toContain('<script src="/assets/storage-browser.js" defer></script>');
    // No inline script or style for the CSP to refuse.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);

    for (const asset of [
      '/assets/storage-browser.js',
      '/assets/storage-browser.js.map',
      '/assets/storage-browser.css',
      '/assets/apify-kv.min.js',
      '/assets/apify-kv.esm.js',
      '/assets/apify-kv-progress.min.js',
      '/assets/apify-kv-progress.esm.js',
    ]) {
      const r = await fetch(`${s.url}${asset}`);
      expect(r.status, asset).toBe(200);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await r.text()).length).toBeGreaterThan(100);
    }
    // The API itself still wants the token.
    expect((await fetch(`${s.url}/v2/key-value-stores`)).status).toBe(401);
  });

  it('answers HEAD, refuses other methods, and 404s unknown paths as the API does', async () => {
    const s = await startTestServer();
    cleanups.push(() => s.dispose());
    const head = await fetch(`${s.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(500);
    expect(await head.text()).toBe('');

    const post = await fetch(`${s.url}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect((await post.json()).error.type).toBe('method-not-allowed');

    for (const missing of ['/index.htm', '/assets/', '/assets/../package.json', '/assets/%2e%2e/package.json', '/assets/apify-kv.min.js/x']) {
      const res = await fetch(`${s.url}${missing}`);
      expect(res.status, missing).toBe(404);
      expect((await res.json()).error.type).toBe('page-not-found');
    }
  });

  it('finds the page and the bundle next to the built server, ESM and CJS', async () => {
    const esm = (await import(pathToFileURL(path.join(ROOT, 'dist/server/index.js')).href)) as typeof ServerModule;
    const cjs = createRequire(import.meta.url)(path.join(ROOT, 'dist/server/index.cjs')) as typeof ServerModule;
    const files = {
      '/assets/apify-kv.min.js': 'dist/browser/apify-kv.min.js',
      '/': 'dist/web/index.html',
      '/assets/storage-browser.js': 'dist/web/storage-browser.js',
      '/assets/storage-browser.css': 'dist/web/storage-browser.css',
    };
    for (const mod of [esm, cjs]) {
      const server = await serverFrom(mod);
      for (const [route, file] of Object.entries(files)) {
        const res = await fetch(`${server.url}${route}`);
        expect(res.status, route).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(await fsp.readFile(path.join(ROOT, file))), route).toBe(true);
      }
      expect((await fetch(`${server.url}/assets/apify-kv.min.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    }
  });

  it('the page script is the TypeScript build, with no client bundle or inline code needed', async () => {
    const script = await fsp.readFile(path.join(ROOT, 'dist/web/storage-browser.js'), 'utf8');
    // Built from src/web/ (an IIFE), talking to the API over fetch.
    expect(script).toContain('/v2/key-value-stores');
    expect(script).not.toContain('ApifyKv');
    const html = await fsp.readFile(path.join(ROOT, 'dist/web/index.html'), 'utf8');
    expect(html).not.toContain('apify-kv.min.js');
  });

  it('says how to build the page and the bundle when a built server has none beside it', async () => {
    // A copy of the built server in a folder with no browser/ next to it (node_modules still resolves from the project).
    await fsp.mkdir(path.join(ROOT, '.tmp'), { recursive: true });
    const dir = await fsp.mkdtemp(path.join(ROOT, '.tmp', 'no-bundle-'));
    cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
    await fsp.mkdir(path.join(dir, 'server'));
    for (const file of ['index.js', 'index.js.map']) {
      await fsp.copyFile(path.join(ROOT, 'dist/server', file), path.join(dir, 'server', file));
    }
    await fsp.writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
    const mod = (await import(pathToFileURL(path.join(dir, 'server/index.js')).href)) as typeof ServerModule;
    const server = await serverFrom(mod);

    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(404);
    expect((await page.json()).error.message).toBe(
      'The storage browser file index.html is not built: run "npm run build" (the server looks for it in dist/web/, next to its own build).',
    );
    const res = await fetch(`${server.url}/assets/apify-kv.min.js`);
    expect(res.status).toBe(404);
    const { error } = await res.json();
    expect(error.type).toBe('page-not-found');
    expect(error.message).toContain('apify-kv.min.js is not built');
    expect(error.message).toContain('npm run build');
  });
});
