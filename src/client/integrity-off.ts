/**
 * The browser bundle's stand-in for `integrity.ts`: WebCrypto has no MD5 and the bundle's size
 * budget has no room for one, so bodies are sent and read unchecked there (as with
 * `integrity: false`). Same names and types as `integrity.ts`.
 */
import type { checkedDownload as Download, checkedUpload as Upload, uploadDigest as Digest } from './integrity.js';

export const uploadDigest: (...args: Parameters<typeof Digest>) => undefined = () => undefined;
export const checkedUpload: typeof Upload = (_digest, upload) => upload();
export const checkedDownload: typeof Download = (download) => download();
