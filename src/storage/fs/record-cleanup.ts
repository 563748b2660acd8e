/**
 * Files of ours a record's newer write or its delete leaves superseded: the old body under another
 * extension, and the leftovers a scan found (see `Leftover`); the temp files of a write that
 * failed. Only ever what we wrote.
 */
import { statRecordFile, type Leftover } from './describe.js';
import type { FsLayer } from './fs-layer.js';
import { childPath, TEMP_DIR_NAME } from './layout.js';
import type { RecordEntry } from './record-entry.js';
import { TEMP_DATA_SUFFIX, TEMP_META_SUFFIX } from './record-recovery.js';
import type { WriteAccess } from './write-access.js';

/** What the cleanup needs of the store's write path. */
export interface CleanupAccess {
  readonly fs: FsLayer;
  dir(): string;
  /** Takes the files of ours a scan found superseded for `key`. */
  takeLeftovers(key: string): Leftover[];
}

/**
 * Removes the files of ours a scan found superseded for `key` (a write of ours that changed
 * the extension cut short, our sidecar left by a delete cut short), each only while it is
 * still the file the scan saw: what another program wrote since is theirs.
 */
export async function removeLeftovers(access: CleanupAccess, key: string): Promise<boolean> {
  const { fs } = access;
  const dir = access.dir();
  let removed = false;
  for (const file of access.takeLeftovers(key)) {
    const path = childPath(dir, file.fileName);
    const stats = await statRecordFile(fs, path);
    if (stats && stats.ino === file.ino && stats.size === file.size && stats.mtimeMs === file.mtimeMs) {
      await fs.remove(path);
      removed = true;
    }
  }
  return removed;
}

/**
 * Removes, for a write committing `fileName`, the key's old body under another name (another
 * extension, or a long key's plain file from Crawlee) and the leftovers the scan found.
 * Returns whether anything was removed (the caller makes that durable).
 */
export async function removeSuperseded(
access: CleanupAccess,
key: string,
dir: string,
previous: RecordEntry | undefined,
fileName: string,
): Promise<boolean> {
  let removed = false;
  if (previous && previous.fileName !== fileName) {
    await access.fs.remove(childPath(dir, previous.fileName));
    removed = true;
  }
  return (await removeLeftovers(access, key)) || removed;
}

/** Removes the temp files of a write that failed before its body moved into place. */
export async function removeTempFiles(access: Pick<WriteAccess, 'fs' | 'dir' | 'lock'>, stem: string): Promise<void> {
  try {
    await access.lock.shared(async () => {
      const tempDir = childPath(access.dir(), TEMP_DIR_NAME);
      // The sidecar first: a body left alone is plain garbage to recovery.
      await access.fs.remove(childPath(tempDir, stem + TEMP_META_SUFFIX));
      await access.fs.remove(childPath(tempDir, stem + TEMP_DATA_SUFFIX));
    });
  } catch {
    // The store may be gone; recovery cleans the temp folder on the next open anyway.
  }
}
