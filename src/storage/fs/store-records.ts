/**
 * The records of one store: the lazily loaded key index, and crash-safe writes,
 * deletes and reads of record files.
 *
 * A write goes: body streamed to `.tmp/{stem}.data` (hashed, counted, fsynced) ->
 * sidecar to `.tmp/{stem}.meta` (fsynced) -> fsync `.tmp` -> rename the body into place
 * -> fsync -> rename the sidecar into place -> fsync -> remove the body file of the old
 * extension if it changed. `recoverTempFolder()` knows how to finish or undo each step.
 */
import { promises as fsp } from 'node:fs';
import { Readable } from 'node:stream';

import { writeBody } from './body-writer.js';
import { extensionForContentType } from '../content-types.js';
import { StorageError } from '../errors.js';
import { FileRangeStream, openForReading } from './file-stream.js';
import { CHANGED, lookAtRecordFile, MISSING } from './record-reader.js';
import { fsyncDir, tempStem, writeNewFileDurably } from './fs-utils.js';
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
import { probeRecord } from './record-probe.js';
import { KeyedQueue, type SharedLock } from '../locks.js';
import { serializeRecordMetadata } from './record-metadata.js';
import {
  dataFileOf,
  scanStoreFolder,
  TEMP_DATA_SUFFIX,
  TEMP_META_SUFFIX,
  type IndexEntry,
} from './store-folder.js';
import type { ListKeysOptions, RecordInfo, StoredRecord } from '../types.js';

export interface StoreRecordsContext {
  /** The store folder's current path (it moves when the store is renamed). */
  dir(): string;
  /** Shared by record operations, exclusive while the folder moves or is deleted. */
  lock: SharedLock;
  /** Throws `store-not-found` once the store is deleted. */
  assertAlive(): void;
  now(): number;
  /** Told the real byte total once the index is loaded (stats saved before a crash may lag). */
  onLoaded(totalBytes: number): void;
  /** Scan without removing anything (crash leftovers are left alone). */
  readOnly?: boolean;
  /** File names ignore case: keys differing only in case get distinct stems. */
  caseInsensitive?: boolean;
}

/** What a change did to the store's byte count. */
export interface RecordChange {
  sizeDelta: number;
}

export class StoreRecords {
  private index: KeyIndex<IndexEntry> | undefined;
  private loading: Promise<KeyIndex<IndexEntry>> | undefined;
  private readonly queue = new KeyedQueue();
  /** Keys whose files are being swapped right now; readers wait for these. */
  private readonly committing = new Map<string, Promise<unknown>>();
  /** Which key holds each plain stem, case-folded (case-insensitive file systems only). */
  private fold: CaseFold | undefined;

  constructor(private readonly ctx: StoreRecordsContext) {}

  get isLoaded(): boolean {
    return this.index !== undefined;
  }

  /** Loads the index once (call under the shared lock). */
  load(): Promise<KeyIndex<IndexEntry>> {
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= scanStoreFolder(this.ctx.dir(), { readOnly: this.ctx.readOnly }).then(
      (entries) => {
        const index = new KeyIndex<IndexEntry>();
        this.fold = undefined;
        let total = 0;
        for (const entry of entries) {
          index.set(entry);
          total += entry.size;
        }
        this.index = index;
        this.ctx.onLoaded(total);
        return index;
      },
      (error) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /** Loads the index now (it reports the byte total through `onLoaded`). */
  async ensureLoaded(): Promise<void> {
    await this.ctx.lock.shared(() => this.load());
  }

  async list(options: ListKeysOptions & { limit: number }) {
    const index = await this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      return this.load();
    });
    return index.page(options);
  }

