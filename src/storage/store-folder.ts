/**
 * Reading a store folder from disk: crash recovery of its temp folder, and the scan
 * that builds the record index. Both are tolerant of folders written by Crawlee or by
 * hand (record files only, no metadata).
 */
import { promises as fsp } from 'node:fs';

import { contentTypeForExtension } from './content-types.js';
import { fileEtag } from './file-stream.js';
import { forEachLimited, fsyncDir, isNotFound, readJsonFile } from './fs-utils.js';
import {
  childPath,
  dataFileName,
  parseFileName,
  recordMetadataFileName,
  TEMP_DIR_NAME,
} from './layout.js';
import { parseRecordMetadata, type RecordMetadataFile } from './record-metadata.js';
import { isValidKey } from './validation.js';

/** One record as the index keeps it. */
export interface IndexEntry {
  key: string;
  /** Extension of the data file; `null` for a file without one. */
  ext: string | null;
  contentType: string;
  size: number;
  /** Unknown until first read for files that came without our metadata. */
  etag: string | undefined;
  modifiedAt: Date;
  /** Inode of the data file, to notice a file replaced between two steps of a read. */
  ino: number;
}

export function dataFileOf(entry: Pick<IndexEntry, 'key' | 'ext'>): string {
  return entry.ext === null ? entry.key : dataFileName(entry.key, entry.ext);
}

/** Temp files of a record write: `{stem}.data` (the body) and `{stem}.meta` (its sidecar). */
export const TEMP_DATA_SUFFIX = '.data';
export const TEMP_META_SUFFIX = '.meta';

/**
 * Finishes or undoes record writes cut short by a crash, then empties the temp folder.
 *
 * A write renames `{stem}.data` into place and then `{stem}.meta` into place. If the
 * `.data` file is still in the temp folder, nothing visible changed: both are dropped.
 * If only `.meta` is left, the body was already renamed, so the sidecar is put in place
 * too (after checking the body really is the one it describes), keeping the content type
 * consistent with the body.
 */
export async function recoverTempFolder(storeDir: string): Promise<void> {
  const tempDir = childPath(storeDir, TEMP_DIR_NAME);
  let names: string[];
  try {
    names = await fsp.readdir(tempDir);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const present = new Set(names);
  for (const name of names) {
    if (!name.endsWith(TEMP_META_SUFFIX)) continue;
    const stem = name.slice(0, -TEMP_META_SUFFIX.length);
    const metaPath = childPath(tempDir, name);
    if (!present.has(stem + TEMP_DATA_SUFFIX)) {
      const meta = await readSidecar(metaPath);
      if (meta && (await bodyMatches(storeDir, meta))) {
        await fsp.rename(metaPath, childPath(storeDir, recordMetadataFileName(meta.key)));
        continue;
      }
    }
    await fsp.rm(metaPath, { force: true });
  }
  // Whatever is left (bodies never committed, store metadata temp files) is garbage.
  for (const name of await fsp.readdir(tempDir)) {
    await fsp.rm(childPath(tempDir, name), { force: true, recursive: true });
  }
  await fsyncDir(storeDir);
}

async function bodyMatches(storeDir: string, meta: RecordMetadataFile): Promise<boolean> {
  if (!isValidKey(meta.key)) return false;
  const file = childPath(storeDir, dataFileName(meta.key, meta.extension));
  try {
    const stats = await fsp.lstat(file);
    if (!stats.isFile() || (meta.size !== undefined && stats.size !== meta.size)) return false;
    return meta.etag === undefined || (await fileEtag(file)) === meta.etag;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function readSidecar(file: string): Promise<RecordMetadataFile | null> {
  try {
    return parseRecordMetadata(await readJsonFile(file));
  } catch {
    return null;
  }
}

/**
 * Builds the index entries of a store folder. Keys come from file names (name minus
 * extension); a sidecar, when present, gives the exact content type and says which data
 * file is current if a crash left two (the other one is removed). Files whose key is not
 * a valid record key, folders and symlinks are ignored.
 */
export async function scanStoreFolder(storeDir: string): Promise<IndexEntry[]> {
  const dirents = await fsp.readdir(storeDir, { withFileTypes: true });
  const dataFiles = new Map<string, Array<string | null>>();
  const sidecars = new Set<string>();
  for (const dirent of dirents) {
    if (!dirent.isFile()) continue;
    const parsed = parseFileName(dirent.name);
    if (parsed.kind === 'store-metadata' || !isValidKey(parsed.key)) continue;
    if (parsed.kind === 'record-metadata') {
      sidecars.add(parsed.key);
    } else {
      const list = dataFiles.get(parsed.key) ?? [];
      list.push(parsed.ext);
      dataFiles.set(parsed.key, list);
    }
  }

  const entries: IndexEntry[] = [];
  const keys = [...new Set([...dataFiles.keys(), ...sidecars])];
  await forEachLimited(keys, 32, async (key) => {
    const exts = dataFiles.get(key) ?? [];
    const sidecarPath = childPath(storeDir, recordMetadataFileName(key));
    const sidecar = sidecars.has(key) ? await readSidecar(sidecarPath) : null;
    if (exts.length === 0) {
      // Metadata of a record whose body is gone (a delete cut short): drop it.
      await fsp.rm(sidecarPath, { force: true });
      return;
    }
    const entry = sidecar && exts.includes(sidecar.extension)
      ? await entryFromSidecar(storeDir, key, sidecar, exts)
      : await entryFromFiles(storeDir, key, exts);
    if (entry) entries.push(entry);
  });
  return entries;
}

async function entryFromSidecar(
  storeDir: string,
  key: string,
  sidecar: RecordMetadataFile,
  exts: Array<string | null>,
): Promise<IndexEntry | null> {
  // Other data files of this key are leftovers of a write that changed the extension.
  for (const ext of exts) {
    if (ext !== sidecar.extension) await fsp.rm(childPath(storeDir, dataFileOf({ key, ext })), { force: true });
  }
  const stats = await statOrNull(childPath(storeDir, dataFileName(key, sidecar.extension)));
  if (!stats) return null;
  const modifiedAt = sidecar.modifiedAt ? new Date(sidecar.modifiedAt) : stats.mtime;
  return {
    key,
    ext: sidecar.extension,
    contentType: sidecar.contentType,
    size: stats.size,
    // Trust the stored ETag only while the file still has the size it described.
    etag: sidecar.size === stats.size ? sidecar.etag : undefined,
    modifiedAt: Number.isNaN(modifiedAt.getTime()) ? stats.mtime : modifiedAt,
    ino: stats.ino,
  };
}

/** A record without (usable) metadata: the content type comes from the extension. */
async function entryFromFiles(storeDir: string, key: string, exts: Array<string | null>): Promise<IndexEntry | null> {
  let best: IndexEntry | null = null;
  let bestMtime = -Infinity;
  for (const ext of exts) {
    const stats = await statOrNull(childPath(storeDir, dataFileOf({ key, ext })));
    if (!stats || stats.mtimeMs <= bestMtime) continue;
    bestMtime = stats.mtimeMs;
    best = { key, ext, contentType: contentTypeForExtension(ext), size: stats.size, etag: undefined, modifiedAt: stats.mtime, ino: stats.ino };
  }
  return best;
}

async function statOrNull(file: string) {
  try {
    const stats = await fsp.lstat(file);
    return stats.isFile() ? stats : null;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}
