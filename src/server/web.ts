/**
 * Serves the storage browser (built from src/web/ into dist/web/) at `/` and `/assets/`, and the
 * client's browser bundles (dist/browser/) beside it. Nothing here needs a token (it is all
 * static); the page's API calls carry one when the server asks for it.
 */
import { promises as fsp } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './errors.js';

/** The page may load only its own script and styles, and show images from blob: and data: URLs. */
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

const JS = 'text/javascript; charset=utf-8';
const MAP = 'application/json; charset=utf-8';

/** A built file: its folder under dist/ and its name there. */
interface WebFile {
  dir: 'web' | 'browser';
  name: string;
  type: string;
  page?: boolean;
}

const FILES = new Map<string, WebFile>([
  ['/', { dir: 'web', name: 'index.html', type: 'text/html; charset=utf-8', page: true }],
  ['/assets/storage-browser.css', { dir: 'web', name: 'storage-browser.css', type: 'text/css; charset=utf-8' }],
  ['/assets/storage-browser.js', { dir: 'web', name: 'storage-browser.js', type: JS }],
  ['/assets/storage-browser.js.map', { dir: 'web', name: 'storage-browser.js.map', type: MAP }],
  ...['apify-kv.min.js', 'apify-kv.esm.js', 'apify-kv-bulk.min.js', 'apify-kv-bulk.esm.js', 'apify-kv-integrity.min.js', 'apify-kv-integrity.esm.js', 'apify-kv-progress.min.js', 'apify-kv-progress.esm.js'].flatMap((name): Array<[string, WebFile]> => [
    [`/assets/${name}`, { dir: 'browser', name, type: JS }],
    [`/assets/${name}.map`, { dir: 'browser', name: `${name}.map`, type: MAP }],
  ]),
]);

/** The static file a request path names, or `null` when it is not one of ours. */
export function findWebFile(urlPath: string): WebFile | null {
  return FILES.get(urlPath) ?? null;
}

/** Sends a static file (GET or HEAD). A file that was never built is a 404 that says so. */
export async function sendWebFile(res: ServerResponse, file: WebFile, headOnly: boolean): Promise<void> {
  const body = await readBuiltFile(file);
  if (!body) {
    throw new ApiError(
      404,
      'page-not-found',
      `The ${file.dir === 'web' ? 'storage browser file' : 'browser bundle'} ${file.name} is not built: run "npm run build" ` +
        `(the server looks for it in dist/${file.dir}/, next to its own build).`,
    );
  }
  res.writeHead(200, {
    ...COMMON_HEADERS,
    ...(file.page ? { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY' } : {}),
    'Content-Type': file.type,
    'Content-Length': body.length,
  });
  res.end(headOnly ? undefined : body);
}

/**
 * The built dist/ folder. The builds that include this module sit one level below it
 * (dist/server/, dist/cli/); from these sources (under test) it is the project's dist/.
 * `null` when this module cannot tell where it is (bundled elsewhere without `import.meta.url`).
 */
function distDir(): string | null {
  const here = moduleFile();
  if (!here) return null;
  const dir = path.dirname(here);
  const fromSources = path.basename(dir) === 'server' && path.basename(path.dirname(dir)) === 'src';
  return path.resolve(dir, fromSources ? '../../dist' : '..');
}

/** This module's file: from `import.meta.url` (ESM, and tsup's CJS shim), else CommonJS's `__filename`. */
function moduleFile(): string | null {
  try {
    return fileURLToPath(import.meta.url);
  } catch {
    return typeof __filename === 'string' ? __filename : null;
  }
}

/** The file's bytes, read on each request so a rebuild is picked up; `null` when absent. */
async function readBuiltFile(file: WebFile): Promise<Buffer | null> {
  const dist = distDir();
  if (!dist) return null;
  try {
    return await fsp.readFile(path.join(dist, file.dir, file.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