  async put(
    key: string,
    body: Readable | Uint8Array,
    contentType: string,
    maxBytes: number | undefined,
  ): Promise<RecordInfo & RecordChange> {
    const ext = dataExtensionFor(key, extensionForContentType(contentType));
    const stem = tempStem();
    const turn = this.queue.reserve(key);
    const progress = { bodyMoved: false };
    try {
      const handle = await this.ctx.lock.shared(async () => {
        this.ctx.assertAlive();
        await this.load();
        const tempDir = childPath(this.ctx.dir(), TEMP_DIR_NAME);
        await fsp.mkdir(tempDir, { recursive: true });
        return fsp.open(childPath(tempDir, stem + TEMP_DATA_SUFFIX), 'wx');
      });
      let written;
      let ino: number;
      try {
        written = await writeBody(handle, body, maxBytes);
        await handle.sync();
        ino = (await handle.stat()).ino;
      } finally {
        await handle.close();
      }
      // Streaming ran in parallel with other writes; the swap happens in call order.
      await turn.wait();
      return await this.ctx.lock.shared(() =>
        this.whileCommitting(key, () => this.commit(key, stem, ext, contentType, written, ino, progress)),
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
    } finally {
      turn.done();
    }
  }

  private async commit(
    key: string,
    stem: string,
    ext: string,
    contentType: string,
    written: { size: number; etag: string },
    ino: number,
    progress: { bodyMoved: boolean },
  ): Promise<RecordInfo & RecordChange> {
    this.ctx.assertAlive();
    const dir = this.ctx.dir();
    const tempDir = childPath(dir, TEMP_DIR_NAME);
    const index = await this.load();
    const previous = index.get(key);
    const modifiedAt = new Date(this.ctx.now());

    const file = { stem: this.stemFor(index, key), ext };
    const metaTemp = childPath(tempDir, stem + TEMP_META_SUFFIX);
    const sidecar = serializeRecordMetadata({
      key,
      contentType,
      extension: ext,
      size: written.size,
      etag: written.etag,
      modifiedAt: modifiedAt.toISOString(),
      ...(file.stem !== fileStemFor(key) ? { stem: file.stem } : {}),
    });
    await writeNewFileDurably(metaTemp, sidecar);
    // Both temp files must be on disk before the body moves: recovery relies on them.
    await fsyncDir(tempDir);
    await fsp.rename(childPath(tempDir, stem + TEMP_DATA_SUFFIX), childPath(dir, dataFileOf(file)));
    progress.bodyMoved = true;
    await fsyncDir(dir);
    await fsp.rename(metaTemp, childPath(dir, sidecarFileName(file.stem)));
    await fsyncDir(dir);
    // The old body had another extension, or was a long key's plain file (from Crawlee).
    if (previous && dataFileOf(previous) !== dataFileOf(file)) {
      await fsp.rm(childPath(dir, dataFileOf(previous)), { force: true });
      const oldSidecar = sidecarFileName(previous.stem);
      if (previous.stem !== file.stem && oldSidecar.length <= MAX_FILE_NAME_LENGTH) await fsp.rm(childPath(dir, oldSidecar), { force: true });
      await fsyncDir(dir);
    }

    index.set({ key, ...file, contentType, size: written.size, etag: written.etag, modifiedAt, ino });
    this.fold?.add(key, file.stem);
    return {
      key,
      contentType,
      size: written.size,
      etag: written.etag,
      modifiedAt,
      sizeDelta: written.size - (previous?.size ?? 0),
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
          // Body first: a crash in between leaves only a sidecar, which the scan drops.
          await fsp.rm(childPath(dir, dataFileOf(entry)), { force: true });
          await fsp.rm(childPath(dir, sidecarFileName(entry.stem)), { force: true });
          await fsyncDir(dir);
          index.delete(key);
          this.fold?.remove(key);
          return entry.size;
        }),
      ),
    );
  }

  async get(key: string): Promise<StoredRecord | null> {
    return this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      const index = await this.load();
      for (;;) {
        const commit = this.committing.get(key);
        if (commit) await commit;
        const entry = index.get(key);
        if (!entry) {
          // Another process may have written it since the index was built.
          if (this.committing.has(key) || !(await this.adoptFromDisk(index, key))) return null;
          continue;
        }
        const look = await lookAtRecordFile(childPath(this.ctx.dir(), dataFileOf(entry)), entry);
        if (look === CHANGED) continue;
        if (look === MISSING) {
          if (this.committing.has(key) || index.get(key) !== entry) continue;
          // Removed behind our back: forget it.
          index.delete(key);
          return null;
        }
        const { stats, etag } = look;
        if (stats.ino !== entry.ino || stats.size !== entry.size || etag !== entry.etag) {
          if (this.committing.has(key) || index.get(key) !== entry) continue;
          // Changed behind our back (by another process or by hand): take the file as it is now.
          Object.assign(entry, { ino: stats.ino, size: stats.size, etag, modifiedAt: stats.mtime });
        }
        return this.toStoredRecord(entry, look.body);
      }
    });
  }

  private toStoredRecord(entry: IndexEntry, body: Buffer | undefined): StoredRecord {
    const { key, contentType, size, etag, modifiedAt, ino } = entry;
    const fileName = dataFileOf(entry);
    return {
      key,
      contentType,
      size,
      etag: etag!,
      modifiedAt: new Date(modifiedAt),
      body,
      openStream: (range) => {
        const start = range ? Math.max(0, range.start) : 0;
        const end = range ? Math.min(range.end, size - 1) : size - 1;
        // A small record's bytes were read with its metadata: the version looked up is served
        // (a copy: the bytes are shared with the cache, and the reader may change its own).
        if (body) return Readable.from([Buffer.from(body.subarray(start, end + 1))], { objectMode: false });
        return new FileRangeStream(
          () => this.ctx.lock.shared(async () => {
            this.ctx.assertAlive();
            return openForReading(childPath(this.ctx.dir(), fileName));
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
  private stemFor(index: KeyIndex<IndexEntry>, key: string): string {
    const usual = fileStemFor(key);
    if (!this.ctx.caseInsensitive || usual !== key) return usual;
    const current = index.get(key);
    if (current) return current.stem;
    this.fold ??= CaseFold.of(index.values());
    const holder = this.fold.holder(key);
    return holder !== undefined && holder !== key ? hashedStemFor(key) : usual;
  }

  /** Looks for a key missing from the index on disk; true when found (and now indexed). */
  private async adoptFromDisk(index: KeyIndex<IndexEntry>, key: string): Promise<boolean> {
    const found = await probeRecord(this.ctx.dir(), key, fileStemFor(key));
    if (!found || index.has(key) || this.committing.has(key)) return index.has(key);
    index.set(found);
    this.fold?.add(key, found.stem);
    return true;
  }

  /**
   * Re-reads one key's files after another process changed them (a watch event for a file
   * of `stem`; `ext` is the extension the event named). No-op while the index is not loaded.
   */
  async refreshKey(key: string, stem: string, ext: string | null): Promise<void> {
    if (!this.index) return;
    await this.queue.run(key, () =>
      this.ctx.lock.shared(async () => {
        const index = this.index;
        if (!index || this.committing.has(key)) return;
        const entry = index.get(key);
        if (entry && entry.stem !== stem) return; // a stale file under another stem: not the record
        // Our own commits (and touches that change nothing) end here with one lstat.
        if (entry && (ext === null || ext === entry.ext)) {
          const stats = await fsp.lstat(childPath(this.ctx.dir(), dataFileOf(entry))).catch(() => null);
          const unchanged = stats?.isFile() && stats.ino === entry.ino && stats.size === entry.size;
          // A file rewritten in place (Crawlee does) keeps its inode: its time tells.
          if (unchanged && stats!.mtimeMs <= entry.modifiedAt.getTime()) return;
        }
        const found = await probeRecord(this.ctx.dir(), key, stem, [ext, entry?.ext ?? null]);
        if (!found) {
          if (entry && index.delete(key)) this.fold?.remove(key);
          return;
        }
        const same = entry && entry.ino === found.ino && entry.size === found.size && entry.contentType === found.contentType;
        if (same && entry.modifiedAt.getTime() >= found.modifiedAt.getTime()) return;
        index.set(found);
        this.fold?.add(key, found.stem);
      }),
    );
  }

  /** Rebuilds a loaded index from the folder (changes watching could not report), under the exclusive lock. */
  async rescan(): Promise<void> {
    if (!this.index) return;
    await this.ctx.lock.exclusive(async () => {
      const old = this.index;
      if (!old) return;
      const entries = await scanStoreFolder(this.ctx.dir(), { readOnly: true });
      const index = new KeyIndex<IndexEntry>();
      let total = 0;
      for (const entry of entries) {
        const before = old.get(entry.key);
        // Keep a known ETag while the file is the same one.
        if (before && before.ino === entry.ino && before.size === entry.size) entry.etag ??= before.etag;
        index.set(entry);
        total += entry.size;
      }
      this.index = index;
      this.loading = Promise.resolve(index);
      this.fold = undefined;
      this.ctx.onLoaded(total);
    });
  }

  /** Resolves once all writes and deletes started so far are finished. */
  drain(): Promise<void> {
    return this.queue.drain();
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
        const index = await this.load();
        await fsp.rename(metaTemp, childPath(dir, sidecarFileName(index.get(key)?.stem ?? this.stemFor(index, key))));
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
        await fsp.rm(childPath(tempDir, stem + TEMP_META_SUFFIX), { force: true });
        await fsp.rm(childPath(tempDir, stem + TEMP_DATA_SUFFIX), { force: true });
      });
    } catch {
      // The store may be gone; recovery cleans the temp folder on the next open anyway.
    }
  }
}
