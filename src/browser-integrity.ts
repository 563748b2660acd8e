/**
 * The browser's integrity entry (`apify-kv-client/browser/integrity`, `apify-kv-integrity.esm.js`
 * or `apify-kv-integrity.min.js`): importing it once turns on the end-to-end integrity checks of
 * the main bundle's client (Content-MD5 on buffered uploads, ETag checks of uploads and full
 * downloads, failing with `integrity-mismatch`), as in Node. It brings its own MD5 (`md5.ts`)
 * and takes the errors from the main bundle (see tsup.config.ts).
 */
import * as checks from './client/integrity.js';
import { INTEGRITY_CHECKS } from './client/integrity-off.js';

(globalThis as Record<symbol, unknown>)[INTEGRITY_CHECKS] = checks;
