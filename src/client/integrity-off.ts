/**
 * The browser bundle's stand-in for `integrity.ts`: WebCrypto has no MD5 and the bundle's size
 * budget has no room for one, so bodies are sent and read unchecked (as with `integrity: false`)
 * until the integrity add-on (`browser-integrity.ts`) is loaded. The add-on puts the real checks
 * under a global symbol rather than importing anything from here, so it works beside either
 * bundle format. Same names and types as `integrity.ts`.
 */
import type * as Checks from './integrity.js';

/** Where the integrity add-on puts `integrity.ts`'s checks. */
export const INTEGRITY_CHECKS = Symbol.for('apify-kv-client.integrity');

const installed = (): typeof Checks | undefined => (globalThis as Record<symbol, typeof Checks | undefined>)[INTEGRITY_CHECKS];

export const uploadDigest = (bytes: Uint8Array, signal?: AbortSignal): ReturnType<typeof Checks.uploadDigest> | undefined => installed()?.uploadDigest(bytes, signal);
export const checkedUpload: typeof Checks.checkedUpload = (digest, upload) => installed()?.checkedUpload(digest, upload) ?? upload();
export const checkedDownload: typeof Checks.checkedDownload = (download, signal) => installed()?.checkedDownload(download, signal) ?? download();
