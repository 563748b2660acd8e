/**
 * The records of one store: the lazily loaded key index, and crash-safe writes, deletes and
 * reads of record files.
 *
 * Changes other processes make to the folder are followed by `OtherWriters` (other-writers.ts).
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
import { FileRangeStream, openDescriptor } from './file-stream.js';
import { nodeFs, writeNewFileSynced, type FsHandle, type FsLayer } from './fs-layer.js';
import { forEachLimited, tempStem } from './fs-utils.js';
import { FsyncGroup } from './fsync-group.js';
import { KeyIndex } from './key-index.js';
import { CaseFold } from './case-fold.js';
import {
  childPath,
  dataExtensionFor,
  fileStemFor,
  hashedStemFor,
  MAX_FILE_NAME_LENGTH,
  sidecarFileName,
  TEMP_DIR_NAME,
} from './layout.js';
import { OtherWriters } from './other-writers.js';
import { CHANGED, lookAtRecordFile, MISSING } from './record-reader.js';
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
  /** Scan without removing anything (crash leftovers are left alone). */
  readOnly?: boolean;
  /** File names ignore case: keys differing only in case get distinct stems. */
  caseInsensitive?: boolean;
  /** The file system to use (tests pass their own); the real one by default. */
  fs?: FsLayer;
}

/** What a change did to the store's byte count. */
export interface RecordChange {
  sizeDelta: number;
}

/** Records statted at once while sizing the index in the background. */
const SIZING_BATCH = 512;

