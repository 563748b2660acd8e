/**
 * The records of one store: the lazily loaded key index, and crash-safe writes, deletes and
 * reads of record files.
 *
 * A write goes, with no per-key turn held: body streamed to `.tmp/{stem}.data` (hashed,
 * counted, fsynced) -> sidecar to `.tmp/{stem}.meta` (fsynced) -> fsync `.tmp`. Then, in the
 * key's turn (writes of one key commit in the order their bodies finished): rename the body
 * into place -> fsync the folder -> rename the sidecar into place -> remove the body file of
 * the old extension if it changed. Folder fsyncs of concurrent writes are shared
 * (`FsyncGroup`). `recoverTempFolder()` finishes or undoes each step. Each fsync is needed:
 * the power-loss test (test/storage/power-loss.test.ts) fails without any one. A rename is
 * taken to reach the disk as one change, as journaling file systems make it.
 */
import type { Readable } from 'node:stream';

import { writeBody, type WrittenBody } from './body-writer.js';
import { extensionForContentType } from '../content-types.js';
import { applyStats, describeEntry, ensureEtag, statRecordFile } from './describe.js';
import { StorageError } from '../errors.js';
import { FileRangeStream } from './file-stream.js';
import { nodeFs, writeNewFileSynced, type FsLayer } from './fs-layer.js';
import { forEachLimited, tempStem } from './fs-utils.js';
import { FsyncGroup } from './fsync-group.js';
import { KeyIndex } from './key-index.js';
import { childPath, dataExtensionFor, fileStemFor, recordMetadataFileName, TEMP_DIR_NAME } from './layout.js';
import { KeyedQueue, type SharedLock } from '../locks.js';
import { intern, RecordEntry } from './record-entry.js';
import { TEMP_DATA_SUFFIX, TEMP_META_SUFFIX } from './record-recovery.js';
import { serializeRecordMetadata } from './record-metadata.js';
import { resolveConflicts, scanRecordFiles, yieldToEventLoop } from './record-scan.js';
import type { ListKeysOptions, RecordInfo, StoredRecord } from '../types.js';

export interface StoreRecordsContext {
  /** The store folder's current path (it moves when the store is renamed). */
  dir(): string;
  /** Shared by record operations, exclusive while the folder moves or is deleted. */
  lock: SharedLock;
  /** Throws `store-not-found` once the store is deleted. */
  assertAlive(): void;
  now(): number;
  /** Told the real byte total once every record's size is known (stats saved before a crash may lag). */
  onLoaded(totalBytes: number): void;
  /** The file system to use (tests pass their own); the real one by default. */
  fs?: FsLayer;
}

/** What a change did to the store's byte count. */
export interface RecordChange {
  sizeDelta: number;
}

/** Records statted at once while sizing the index in the background. */
const SIZING_BATCH = 512;

export class StoreRecords {
  private index: KeyIndex<RecordEntry> | undefined;
  private loading: Promise<KeyIndex<RecordEntry>> | undefined;
  /** Sizes every record after loading; resolves once all are known. */
  private sizing: Promise<void> | undefined;
  private readonly queue = new KeyedQueue();
  /** Keys whose files are being swapped right now; readers wait for these. */
  private readonly committing = new Map<string, Promise<unknown>>();
  private readonly fs: FsLayer;
  private readonly fsyncs: FsyncGroup;
  private tempDirReady: string | undefined;

  constructor(private readonly ctx: StoreRecordsContext) {
    this.fs = ctx.fs ?? nodeFs;
    this.fsyncs = new FsyncGroup(this.fs);
  }

  get isLoaded(): boolean {
    return this.index !== undefined;
  }

