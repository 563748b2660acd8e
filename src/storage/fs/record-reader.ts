/**
 * One look at a record file on disk, for a GET or HEAD: its state, its ETag and, for small
 * files, its bytes. Usually one `lstat` (the file is as last seen: see `record-cache.ts`);
 * otherwise small files are read whole (open, fstat, read) and hashed, so a file another process
 * rewrote is served as it is now, ETag included.
 *
 * The `lstat` of a file the cache knows is synchronous: its metadata was in use moments ago and
 * sits in the kernel's inode cache, so the call takes a few microseconds, while handing it to
 * the thread pool costs several times that in CPU and a thread wake-up per request (nginx checks
 * its open-file cache the same way). Where metadata is slow (a network mount), one slow call
 * sends every later one back to the thread pool.
 */
import fs, { type Stats } from 'node:fs';
import { performance } from 'node:perf_hooks';

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
 * `expected` is what the index believes: its ETag is trusted for a large file whose inode, size,
 * mtime and ctime still match, unless the cache saw the file in another state (then it is hashed again).
 */
export async function lookAtRecordFile(
  file: string,
  expected: { ino: number; size: number; etag: string | undefined; etagMtimeMs?: number; etagCtimeMs?: number },
  cache: RecordFileCache = recordFileCache,
): Promise<FileLook | typeof MISSING | typeof CHANGED> {
  let stats: Stats | undefined;
  try {
    stats = syncLstat && cache.knows(file) ? lstatNow(file) : await lstatInPool(file);
  } catch (error) {
    if (isGone(error)) return MISSING;
    throw error;
  }
  if (stats === undefined) return MISSING;
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

  // A same-size rewrite in place keeps inode and size: the times tell (an unknown ctime is learned by the caller).
  const trusted =
    known !== CHANGED_SINCE &&
    expected.etag !== undefined &&
    expected.ino === stats.ino &&
    expected.size === stats.size &&
    expected.etagMtimeMs === stats.mtimeMs &&
    (expected.etagCtimeMs === undefined || Number.isNaN(expected.etagCtimeMs) || expected.etagCtimeMs === stats.ctimeMs);
  const etag = trusted ? expected.etag! : await fileEtag(file);
  cache.remember(file, stats, etag);
  return { stats, etag, body: undefined };
}

/** A synchronous `lstat` slower than this was not answered from memory (or the thread was preempted). */
const SLOW_LSTAT_MILLIS = 2;
/**
 * Each slow call adds 10 to a score, each fast one takes 1 off: a busy machine preempting the
 * odd call keeps it near 0, while a file system that is slow for more than one call in ten
 * passes the limit, and from then on every look goes through the thread pool.
 */
const SLOW_SCORE_LIMIT = 200;
let slowScore = 0;
let syncLstat = true;

/** `lstat` on this thread; undefined when the file does not exist. */
function lstatNow(file: string): Stats | undefined {
  const start = performance.now();
  const stats = fs.lstatSync(file, { throwIfNoEntry: false });
  if (performance.now() - start > SLOW_LSTAT_MILLIS) {
    slowScore += 10;
    if (slowScore > SLOW_SCORE_LIMIT) syncLstat = false;
  } else if (slowScore > 0) {
    slowScore--;
  }
  return stats;
}

/**
 * `lstat` of a file whose metadata was in use moments ago (one this process just renamed into
 * place): on this thread while such calls are fast, as above; `undefined` when it is gone.
 */
export async function lstatRecent(file: string): Promise<Stats | undefined> {
  try {
    return syncLstat ? lstatNow(file) : await lstatInPool(file);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** `lstat` through the thread pool (the callback API: cheaper than `fs.promises`). */
function lstatInPool(file: string): Promise<Stats> {
  return new Promise((resolve, reject) => {
    fs.lstat(file, (error, stats) => (error ? reject(error) : resolve(stats)));
  });
}

/** Whether files known to the cache are looked at synchronously (false once one such look was slow). */
export function usesSyncLstat(): boolean {
  return syncLstat;
}

function sameState(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
