/**
 * Reading one record's files from disk without listing the folder: for records another
 * process (Crawlee, the Apify SDK, a second server) wrote since the index was built.
 */
import { promises as fsp } from 'node:fs';

import { contentTypeForExtension } from '../content-types.js';
import { isNotFound, readJsonFile } from './fs-utils.js';
import { childPath, dataFileName, isLongKeyStem, sidecarFileName } from './layout.js';
import { parseRecordMetadata } from './record-metadata.js';
import { dataFileOf, type IndexEntry } from './store-folder.js';

/**
 * Extensions tried for a record without a sidecar: what `mime-types` gives for the content
 * types Crawlee and the SDK write most (JSON, text, HTML, images, archives, `bin` for unknown).
 */
const COMMON_EXTENSIONS = [
  'json', 'txt', 'bin', 'html', 'xml', 'csv', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'svg',
  'pdf', 'zip', 'gz', 'js', 'md', 'yaml', 'htm', 'mhtml',
];

/**
 * The record stored under `stem`, or `null` when there is none. Its sidecar, if any, names
 * the data file; else the first regular file found among `hints` and common extensions
 * (the newest if several exist).
 */
export async function probeRecord(
  storeDir: string,
  key: string,
  stem: string,
  hints: ReadonlyArray<string | null> = [],
): Promise<IndexEntry | null> {
  const sidecar = await readSidecarOrNull(childPath(storeDir, sidecarFileName(stem)));
  if (sidecar && sidecar.key === key) {
    const stats = await regularFile(childPath(storeDir, dataFileName(stem, sidecar.extension)));
    if (stats) {
      const modifiedAt = sidecar.modifiedAt ? new Date(sidecar.modifiedAt) : stats.mtime;
      return {
        key,
        stem,
        ext: sidecar.extension,
        contentType: sidecar.contentType,
        size: stats.size,
        etag: sidecar.size === stats.size ? sidecar.etag : undefined,
        modifiedAt: Number.isNaN(modifiedAt.getTime()) ? stats.mtime : modifiedAt,
        ino: stats.ino,
      };
    }
  }
  // A hashed stem names its key only through its sidecar.
  if (isLongKeyStem(stem)) return null;
  const candidates = [...new Set<string | null>([...hints, ...COMMON_EXTENSIONS, null])];
  const found = await Promise.all(
    candidates.map(async (ext) => ({ ext, stats: await regularFile(childPath(storeDir, dataFileOf({ stem, ext }))) })),
  );
  let best: IndexEntry | null = null;
  for (const { ext, stats } of found) {
    if (!stats || (best && stats.mtime <= best.modifiedAt)) continue;
    best = { key, stem, ext, contentType: contentTypeForExtension(ext), size: stats.size, etag: undefined, modifiedAt: stats.mtime, ino: stats.ino };
  }
  return best;
}

async function readSidecarOrNull(file: string) {
  try {
    return parseRecordMetadata(await readJsonFile(file));
  } catch {
    return null;
  }
}

async function regularFile(file: string) {
  try {
    const stats = await fsp.lstat(file);
    return stats.isFile() ? stats : null;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}
