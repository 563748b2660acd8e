import path from 'node:path';

/**
 * The storage root, as the Apify SDK and Crawlee pick it:
 * `APIFY_LOCAL_STORAGE_DIR`, else `CRAWLEE_STORAGE_DIR`, else `./storage`. Returned absolute.
 */
export function resolveStorageDir(env: Record<string, string | undefined> = process.env): string {
  const dir = env.APIFY_LOCAL_STORAGE_DIR || env.CRAWLEE_STORAGE_DIR || './storage';
  return path.resolve(dir);
}
