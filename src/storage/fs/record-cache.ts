/**
 * What is known about record files as they are on disk right now: for a file in an exact state
 * (inode, size, change and modification times), its ETag, and for small files their bytes.
 * A read then costs one `lstat`: if the file still is in that state, nothing else touches the
 * disk. Another process writing the file (Crawlee, the Apify SDK, a person) changes its ctime,
 * so the next read sees a new state and goes to the disk again: the cache never serves a stale
 * body.
 *
 * Times on disk are coarse (a clock tick on Linux, up to 2 s elsewhere), so a file changed
 * within that window of being read could look unchanged after a second write of the same
 * size. Such "racy" states are never remembered (the idea git's index uses): only files whose
 * ctime lies at least {@link RACY_MILLIS} in the past are kept.
 */
import type { Stats } from 'node:fs';

/** Records up to this size are read whole and may be kept in memory. */
export const SMALL_RECORD_BYTES = 64 * 1024;
/** Total bytes of bodies kept, over all stores of a process. */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;
/** A file changed more recently than this is read from disk each time. */
export const RACY_MILLIS = 2000;
/** Bookkeeping per remembered file, counted against the byte bound. */
const ENTRY_OVERHEAD_BYTES = 256;

/** See {@link RecordFileCache.lookup}. */
export const CHANGED_SINCE = 'changed-since';

export interface KnownFile {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  etag: string;
  /** The bytes, for small files. */
  body: Buffer | undefined;
}

export class RecordFileCache {
  private readonly files = new Map<string, KnownFile>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = DEFAULT_CACHE_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * What is known about `file` if it still is in the state `stats` describes; `CHANGED_SINCE`
   * when it was known in another state (so whatever else remembered it is stale too).
   */
  lookup(file: string, stats: Stats): KnownFile | typeof CHANGED_SINCE | undefined {
    const known = this.files.get(file);
    if (!known) return undefined;
    if (known.ino === stats.ino && known.size === stats.size && known.mtimeMs === stats.mtimeMs && known.ctimeMs === stats.ctimeMs) {
      return known;
    }
    this.forget(file);
    return CHANGED_SINCE;
  }

  /** Whether anything is remembered of `file` (in whatever state). */
  knows(file: string): boolean {
    return this.files.has(file);
  }

  /** Remembers the ETag (and the body, if given) of `file` in the state `stats`, unless that state is racy. */
  remember(file: string, stats: Stats, etag: string, body?: Buffer): void {
    this.forget(file);
    if (this.now() - stats.ctimeMs < RACY_MILLIS) return;
    const cost = (body?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return;
    this.files.set(file, { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, etag, body });
    this.bytes += cost;
    // Oldest first out (insertion order; a changed file is re-inserted when read again).
    for (const [oldest, entry] of this.files) {
      if (this.bytes <= this.maxBytes) break;
      this.files.delete(oldest);
      this.bytes -= (entry.body?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
    }
  }

  forget(file: string): void {
    const known = this.files.get(file);
    if (!known) return;
    this.files.delete(file);
    this.bytes -= (known.body?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
  }

  /** Bytes counted against the bound (bodies plus bookkeeping). */
  get size(): number {
    return this.bytes;
  }
}

/** The one cache of a process: bodies are few and small, and a path names one file. */
export const recordFileCache = new RecordFileCache();