/** Makes a written body durable and closes it; resolves with its inode (read meanwhile). */
async function finishBody(handle: FsHandle): Promise<number> {
  try {
    const [, stats] = await Promise.all([handle.sync(), handle.stat()]);
    return stats.ino;
  } finally {
    await handle.close();
  }
}

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
  /** Which key holds each plain stem, case-folded (case-insensitive file systems only). */
  private fold: CaseFold | undefined;

  /** Follows what other processes do to the folder (watch events and rescans go there). */
  readonly otherWriters: OtherWriters;

  constructor(private readonly ctx: StoreRecordsContext) {
    this.fs = ctx.fs ?? nodeFs;
    this.fsyncs = new FsyncGroup(this.fs);
    this.otherWriters = new OtherWriters({
      fs: this.fs,
      dir: ctx.dir,
      lock: ctx.lock,
      loaded: () => this.index,
      isCommitting: (key) => this.committing.has(key),
      inKeyTurn: (key, fn) => this.queue.run(key, fn),
      adopt: (index, entry) => {
        index.set(entry);
        this.fold?.add(entry.key, entry.stem);
      },
      forget: (index, key) => this.forget(index, key),
      scanReadOnly: () => this.scan(true),
      sizeEntries: (index, entries) => this.sizeEntries(index, entries),
      replace: (index, totalBytes) => {
        this.index = index;
        this.loading = Promise.resolve(index);
        this.fold = undefined;
        this.ctx.onLoaded(totalBytes);
      },
    });
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
        this.fold = undefined;
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

  /** Read-only scans (the CLI's, rescans while other processes write) remove nothing. */
  private async scan(readOnly = this.ctx.readOnly === true): Promise<KeyIndex<RecordEntry>> {
    const dir = this.ctx.dir();
    const { entries, conflicts } = await scanRecordFiles(this.fs, dir);
    const index = new KeyIndex(entries);
    await resolveConflicts(this.fs, dir, conflicts, (key) => index.get(key), (entry) => index.set(entry), { readOnly });
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
    const progress: { bodyMoved: boolean; fileStem?: string } = { bodyMoved: false };
    try {
      // The slow part, in parallel with any other write (of this key too): body and sidecar
      // written and fsynced in the temp folder.
      const handle = await this.ctx.lock.shared(async () => {
        this.ctx.assertAlive();
        return this.fs.open(childPath(await this.tempDir(), stem + TEMP_DATA_SUFFIX), 'wx');
      });
      let written: WrittenBody;
      try {
        written = await writeBody(handle, body, maxBytes);
      } catch (error) {
        await handle.close();
        throw error;
      }
      // The body's data goes to disk while its sidecar is written: both are durable before
      // the temp folder is synced, which is all recovery needs.
      const bodySynced = finishBody(handle);
      bodySynced.catch(() => {}); // awaited below; a failure before that must not go unhandled
      const modifiedAt = new Date(this.ctx.now());
      const sidecarFor = (fileStem: string) =>
        serializeRecordMetadata({
          key,
          contentType,
          extension: ext,
          size: written.size,
          etag: written.etag,
          modifiedAt: modifiedAt.toISOString(),
          ...(fileStem !== fileStemFor(key) ? { stem: fileStem } : {}),
        });
      let ino = -1;
      const planned = await this.ctx.lock.shared(async () => {
        try {
          this.ctx.assertAlive();
          const fileStem = this.stemFor(await this.load(), key);
          const tempDir = await this.tempDir();
          await writeNewFileSynced(this.fs, childPath(tempDir, stem + TEMP_META_SUFFIX), sidecarFor(fileStem));
          ino = await bodySynced;
          // Both temp files must be on disk before the body moves: recovery relies on them.
          await this.fsyncs.sync(tempDir);
          return fileStem;
        } finally {
          await bodySynced.catch(() => {});
        }
      });
      // The key's turn covers only the swap.
      return await this.queue.run(key, () =>
        this.ctx.lock.shared(() =>
          this.whileCommitting(key, () =>
            this.commit(key, stem, ext, contentType, written, ino, modifiedAt, progress, planned, sidecarFor),
          ),
        ),
      );
    } catch (error) {
      if (progress.bodyMoved) {
        // The new body is in place but the write did not finish: put its sidecar in
        // place if still possible (else recovery does on the next open) and rescan.
        await this.finishSidecar(stem, progress.fileStem);
        this.index = undefined;
        this.loading = undefined;
      } else {
        await this.removeTempFiles(stem);
      }
      throw error;
    }
  }

  /** Closes what the records keep open, once writes are done. */
  async close(): Promise<void> {
    await this.drain();
    await this.fsyncs.close();
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
    progress: { bodyMoved: boolean; fileStem?: string },
    planned: string,
    sidecarFor: (fileStem: string) => string,
  ): Promise<RecordInfo & RecordChange> {
    this.ctx.assertAlive();
    const dir = this.ctx.dir();
    const tempDir = childPath(dir, TEMP_DIR_NAME);
    const index = await this.load();
    const previous = index.get(key);
    const fileStem = this.stemFor(index, key);
    const metaTemp = childPath(tempDir, stem + TEMP_META_SUFFIX);
    if (fileStem !== planned) {
      // A key differing only in case took the planned name meanwhile: the sidecar names the new stem.
      await this.fs.remove(metaTemp);
      await writeNewFileSynced(this.fs, metaTemp, sidecarFor(fileStem));
      await this.fsyncs.sync(tempDir);
    }
    const entry = new RecordEntry(key, intern(ext), true, fileStem === key ? undefined : fileStem);

    await this.fs.rename(childPath(tempDir, stem + TEMP_DATA_SUFFIX), childPath(dir, entry.fileName));
    progress.bodyMoved = true;
    progress.fileStem = fileStem;
    // The body must be in place on disk before its sidecar is (else a power loss could pair
    // the new sidecar with the old body).
    await this.fsyncs.sync(dir);
    // No fsync after this rename: until it is on disk, the sidecar is still durably in the
    // temp folder, and recovery puts it in place (the body it describes already is).
    await this.fs.rename(metaTemp, childPath(dir, sidecarFileName(fileStem)));
    // The old body had another extension, or was a long key's plain file (from Crawlee).
    // No fsync: if it comes back after a power loss, the sidecar says which file is current.
    if (previous && previous.fileName !== entry.fileName) {
      await this.fs.remove(childPath(dir, previous.fileName));
      const oldSidecar = sidecarFileName(previous.stem);
      if (previous.stem !== fileStem && oldSidecar.length <= MAX_FILE_NAME_LENGTH) await this.fs.remove(childPath(dir, oldSidecar));
    }

    Object.assign(entry, {
      contentType: intern(contentType),
      size: written.size,
      etag: written.etag,
      modifiedMs: modifiedAt.getTime(),
      ino,
    });
    index.set(entry);
    this.fold?.add(key, fileStem);
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
          await this.fs.remove(childPath(dir, sidecarFileName(entry.stem)));
          index.delete(key);
          this.fold?.remove(key);
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
        const commit = this.committing.get(key);
        if (commit) await commit;
        const entry = index.get(key);
        if (!entry) {
          // Another process may have written it since the index was built.
          if (this.committing.has(key) || !(await this.otherWriters.adoptFromDisk(index, key))) return null;
          continue;
        }
        const file = childPath(dir, entry.fileName);
        if (entry.contentType === undefined || this.fs !== nodeFs) {
          // First read of this record (its sidecar is read now), or a file system of a test's own.
          const stats = await statRecordFile(this.fs, file);
          if (this.committing.has(key) || index.get(key) !== entry) continue;
          if (!stats) {
            this.forget(index, key);
            return null;
          }
          if (entry.contentType === undefined) await describeEntry(this.fs, dir, entry, stats);
          // Replaced behind our back (by hand) if the inode or size changed: take it as it is now.
          else applyStats(entry, stats);
          if (this.fs !== nodeFs) {
            await ensureEtag(this.fs, dir, entry);
            return this.toStoredRecord(entry, undefined);
          }
        }
        const look = await lookAtRecordFile(file, entry);
        if (look === CHANGED) continue;
        if (look === MISSING) {
          if (this.committing.has(key) || index.get(key) !== entry) continue;
          // Removed behind our back: forget it.
          this.forget(index, key);
          return null;
        }
        const { stats, etag } = look;
        if (stats.ino !== entry.ino || stats.size !== entry.size || etag !== entry.etag) {
          if (this.committing.has(key) || index.get(key) !== entry) continue;
          // Changed behind our back (by another process or by hand): take the file as it is now.
          Object.assign(entry, { ino: stats.ino, size: stats.size, etag, modifiedMs: stats.mtimeMs });
        }
        return this.toStoredRecord(entry, look.body);
      }
    });
  }

  /**
   * The path of `key`'s data file as it is on disk (its stem may be hashed, its extension
   * whatever the writer chose), or `null` when there is no such record.
   */
  async filePath(key: string): Promise<string | null> {
    return this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      const index = await this.load();
      const commit = this.committing.get(key);
      if (commit) await commit;
      if (!index.has(key) && !(await this.otherWriters.adoptFromDisk(index, key))) return null;
      return childPath(this.ctx.dir(), index.get(key)!.fileName);
    });
  }

  private forget(index: KeyIndex<RecordEntry>, key: string): void {
    if (index.delete(key)) this.fold?.remove(key);
  }

  private toStoredRecord(entry: RecordEntry, body: Buffer | undefined): StoredRecord {
    const { key, size, ino } = entry;
    const fileName = entry.fileName;
    return {
      key,
      contentType: entry.contentType!,
      size,
      etag: entry.etag!,
      modifiedAt: new Date(entry.modifiedMs),
      body,
      openStream: (range) => {
        const start = range ? Math.max(0, range.start) : 0;
        const end = range ? Math.min(range.end, size - 1) : size - 1;
        return new FileRangeStream(
          () => this.ctx.lock.shared(async () => {
            this.ctx.assertAlive();
            const file = childPath(this.ctx.dir(), fileName);
            return this.fs === nodeFs ? openDescriptor(file) : this.fs.open(file, 'r');
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

  /**
   * The stem for a key's files: its usual one, except on a case-insensitive file system when
   * another key differing only in case already holds that name (then the hashed stem).
   */
  private stemFor(index: KeyIndex<RecordEntry>, key: string): string {
    const usual = fileStemFor(key);
    if (!this.ctx.caseInsensitive || usual !== key) return usual;
    const current = index.get(key);
    if (current) return current.stem;
    this.fold ??= CaseFold.of(index.values());
    const holder = this.fold.holder(key);
    return holder !== undefined && holder !== key ? hashedStemFor(key) : usual;
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

  private async finishSidecar(stem: string, fileStem: string | undefined): Promise<void> {
    if (fileStem === undefined) return;
    try {
      await this.ctx.lock.shared(async () => {
        const dir = this.ctx.dir();
        const metaTemp = childPath(childPath(dir, TEMP_DIR_NAME), stem + TEMP_META_SUFFIX);
        await this.fs.rename(metaTemp, childPath(dir, sidecarFileName(fileStem)));
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
