/**
 * The on-disk layout, compatible with the Apify SDK and Crawlee:
 *
 *   {storageDir}/key_value_stores/{store}/__metadata__.json        store metadata
 *   {storageDir}/key_value_stores/{store}/{KEY}.{EXT}              record body
 *   {storageDir}/key_value_stores/{store}/{KEY}.__metadata__.json  record metadata
 *   {storageDir}/key_value_stores/{store}/.tmp/                    temp files, never listed
 *
 * A key too long for those names (over 237 characters) is stored under a stem made of a
 * readable prefix and a hash of the key instead, `{KEY[0..128]}~{sha256(KEY)}`, and its
 * real key is read back from the sidecar. Keys never contain `~`, so such a name can never
 * be taken for a plain (Crawlee) record file. On a case-insensitive file system a key that
 * differs only in case from a key already stored gets such a hashed stem too
 * (`{KEY}~{sha256(KEY)}`), so the two never share a file.
 *
 * Every path built here is checked to stay inside its root, whatever the input.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

export const STORES_DIR_NAME = 'key_value_stores';
export const STORE_METADATA_FILE = '__metadata__.json';
export const RECORD_METADATA_SUFFIX = '.__metadata__.json';
export const TEMP_DIR_NAME = '.tmp';
/** Prefixes of store folders in transition (being created or deleted); hidden, so never a store. */
export const CREATING_PREFIX = '.creating-';
export const DELETING_PREFIX = '.deleting-';

/** Longest file name (in bytes) common file systems allow; keys are ASCII, so bytes are characters. */
export const MAX_FILE_NAME_LENGTH = 255;
/**
 * Keys up to this length keep their own name. The sidecar name is a record's longest one:
 * extensions have at most 16 characters, shorter than `__metadata__.json`.
 */
export const MAX_PLAIN_KEY_LENGTH = MAX_FILE_NAME_LENGTH - RECORD_METADATA_SUFFIX.length;
/** Separates the prefix from the hash in a long key's stem; not a key character. */
export const LONG_KEY_MARK = '~';
const LONG_KEY_PREFIX_LENGTH = 128;
const HASHED_STEM = /^[a-zA-Z0-9!\-_.'()]{1,128}~[0-9a-f]{64}$/;

/** Absolute directories already resolved: a store's folder and its temp folder come back on every call. */
const resolvedDirs = new Map<string, string>();

function resolvedDir(dir: string): string {
  if (!path.isAbsolute(dir)) return path.resolve(dir);
  let base = resolvedDirs.get(dir);
  if (base === undefined) {
    base = path.resolve(dir);
    if (resolvedDirs.size >= 1024) resolvedDirs.clear();
    resolvedDirs.set(dir, base);
  }
  return base;
}

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
  const base = resolvedDir(dir);
  // Where `/` is the only separator, such a name joins as it is (every put and read asks).
  if (path.sep === '/') return base === '/' ? `/${name}` : `${base}/${name}`;
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

/**
 * The stem of a key's file names: the key itself when its names fit, else a readable
 * prefix plus the SHA-256 of the whole key (distinct keys, distinct stems).
 */
export function fileStemFor(key: string): string {
  return key.length <= MAX_PLAIN_KEY_LENGTH ? key : hashedStemFor(key);
}

/** A readable prefix of the key plus the SHA-256 of the whole key. */
export function hashedStemFor(key: string): string {
  const hash = createHash('sha256').update(key).digest('hex');
  return `${key.slice(0, LONG_KEY_PREFIX_LENGTH)}${LONG_KEY_MARK}${hash}`;
}

/** Whether a stem is a hashed one (its key is then only known from the sidecar). */
export function isLongKeyStem(stem: string): boolean {
  return HASHED_STEM.test(stem);
}

/** Whether `stem` may hold `key`'s files: its plain stem, or its hashed one. */
export function isStemOf(key: string, stem: string): boolean {
  return stem === fileStemFor(key) || stem === hashedStemFor(key);
}

/** The sidecar of the record whose files use this stem. */
export function sidecarFileName(stem: string): string {
  return `${stem}${RECORD_METADATA_SUFFIX}`;
}

export function dataFileName(stem: string, ext: string): string {
  return `${stem}.${ext}`;
}

/** The sidecar at a key's usual stem (a case twin's sits at its hashed stem: {@link sidecarFileName}). */
export function recordMetadataFileName(key: string): string {
  return sidecarFileName(fileStemFor(key));
}

export type ParsedFileName =
  | { kind: 'store-metadata' }
  | { kind: 'record-metadata'; stem: string }
  | { kind: 'data'; stem: string; ext: string | null };

/**
 * What a file in a store folder is. A data file's stem is its name minus the last
 * extension (`INPUT.json` -> `INPUT`); a name without one (or a leading-dot name like
 * `.env`) is the stem itself. A plain stem is the key; a long key's stem is not a valid key.
 */
export function parseFileName(name: string): ParsedFileName {
  if (name === STORE_METADATA_FILE) return { kind: 'store-metadata' };
  if (name.endsWith(RECORD_METADATA_SUFFIX) && name.length > RECORD_METADATA_SUFFIX.length) {
    return { kind: 'record-metadata', stem: name.slice(0, -RECORD_METADATA_SUFFIX.length) };
  }
  const dot = name.lastIndexOf('.');
  // An extension never holds the long-key mark: in `{prefix}~{hash}` a dot belongs to the prefix.
  if (dot <= 0 || dot === name.length - 1 || dot < name.lastIndexOf(LONG_KEY_MARK)) {
    return { kind: 'data', stem: name, ext: null };
  }
  return { kind: 'data', stem: name.slice(0, dot), ext: name.slice(dot + 1) };
}
