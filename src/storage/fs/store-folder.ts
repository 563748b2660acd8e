/**
 * Reading a store folder from disk: crash recovery of its temp folder, and the scan
 * that builds the record index. Both are tolerant of folders written by Crawlee or by
 * hand (record files only, no metadata).
 */
import { promises as fsp } from 'node:fs';

import { contentTypeForExtension } from '../content-types.js';
import { fileEtag } from './file-stream.js';
import { forEachLimited, fsyncDir, isNotFound, readJsonFile } from './fs-utils.js';
import {
  childPath,
  dataFileName,
  fileStemFor,
  isLongKeyStem,
  isStemOf,
  parseFileName,
  RECORD_METADATA_SUFFIX,
  sidecarFileName,
  TEMP_DIR_NAME,
} from './layout.js';
import { parseRecordMetadata, type RecordMetadataFile } from './record-metadata.js';
import { isValidKey } from '../validation.js';

/** One record as the index keeps it. */
export interface IndexEntry {
  key: string;
  /** Stem of the data file's name: the key, or a long key's hashed stem (see `fileStemFor`). */
  stem: string;
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

/** One data file of a record: `{stem}.{ext}`, or just `{stem}`. */
export type DataFile = Pick<IndexEntry, 'stem' | 'ext'>;

export function dataFileOf(file: DataFile): string {
  return file.ext === null ? file.stem : dataFileName(file.stem, file.ext);
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
        await fsp.rename(metaPath, childPath(storeDir, sidecarFileName(sidecarStem(meta))));
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

/** The stem a sidecar's record uses: the key's usual one unless it names its hashed one. */
function sidecarStem(meta: RecordMetadataFile): string {
  return meta.stem !== undefined && isStemOf(meta.key, meta.stem) ? meta.stem : fileStemFor(meta.key);
}

async function bodyMatches(storeDir: string, meta: RecordMetadataFile): Promise<boolean> {
  if (!isValidKey(meta.key)) return false;
  const file = childPath(storeDir, dataFileName(sidecarStem(meta), meta.extension));
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
 * Builds the index entries of a store folder. A plain file's key is its stem (name minus
 * extension); a long key's stem only names it through its sidecar, so such files without a
 * usable sidecar are left alone. A sidecar, when present, gives the exact content type and
 * says which data file is current if a crash left two (the other one is removed). Files
 * that are neither a valid key nor a long key's stem, folders and symlinks are ignored.
 */
export async function scanStoreFolder(storeDir: string, options: { readOnly?: boolean } = {}): Promise<IndexEntry[]> {
  // Read-only scans (the CLI's, rescans while other processes write) remove nothing.
  const remove = (name: string) => (options.readOnly ? Promise.resolve() : fsp.rm(childPath(storeDir, name), { force: true }));
  const dirents = await fsp.readdir(storeDir, { withFileTypes: true });
  const dataFiles = new Map<string, DataFile[]>();
  const sidecars = new Set<string>();
  for (const dirent of dirents) {
    if (!dirent.isFile()) continue;
    const parsed = parseFileName(dirent.name);
    if (parsed.kind === 'store-metadata' || !(isValidKey(parsed.stem) || isLongKeyStem(parsed.stem))) continue;
    if (parsed.kind === 'record-metadata') {
      sidecars.add(parsed.stem);
    } else {
      const list = dataFiles.get(parsed.stem) ?? [];
      list.push({ stem: parsed.stem, ext: parsed.ext });
      dataFiles.set(parsed.stem, list);
    }
  }

  // Files by key. A key may have files under two stems: a long key written by Crawlee
  // under its own name, then rewritten by us under its hashed stem.
  const records = new Map<
    string,
    { files: DataFile[]; sidecar: RecordMetadataFile | null; hasSidecar: boolean; sidecarStem: string }
  >();
  await forEachLimited([...new Set([...dataFiles.keys(), ...sidecars])], 32, async (stem) => {
    const hasSidecar = sidecars.has(stem);
    const sidecar = hasSidecar ? await readSidecar(childPath(storeDir, stem + RECORD_METADATA_SUFFIX)) : null;
    let key = stem;
    if (isLongKeyStem(stem)) {
      if (!sidecar || !isValidKey(sidecar.key) || !isStemOf(sidecar.key, stem)) return;
      key = sidecar.key;
    }
    const record = records.get(key) ?? { files: [], sidecar: null, hasSidecar: false, sidecarStem: fileStemFor(key) };
    record.files.push(...(dataFiles.get(stem) ?? []));
    if (hasSidecar) {
      record.sidecar = sidecar;
      record.hasSidecar = true;
      record.sidecarStem = stem;
    }
    records.set(key, record);
  });

  const entries: IndexEntry[] = [];
  await forEachLimited([...records], 32, async ([key, { files, sidecar, hasSidecar, sidecarStem }]) => {
    if (files.length === 0) {
      // Metadata of a record whose body is gone (a delete cut short): drop it.
      if (hasSidecar) await remove(sidecarFileName(sidecarStem));
      return;
    }
    const entry = sidecar && files.some((file) => file.stem === sidecarStem && file.ext === sidecar.extension)
      ? await entryFromSidecar(storeDir, key, sidecarStem, sidecar, files, remove)
      : await entryFromFiles(storeDir, key, files);
    if (entry) entries.push(entry);
  });
  return entries;
}

async function entryFromSidecar(
  storeDir: string,
  key: string,
  stem: string,
  sidecar: RecordMetadataFile,
  files: DataFile[],
  remove: (name: string) => Promise<void>,
): Promise<IndexEntry | null> {
  const current: DataFile = { stem, ext: sidecar.extension };
  // Other data files of this key are leftovers of a write that changed the file name.
  for (const file of files) {
    if (dataFileOf(file) !== dataFileOf(current)) await remove(dataFileOf(file));
  }
  const stats = await statOrNull(childPath(storeDir, dataFileOf(current)));
  if (!stats) return null;
  const modifiedAt = sidecar.modifiedAt ? new Date(sidecar.modifiedAt) : stats.mtime;
  return {
    key,
    ...current,
    contentType: sidecar.contentType,
    size: stats.size,
    // Trust the stored ETag only while the file still has the size it described.
    etag: sidecar.size === stats.size ? sidecar.etag : undefined,
    modifiedAt: Number.isNaN(modifiedAt.getTime()) ? stats.mtime : modifiedAt,
    ino: stats.ino,
  };
}

/** A record without (usable) metadata: the content type comes from the extension. */
async function entryFromFiles(storeDir: string, key: string, files: DataFile[]): Promise<IndexEntry | null> {
  let best: IndexEntry | null = null;
  let bestMtime = -Infinity;
  for (const { stem, ext } of files) {
    const stats = await statOrNull(childPath(storeDir, dataFileOf({ stem, ext })));
    if (!stats || stats.mtimeMs <= bestMtime) continue;
    bestMtime = stats.mtimeMs;
    best = { key, stem, ext, contentType: contentTypeForExtension(ext), size: stats.size, etag: undefined, modifiedAt: stats.mtime, ino: stats.ino };
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