  /** Loads the index once (call under the shared lock); record sizes follow in the background. */
  load(): Promise<KeyIndex<RecordEntry>> {
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= this.scan().then(
      (index) => {
        this.index = index;
        this.sizing = this.sizeAll(index).catch(() => {
          // The store went away or its folder is unreadable: sizes stay lazy.
        });
        return index;
      },
      (error) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  private async scan(): Promise<KeyIndex<RecordEntry>> {
    const dir = this.ctx.dir();
    const { entries, conflicts } = await scanRecordFiles(this.fs, dir);
    const index = new KeyIndex(entries);
    await resolveConflicts(this.fs, dir, conflicts, (key) => index.get(key), (entry) => index.set(entry));
    return index;
  }

  /** Loads the index and every record's size (reported through `onLoaded`). */
  async ensureLoaded(): Promise<void> {
    await this.ctx.lock.shared(() => this.load());
    await this.sizing;
  }

  /** Stats records in batches, yielding between them, then reports the store's byte total. */
  private async sizeAll(index: KeyIndex<RecordEntry>): Promise<void> {
    let after: string | undefined;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.ctx.lock.shared(async () => {
        this.ctx.assertAlive();
        if (this.index !== index) throw new Error('index replaced');
        const page = index.page({ exclusiveStartKey: after, limit: SIZING_BATCH });
        await this.sizeEntries(index, page.entries);
        return page;
      });
      if (!page.isTruncated) break;
      after = page.entries[page.entries.length - 1]!.key;
    }
    let total = 0;
    for (const entry of index.values()) total += Math.max(0, entry.size);
    this.ctx.onLoaded(total);
  }

  /** Stats the entries whose size is unknown; entries whose file is gone leave the index. */
  private async sizeEntries(index: KeyIndex<RecordEntry>, entries: RecordEntry[]): Promise<boolean> {
    const dir = this.ctx.dir();
    let dropped = false;
    await forEachLimited(entries.filter((entry) => entry.size === -1), 32, async (entry) => {
      const stats = await statRecordFile(this.fs, childPath(dir, entry.fileName));
      if (stats) applyStats(entry, stats);
      else if (index.get(entry.key) === entry && !this.committing.has(entry.key)) {
        index.delete(entry.key);
        dropped = true;
      }
    });
    return dropped;
  }

  async list(options: ListKeysOptions & { limit: number }) {
    return this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      const index = await this.load();
      for (;;) {
        const page = index.page(options);
        // A file found gone drops its key: page again so the page stays full.
        if (!(await this.sizeEntries(index, page.entries))) {
          return { ...page, entries: page.entries.map((entry) => ({ key: entry.key, size: Math.max(0, entry.size) })) };
        }
      }
    });
  }

  async put(
    key: string,
    body: Readable | Uint8Array,
    contentType: string,
    maxBytes: number | undefined,
  ): Promise<RecordInfo & RecordChange> {
    const ext = dataExtensionFor(key, extensionForContentType(contentType));
    const stem = tempStem();
    const progress = { bodyMoved: false };
    try {
      // The slow part, in parallel with any other write (of this key too): body and sidecar
      // written and fsynced in the temp folder.
      const handle = await this.ctx.lock.shared(async () => {
        this.ctx.assertAlive();
        return this.fs.open(childPath(await this.tempDir(), stem + TEMP_DATA_SUFFIX), 'wx');
      });
      let written: WrittenBody;
      let ino: number;
      try {
        written = await writeBody(handle, body, maxBytes);
        await handle.sync();
        ino = (await handle.stat()).ino;
      } finally {
        await handle.close();
      }
      const modifiedAt = new Date(this.ctx.now());
      const sidecar = serializeRecordMetadata({
        key,
        contentType,
        extension: ext,
        size: written.size,
        etag: written.etag,
        modifiedAt: modifiedAt.toISOString(),
      });
      await this.ctx.lock.shared(async () => {
        this.ctx.assertAlive();
        const tempDir = await this.tempDir();
        await writeNewFileSynced(this.fs, childPath(tempDir, stem + TEMP_META_SUFFIX), sidecar);
        // Both temp files must be on disk before the body moves: recovery relies on them.
        await this.fsyncs.sync(tempDir);
      });
      // The key's turn covers only the swap.
      return await this.queue.run(key, () =>
        this.ctx.lock.shared(() =>
          this.whileCommitting(key, () => this.commit(key, stem, ext, contentType, written, ino, modifiedAt, progress)),
        ),
      );
    } catch (error) {
      if (progress.bodyMoved) {
        // The new body is in place but the write did not finish: put its sidecar in
        // place if still possible (else recovery does on the next open) and rescan.
        await this.finishSidecar(key, stem);
        this.index = undefined;
        this.loading = undefined;
      } else {
        await this.removeTempFiles(stem);
      }
      throw error;
    }
  }

  private async tempDir(): Promise<string> {
    const tempDir = childPath(this.ctx.dir(), TEMP_DIR_NAME);
    if (this.tempDirReady !== tempDir) {
      await this.fs.mkdir(tempDir);
      this.tempDirReady = tempDir;
    }
    return tempDir;
  }

  private async commit(
    key: string,
    stem: string,
    ext: string,
    contentType: string,
    written: WrittenBody,
    ino: number,
    modifiedAt: Date,
    progress: { bodyMoved: boolean },
  ): Promise<RecordInfo & RecordChange> {
    this.ctx.assertAlive();
    const dir = this.ctx.dir();
    const tempDir = childPath(dir, TEMP_DIR_NAME);
    const index = await this.load();
    const previous = index.get(key);
    const stemOnDisk = fileStemFor(key);
    const entry = new RecordEntry(key, intern(ext), true, stemOnDisk === key ? undefined : stemOnDisk);

    await this.fs.rename(childPath(tempDir, stem + TEMP_DATA_SUFFIX), childPath(dir, entry.fileName));
    progress.bodyMoved = true;
    // The body must be in place on disk before its sidecar is (else a power loss could pair
    // the new sidecar with the old body).
    await this.fsyncs.sync(dir);
    // No fsync after this rename: until it is on disk, the sidecar is still durably in the
    // temp folder, and recovery puts it in place (the body it describes already is).
    await this.fs.rename(childPath(tempDir, stem + TEMP_META_SUFFIX), childPath(dir, recordMetadataFileName(key)));
    // The old body had another extension, or was a long key's plain file (from Crawlee).
    // No fsync: if it comes back after a power loss, the sidecar says which file is current.
    if (previous && previous.fileName !== entry.fileName) await this.fs.remove(childPath(dir, previous.fileName));

    Object.assign(entry, {
      contentType: intern(contentType),
      size: written.size,
      etag: written.etag,
      modifiedMs: modifiedAt.getTime(),
      ino,
    });
    index.set(entry);
    return {
      key,
      contentType,
      size: written.size,
      etag: written.etag,
      modifiedAt,
      sizeDelta: written.size - Math.max(0, previous?.size ?? 0),
    };
  }

  /** Returns the removed record's size, or `null` when there was none. */
  async delete(key: string): Promise<number | null> {
    return this.queue.run(key, () =>
      this.ctx.lock.shared(() =>
        this.whileCommitting(key, async () => {
          this.ctx.assertAlive();
          const index = await this.load();
          const entry = index.get(key);
          if (!entry) return null;
          const dir = this.ctx.dir();
          if (entry.size === -1) await this.sizeEntries(index, [entry]);
          // Body first, made durable: a power loss after that leaves only a sidecar, which
          // the scan drops; never the old body without its sidecar.
          await this.fs.remove(childPath(dir, entry.fileName));
          await this.fsyncs.sync(dir);
          await this.fs.remove(childPath(dir, recordMetadataFileName(key)));
          index.delete(key);
          return Math.max(0, entry.size);
        }),
      ),
    );
  }

  async get(key: string): Promise<StoredRecord | null> {
    return this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      const index = await this.load();
      const dir = this.ctx.dir();
      for (;;) {
        await this.committing.get(key);
        const entry = index.get(key);
        if (!entry) return null;
        const stats = await statRecordFile(this.fs, childPath(dir, entry.fileName));
        if (this.committing.has(key) || index.get(key) !== entry) continue;
        if (!stats) {
          // Removed behind our back: forget it.
          index.delete(key);
          return null;
        }
        if (entry.contentType === undefined) await describeEntry(this.fs, dir, entry, stats);
        // Replaced behind our back (by hand) if the inode or size changed: take it as it is now.
        else applyStats(entry, stats);
        await ensureEtag(this.fs, dir, entry);
        return this.toStoredRecord(entry);
      }
    });
  }

  private toStoredRecord(entry: RecordEntry): StoredRecord {
    const { key, size, ino } = entry;
    const fileName = entry.fileName;
    return {
      key,
      contentType: entry.contentType!,
      size,
      etag: entry.etag!,
      modifiedAt: new Date(entry.modifiedMs),
      openStream: (range) => {
        const start = range ? Math.max(0, range.start) : 0;
        const end = range ? Math.min(range.end, size - 1) : size - 1;
        return new FileRangeStream(
          () => this.ctx.lock.shared(async () => {
            this.ctx.assertAlive();
            return this.fs.open(childPath(this.ctx.dir(), fileName), 'r');
          }),
          (stats) => {
            if (stats.ino !== ino) {
              throw new StorageError('record-not-found', `Record "${key}" was replaced or deleted while it was being read.`);
            }
          },
          start,
          end,
        );
      },
    };
  }

  /** Resolves once all writes and deletes started so far, and the background sizing, are finished. */
  async drain(): Promise<void> {
    await this.queue.drain();
    await this.loading?.catch(() => {});
    await this.sizing;
  }

  private async whileCommitting<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const work = fn();
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.committing.set(key, settled);
    try {
      return await work;
    } finally {
      if (this.committing.get(key) === settled) this.committing.delete(key);
    }
  }

  private async finishSidecar(key: string, stem: string): Promise<void> {
    try {
      await this.ctx.lock.shared(async () => {
        const dir = this.ctx.dir();
        const metaTemp = childPath(childPath(dir, TEMP_DIR_NAME), stem + TEMP_META_SUFFIX);
        await this.fs.rename(metaTemp, childPath(dir, recordMetadataFileName(key)));
      });
    } catch {
      // Left for recovery.
    }
  }

  private async removeTempFiles(stem: string): Promise<void> {
    try {
      await this.ctx.lock.shared(async () => {
        const tempDir = childPath(this.ctx.dir(), TEMP_DIR_NAME);
        // The sidecar first: a body left alone is plain garbage to recovery.
        await this.fs.remove(childPath(tempDir, stem + TEMP_META_SUFFIX));
        await this.fs.remove(childPath(tempDir, stem + TEMP_DATA_SUFFIX));
      });
    } catch {
      // The store may be gone; recovery cleans the temp folder on the next open anyway.
    }
  }
}
