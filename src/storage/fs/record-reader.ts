/**
 * One look at a record file on disk, for a GET or HEAD: its state, its ETag and, for small
 * files, its bytes. Usually one `lstat` (the file is as last seen: see `record-cache.ts`);
 * otherwise small files are read whole (open, fstat, read) and hashed, so a file another process
 * rewrote is served as it is now, ETag included.
 */
import { promises as fsp, type Stats } from 'node:fs';

import { bytesEtag, fileEtag, readSmallFile } from './file-stream.js';
import { CHANGED_SINCE, recordFileCache, SMALL_RECORD_BYTES, type RecordFileCache } from './record-cache.js';

export interface FileLook {
  stats: Stats;
  etag: string;
  /** The whole body, for small files. */
  body: Buffer | undefined;
}

/** The file is gone (or is not a regular file). */
export const MISSING = 'missing';
/** The file changed while it was being read: look again. */
export const CHANGED = 'changed';

/**
 * `expected` is what the index believes: its ETag is trusted for a large file whose inode and
 * size still match, unless the cache saw the file in another state (then it is hashed again).
 */
export async function lookAtRecordFile(
  file: string,
  expected: { ino: number; size: number; etag: string | undefined },
  cache: RecordFileCache = recordFileCache,
): Promise<FileLook | typeof MISSING | typeof CHANGED> {
  let stats: Stats;
  try {
    stats = await fsp.lstat(file);
  } catch (error) {
    if (isGone(error)) return MISSING;
    throw error;
  }
  // Only regular files are records (a symlink put there by hand is not followed).
  if (!stats.isFile()) return MISSING;
  const known = cache.lookup(file, stats);
  if (known && known !== CHANGED_SINCE) return { stats, etag: known.etag, body: known.body };

  if (stats.size <= SMALL_RECORD_BYTES) {
    let read;
    try {
      read = await readSmallFile(file);
    } catch (error) {
      if (isGone(error)) return MISSING;
      throw error;
    }
    if (!sameState(stats, read.stats)) return CHANGED;
    const etag = bytesEtag(read.body);
    cache.remember(file, read.stats, etag, read.body);
    return { stats: read.stats, etag, body: read.body };
  }

  const trusted =
    known !== CHANGED_SINCE && expected.etag !== undefined && expected.ino === stats.ino && expected.size === stats.size;
  const etag = trusted ? expected.etag! : await fileEtag(file);
  cache.remember(file, stats, etag);
  return { stats, etag, body: undefined };
}

function sameState(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
