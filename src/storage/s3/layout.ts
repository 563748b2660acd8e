/**
 * Object names in the bucket, laid out as the Apify SDK / Crawlee lay out a folder, so that
 * syncing the prefix to a disk gives a folder they read as it is:
 *
 *   PREFIX/key_value_stores/{folder}/__metadata__.json   store metadata (StoreInfo JSON)
 *   PREFIX/key_value_stores/{folder}/records/{KEY}       record body; Content-Type on the object
 *   PREFIX/key_value_stores/{folder}/{KEY}.{EXT}         record body in the first layout
 *   PREFIX/.apify-kv/stores/{id}                         the store's folder name (never changes)
 *   PREFIX/.apify-kv/names/{name}                        name claim: the id of the store with that name
 *   PREFIX/.apify-kv/signing-secret                      the servers' signing secret (64 hex digits)
 *
 * A store's folder is its name when it was created named (and that folder was free), else its
 * id; a rename moves the name claim, not the records.
 *
 * Records: one object per key whatever its content type (`records/{KEY}`; a key is always a
 * safe object name), so a put, a get and a delete are each one request on one object, and S3's
 * strong read-after-write on that object makes every record linearizable across instances.
 * Stores made before this layout (and folders the SDK or Crawlee wrote) keep `{KEY}.{EXT}`:
 * the store metadata's `recordLayout` says which layout a store has (see `RECORD_LAYOUT`).
 */
import { dataExtensionFor, parseFileName, RECORD_METADATA_SUFFIX, STORE_METADATA_FILE, STORES_DIR_NAME } from '../fs/layout.js';
import { SECRET_DIR_NAME, SECRET_FILE_NAME } from '../signing-secret.js';
import { isValidKey } from '../validation.js';

export { STORE_METADATA_FILE };

/** The field of a store's metadata naming its records' layout, and the layout of new stores. */
export const RECORD_LAYOUT_FIELD = 'recordLayout';
export const RECORD_LAYOUT = 'object-per-key';

/** Whether a store's metadata (as parsed JSON) says its records are one object per key. */
export function hasObjectPerKeyLayout(metadata: unknown): boolean {
  return typeof metadata === 'object' && metadata !== null && (metadata as Record<string, unknown>)[RECORD_LAYOUT_FIELD] === RECORD_LAYOUT;
}

export class S3Layout {
  readonly storesPrefix: string;
  private readonly internal: string;

  constructor(prefix: string) {
    const root = prefix ? `${prefix}/` : '';
    this.storesPrefix = `${root}${STORES_DIR_NAME}/`;
    this.internal = `${root}${SECRET_DIR_NAME}/`;
  }

  folderPrefix(folder: string): string {
    return `${this.storesPrefix}${folder}/`;
  }

  storeMetadata(folder: string): string {
    return `${this.folderPrefix(folder)}${STORE_METADATA_FILE}`;
  }

  idIndex(id: string): string {
    return `${this.internal}stores/${id}`;
  }

  nameClaim(name: string): string {
    return `${this.internal}names/${name}`;
  }

  /** Beside the stores, never inside one: no store folder starts with a dot. */
  signingSecret(): string {
    return `${this.internal}${SECRET_FILE_NAME}`;
  }

  /** Where a store's records are, one object per key: `{recordsPrefix}{KEY}`. */
  recordsPrefix(folder: string): string {
    return `${this.folderPrefix(folder)}records/`;
  }

  /** A record's object in the first layout (`{KEY}.{EXT}`). */
  recordObject(folder: string, key: string, ext: string): string {
    return `${this.folderPrefix(folder)}${key}.${dataExtensionFor(key, ext)}`;
  }

  /** The folder of an object name under `storesPrefix` (`null` for anything deeper or not a folder). */
  folderOf(commonPrefix: string): string | null {
    if (!commonPrefix.startsWith(this.storesPrefix) || !commonPrefix.endsWith('/')) return null;
    const folder = commonPrefix.slice(this.storesPrefix.length, -1);
    return folder && !folder.includes('/') && !folder.startsWith('.') ? folder : null;
  }
}

/** The record key and extension of an object name inside a folder, or `null` when it is no record. */
export function parseRecordName(relative: string): { key: string; ext: string | null } | null {
  if (relative.includes('/') || relative.endsWith(RECORD_METADATA_SUFFIX)) return null;
  const parsed = parseFileName(relative);
  if (parsed.kind !== 'data' || !isValidKey(parsed.stem)) return null;
  return { key: parsed.stem, ext: parsed.ext };
}
