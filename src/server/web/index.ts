/**
 * The storage browser: a static page at `/` that browses and manages the stores through the
 * package's own browser bundle, plus the files it loads under `/assets/`. Nothing here needs a
 * token (it is all static); the page's API calls carry one when the server asks for it.
 */
import { promises as fsp } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../errors.js';
import { PAGE_CSS, PAGE_HTML } from './page.js';
import { PAGE_SCRIPT } from './script.js';

/** The page may load only its own scripts and styles, and show images from blob: and data: URLs. */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** The bundle files served under `/assets/`, as built into `dist/browser/`. */
const BUNDLE_FILES = ['apify-kv.min.js', 'apify-kv.min.js.map', 'apify-kv.esm.js', 'apify-kv.esm.js.map'];

type WebFile =
  | { kind: 'text'; type: string; text: string; page?: boolean }
  | { kind: 'bundle'; type: string; name: string };

const FILES = new Map<string, WebFile>([
  ['/', { kind: 'text', type: 'text/html; charset=utf-8', text: PAGE_HTML, page: true }],
  ['/assets/storage-browser.css', { kind: 'text', type: 'text/css; charset=utf-8', text: PAGE_CSS }],
  ['/assets/storage-browser.js', { kind: 'text', type: 'text/javascript; charset=utf-8', text: PAGE_SCRIPT }],
  ...BUNDLE_FILES.map((name): [string, WebFile] => [
    `/assets/${name}`,
    { kind: 'bundle', type: name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8', name },
  ]),
]);

/** The static file a request path names, or `null` when it is not one of ours. */
export function findWebFile(urlPath: string): WebFile | null {
  return FILES.get(urlPath) ?? null;
}

/** Sends a static file (GET or HEAD). A bundle that was never built is a 404 that says so. */
export async function sendWebFile(res: ServerResponse, file: WebFile, headOnly: boolean): Promise<void> {
  let body: Buffer | null;
  if (file.kind === 'text') {
    body = Buffer.from(file.text, 'utf8');
  } else {
    body = await readBundleFile(file.name);
    if (!body) {
      throw new ApiError(
        404,
        'page-not-found',
        `The browser bundle ${file.name} is not built: run "npm run build" ` +
          '(the server looks for it in dist/browser/, next to its own build).',
      );
    }
  }
  res.writeHead(200, {
    ...COMMON_HEADERS,
    ...(file.kind === 'text' && file.page ? { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY' } : {}),
    'Content-Type': file.type,
    'Content-Length': body.length,
  });
  res.end(headOnly ? undefined : body);
}

/** Where this module lives (the CJS build gets `import.meta.url` from a tsup shim). */
function moduleDir(): string {
  return path.dirname(fileURLToPath(import.meta.url));
}

/**
 * The folder of the built bundle: `dist/browser/` is a sibling of `dist/server/` and `dist/cli/`
 * (the builds that include this module); from these sources (under test) it is `../../../dist/browser`.
 */
function bundleDir(): string {
  const here = moduleDir();
  const fromSources = path.basename(here) === 'web' && path.basename(path.dirname(here)) === 'server';
  return path.resolve(here, fromSources ? '../../../dist/browser' : '../browser');
}

/** The file's bytes, read on each request so a rebuild is picked up; `null` when absent. */
async function readBundleFile(name: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(path.join(bundleDir(), name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
