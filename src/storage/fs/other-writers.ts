/**
 * Keeps a store's loaded key index in step with record files that other processes (Crawlee,
 * the Apify SDK, a second server, a user by hand) create, change or remove: a key missing from
 * the index is looked for on disk before it counts as absent, a watch event re-reads one key,
 * and a rescan rebuilds the index from the folder when watching could not say what changed.
 */
import type { FsLayer } from './fs-layer.js';
import { statRecentRecordFile } from './describe.js';
import { childPath, fileStemFor } from './layout.js';
import type { SharedLock } from '../locks.js';
import { probeRecord } from './record-probe.js';
import type { RecordIndex } from './record-index.js';
import type { RecordEntry } from './record-entry.js';

/** What the store's records share with this module: their index and its guards. */
export interface IndexAccess {
  readonly fs: FsLayer;
  dir(): string;
  lock: SharedLock;
  /** The index, when it is loaded. */
  loaded(): RecordIndex | undefined;
  /** True while one of our own writes or deletes of `key` is swapping its files. */
  isCommitting(key: string): boolean;
  /** True while a commit of ours that failed half way waits to put `key`'s sidecar in place. */
  isSettling(key: string): boolean;
  /** Runs `fn` in `key`'s turn (after writes and deletes of that key queued before). */
  inKeyTurn<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Puts a record found on disk into the index. */
  adopt(index: RecordIndex, entry: RecordEntry): void;
  /** Drops a key whose files are gone. */
  forget(index: RecordIndex, key: string): void;
  /** Builds a fresh index from the folder, removing nothing. */
  scanReadOnly(): Promise<RecordIndex>;
  /** Stats the entries whose size is unknown. */
  sizeEntries(index: RecordIndex, entries: RecordEntry[]): Promise<unknown>;
  /** Makes `index` the store's index, `totalBytes` its byte count. */
  replace(index: RecordIndex, totalBytes: number): void;
  /** Runs `fn` as a use of the index (not evicted meanwhile). */
  inUse<T>(fn: () => Promise<T>): Promise<T>;
}

/** Records statted per step of a rescan. */
const RESCAN_BATCH = 512;

export class OtherWriters {
  constructor(private readonly access: IndexAccess) {}

  /** Looks for a key missing from the index on disk; true when found (and now indexed). */
  async adoptFromDisk(index: RecordIndex, key: string): Promise<boolean> {
    const { access } = this;
    const found = await probeRecord(access.fs, access.dir(), key, fileStemFor(key));
    if (!found || index.has(key) || access.isCommitting(key)) return index.has(key);
    access.adopt(index, found);
    return true;
  }

  /**
   * Re-reads one key's files after another process changed them (a watch event for a file
   * of `stem`; `ext` is the extension the event named). No-op while the index is not loaded.
   */
  async refreshKey(key: string, stem: string, ext: string | null): Promise<void> {
    const { access } = this;
    if (!access.loaded()) return;
    await access.inUse(() => access.inKeyTurn(key, () =>
      access.lock.shared(async () => {
        const index = access.loaded();
        if (!index || access.isCommitting(key) || access.isSettling(key)) return;
        const entry = index.get(key);
        if (entry && entry.stem !== stem) return; // a stale file under another stem: not the record
        // Our own commits (and touches that change nothing) end here with one lstat.
        if (entry && entry.ino !== -1 && (ext === null || ext === entry.ext)) {
          const stats = await statRecentRecordFile(access.fs, childPath(access.dir(), entry.fileName)).catch(() => null);
          const unchanged = stats !== null && stats.ino === entry.ino && stats.size === entry.size;
          // A file rewritten in place (Crawlee does) keeps its inode: its time tells.
          if (unchanged && !(stats.mtimeMs > entry.modifiedMs)) return;
        }
        const found = await probeRecord(access.fs, access.dir(), key, stem, [ext, entry?.ext ?? null]);
        if (!found) {
          if (entry) access.forget(index, key);
          return;
        }
        const same = entry && entry.ino === found.ino && entry.size === found.size && entry.contentType === found.contentType;
        if (same && entry.modifiedMs >= found.modifiedMs) return;
        access.adopt(index, found);
      }),
    ));
  }

  /** Rebuilds a loaded index from the folder (changes watching could not report), under the exclusive lock. */
  async rescan(): Promise<void> {
    const { access } = this;
    if (!access.loaded()) return;
    await access.inUse(() => access.lock.exclusive(async () => {
      const old = access.loaded();
      if (!old) return;
      const index = await access.scanReadOnly();
      for (let after: string | undefined; ; ) {
        const page = index.page({ exclusiveStartKey: after, limit: RESCAN_BATCH });
        await access.sizeEntries(index, page.entries);
        if (!page.isTruncated) break;
        after = page.entries[page.entries.length - 1]!.key;
      }
      for (const before of old.values()) {
        // The disk still has the old sidecar; the index knows better.
        if (access.isSettling(before.key)) index.set(before);
        // Keep what is known of a record while its file is the same one.
        if (before.etag === undefined) continue;
        const now = index.peek(before.key);
        if (now && now.fileName === before.fileName && now.size === before.size && now.etag === undefined) {
          const entry = index.get(before.key)!;
          // Checked against the file (inode, then times) at the next read.
          entry.ino = before.ino;
          entry.etag = before.etag;
          entry.etagMtimeMs = before.etagMtimeMs;
          entry.etagCtimeMs = before.etagCtimeMs;
        }
      }
      access.replace(index, index.knownBytes());
    }));
  }
}
