/**
 * The browser's progress entry (`apify-kv-client/browser/progress`, `apify-kv-progress.esm.js`
 * or `apify-kv-progress.min.js`): importing it once gives the main bundle's `onUploadProgress`
 * its running counts, by sending watched uploads through XMLHttpRequest (`xhr-upload.ts`). Without
 * it an upload reports one final event when it is done. It imports nothing from the main bundle,
 * so it may be loaded before or after it.
 */
import { UPLOAD_ADAPTER, xhrUpload } from './client/platform/xhr-upload.js';

(globalThis as Record<symbol, unknown>)[UPLOAD_ADAPTER] = xhrUpload;
