/**
 * The on-disk layout, compatible with the Apify SDK and Crawlee:
 *
 *   {storageDir}/key_value_stores/{store}/__metadata__.json        store metadata
 *   {storageDir}/key_value_stores/{store}/{KEY}.{EXT}              record body
 *   {storageDir}/key_value_stores/{store}/{KEY}.__metadata__.json  record metadata
 *   {storageDir}/key_value_stores/{store}/.tmp/                    temp files, never listed
 *
 * Every path built here is checked to stay inside its root, whatever the input.
 */
import path from 'node:path';

export const STORES_DIR_NAME = 'key_value_stores';
export const STORE_METADATA_FILE = '__metadata__.json';
export const RECORD_METADATA_SUFFIX = '.__metadata__.json';
export const TEMP_DIR_NAME = '.tmp';
/** Prefixes of store folders in transition (being created or deleted); hidden, so never a store. */
export const CREATING_PREFIX = '.creating-';
export const DELETING_PREFIX = '.deleting-';

/**
 * Joins one file or folder name onto a directory, refusing anything that could
 * leave it: separators, `.`/`..`, NUL, or a result outside the directory.
 */
export function childPath(dir: string, name: string): string {
  if (
    name.length === 0 ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    name.includes('\\') ||
    name.includes('\0')
  ) {
    throw new Error(`Refusing unsafe file name ${JSON.stringify(name)}.`);
  }
  const base = path.resolve(dir);
  const full = path.resolve(base, name);
  if (path.dirname(full) !== base) {
    throw new Error(`Refusing a path outside ${base}.`);
  }
  return full;
}

/**
 * Keys that would collide with a metadata file name get a neutral extension:
 * key `__metadata__` as JSON would overwrite the store's metadata, and `x.__metadata__`
 * as JSON would be read as the metadata of key `x`.
 */
export function dataExtensionFor(key: string, ext: string): string {
  if (ext === 'json' && (key === '__metadata__' || key.endsWith('.__metadata__'))) return 'bin';
  return ext;
}

export function dataFileName(key: string, ext: string): string {
  return `${key}.${ext}`;
}

export function recordMetadataFileName(key: string): string {
  return `${key}${RECORD_METADATA_SUFFIX}`;
}

export type ParsedFileName =
  | { kind: 'store-metadata' }
  | { kind: 'record-metadata'; key: string }
  | { kind: 'data'; key: string; ext: string | null };

/**
 * What a file in a store folder is. A data file's key is its name minus the last
 * extension (`INPUT.json` -> `INPUT`); a name without one (or a leading-dot name like
 * `.env`) is the key itself.
 */
export function parseFileName(name: string): ParsedFileName {
  if (name === STORE_METADATA_FILE) return { kind: 'store-metadata' };
  if (name.endsWith(RECORD_METADATA_SUFFIX) && name.length > RECORD_METADATA_SUFFIX.length) {
    return { kind: 'record-metadata', key: name.slice(0, -RECORD_METADATA_SUFFIX.length) };
  }
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { kind: 'data', key: name, ext: null };
  return { kind: 'data', key: name.slice(0, dot), ext: name.slice(dot + 1) };
}
