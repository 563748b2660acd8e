/**
 * What a read of one key sees: the index's entry checked against the record's file as it is
 * now. Another process may have written, replaced or removed the file since the index learned
 * of it; one of our own commits of the key may be swapping its files (the read waits for it).
 */
import { applyStats, describeEntry, ensureEtag, statRecordFile } from './describe.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { childPath } from './layout.js';
import { CHANGED, lookAtRecordFile, MISSING } from './record-reader.js';
import type { RecordEntry } from './record-entry.js';
import type { RecordIndex } from './record-index.js';

export interface LookupAccess {
  fs: FsLayer;
  /** The store folder's current path. */
  dir(): string;
  /** The commit of `key` under way, if any. */
  commitOf(key: string): Promise<unknown> | undefined;
  /** True while one of our own writes or deletes of `key` is swapping its files. */
  isCommitting(key: string): boolean;
  /** Looks for a key missing from the index on disk; true when found (and now indexed). */
  adoptFromDisk(index: RecordIndex, key: string): Promise<boolean>;
  /** Drops a key whose files are gone. */
  forget(index: RecordIndex, key: string): void;
}

/** The record's entry as it is on disk now, with its body when the file is small; `null` when there is none. */
export async function lookUpRecord(
  access: LookupAccess,
  index: RecordIndex,
  key: string,
): Promise<{ entry: RecordEntry; body: Buffer | undefined } | null> {
  const { fs } = access;
  const dir = access.dir();
  for (;;) {
    const commit = access.commitOf(key);
    if (commit) await commit;
    const entry = index.get(key);
    if (!entry) {
      // Another process may have written it since the index was built.
      if (access.isCommitting(key) || !(await access.adoptFromDisk(index, key))) return null;
      continue;
    }
    const file = childPath(dir, entry.fileName);
    if (entry.contentType === undefined || fs !== nodeFs) {
      // First read of this record (its sidecar is read now), or a file system of a test's own.
      const stats = await statRecordFile(fs, file);
      if (access.isCommitting(key) || index.get(key) !== entry) continue;
      if (!stats) {
        access.forget(index, key);
        return null;
      }
      if (entry.contentType === undefined) await describeEntry(fs, dir, entry, stats);
      // Replaced behind our back (by hand) if the inode or size changed: take it as it is now.
      else applyStats(entry, stats);
      if (fs !== nodeFs) {
        await ensureEtag(fs, dir, entry);
        return { entry, body: undefined };
      }
    }
    const look = await lookAtRecordFile(file, entry);
    if (look === CHANGED) continue;
    if (look === MISSING) {
      if (access.isCommitting(key) || index.get(key) !== entry) continue;
      // Removed behind our back: forget it.
      access.forget(index, key);
      return null;
    }
    const { stats, etag } = look;
    if (stats.ino !== entry.ino || stats.size !== entry.size || etag !== entry.etag) {
      if (access.isCommitting(key) || index.get(key) !== entry) continue;
      // Changed behind our back (by another process or by hand): take the file as it is
      // now, and its sidecar's content type only if that was written for this body.
      entry.modifiedMs = stats.mtimeMs;
      await describeEntry(fs, dir, entry, stats, etag);
      if (access.isCommitting(key) || index.get(key) !== entry) continue;
      Object.assign(entry, { ino: stats.ino, size: stats.size, etag });
    }
    // The ETag holds for the file in this state.
    entry.etagMtimeMs = stats.mtimeMs;
    entry.etagCtimeMs = stats.ctimeMs;
    return { entry, body: look.body };
  }
}
