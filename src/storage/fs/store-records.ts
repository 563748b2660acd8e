/**
 * The records of one store: the lazily loaded key index (its load, sizing and eviction), in
 * front of the modules that do the rest.
 *
 * Reads of one key are `lookUpRecord` (record-lookup.ts).
 * Writes and deletes (crash-safe, fsync by fsync) are `RecordWrites` (record-writes.ts).
 * Changes other processes make to the folder are followed by `OtherWriters` (other-writers.ts).
 */
import type { Readable } from 'node:stream';

import { statRecordFile, type Leftover } from './describe.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { forEachLimited } from './fs-utils.js';
import type { IndexBudget } from './index-budget.js';
import { RecordIndex } from './record-index.js';
import { CaseFold } from './case-fold.js';
import { childPath, fileStemFor, hashedStemFor } from './layout.js';
import type { OpenFolders } from './open-folders.js';
import { OtherWriters } from './other-writers.js';
import { lookUpRecord, type LookupAccess } from './record-lookup.js';
import type { SharedLock } from '../locks.js';
import type { RecordEntry } from './record-entry.js';
import { RecordWrites, type RecordChange } from './record-writes.js';
import { toStoredRecord } from './stored-record.js';
import { resolveConflicts, scanRecordFiles, yieldToEventLoop } from './record-scan.js';
import type { ListKeysOptions, RecordInfo, StoredRecord, WriteConditions } from '../types.js';

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
  /** Where folders are kept open for fsyncs (shared by a storage's stores). Default: a pool of the store's own. */
  openFolders?: OpenFolders;
  /** The temp folder is missing: checks whether the store folder was replaced (see `Store`). */
  onFolderMissing?(): Promise<void>;
  /** Where the index's memory is counted (shared by a storage's stores); none: unbounded. */
  budget?: IndexBudget;
}

/** Records statted at once while sizing the index in the background. */
const SIZING_BATCH = 512;

export class StoreRecords {
  private index: RecordIndex | undefined;
  private loading: Promise<RecordIndex> | undefined;
  /** Sizes every record after loading; resolves once all are known. */
  private sizing: Promise<void> | undefined;
  /** The sizing under way, if any (an index being sized is never evicted). */
  private sizingNow = false;
  /** Every record's size was summed once (a reload after an eviction needs no second pass). */
  private sized = false;
  /** Operations running on the index now: while any is, it is never evicted. */
  private active = 0;
  private readonly fs: FsLayer;
  /** Which key holds each plain stem, case-folded (case-insensitive file systems only). */
  private fold: CaseFold | undefined;
  /** Our files the last scan found superseded, by key: removed by the next write or delete of the key. */
  private leftovers = new Map<string, Leftover[]>();

  /** Writes and deletes record files. */
  private readonly writes: RecordWrites;
  /** Follows what other processes do to the folder (watch events and rescans go there). */
  readonly otherWriters: OtherWriters;
  /** What a read of one key needs (record-lookup.ts). */
  private readonly lookups: LookupAccess;

  constructor(private readonly ctx: StoreRecordsContext) {
    this.fs = ctx.fs ?? nodeFs;
    const adopt = (index: RecordIndex, entry: RecordEntry) => {
      index.set(entry);
      this.fold?.add(entry.key, entry.stem);
    };
    this.writes = new RecordWrites({
      fs: this.fs,
      openFolders: ctx.openFolders,
      dir: ctx.dir,
      lock: ctx.lock,
      assertAlive: () => ctx.assertAlive(),
      now: () => ctx.now(),
      load: () => this.load(),
      stemFor: (index, key) => this.stemFor(index, key),
      adopt,
      forget: (index, key) => this.forget(index, key),
      sizeEntries: (index, entries) => this.sizeEntries(index, entries),
      currentEtag: async (key) => (await this.lookUp(key))?.etag ?? null,
      onFolderMissing: () => ctx.onFolderMissing?.() ?? Promise.resolve(),
      takeLeftovers: (key) => {
        const files = this.leftovers.get(key);
        this.leftovers.delete(key);
        return files ?? [];
      },
    });
    this.otherWriters = new OtherWriters({
      fs: this.fs,
      dir: ctx.dir,
      lock: ctx.lock,
      loaded: () => this.index,
      isCommitting: (key) => this.writes.isCommitting(key),
      isSettling: (key) => this.writes.isSettling(key),
      inKeyTurn: (key, fn) => this.writes.inKeyTurn(key, fn),
      adopt,
      forget: (index, key) => this.forget(index, key),
      scanReadOnly: () => this.scan(),
      sizeEntries: (index, entries) => this.sizeEntries(index, entries),
      replace: (index, totalBytes) => {
        this.index = index;
        this.loading = Promise.resolve(index);
        this.fold = undefined;
        this.ctx.onLoaded(totalBytes);
        this.account();
      },
      inUse: (fn) => this.inUse(fn),
    });
    this.lookups = {
      fs: this.fs,
      dir: ctx.dir,
      commitOf: (key) => this.writes.commitOf(key),
      isCommitting: (key) => this.writes.isCommitting(key),
      adoptFromDisk: (index, key) => this.otherWriters.adoptFromDisk(index, key),
      forget: (index, key) => this.forget(index, key),
    };
  }

  /**
   * Runs an operation that uses the index: the index is not evicted meanwhile, and its
   * memory is counted afresh after (it may have grown, or pushed others out).
   */
  private async inUse<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.account();
    }
  }

  /** Tells the budget what the index holds now (it may evict other stores' idle indexes). */
  private account(): void {
    if (this.index) this.ctx.budget?.charge(this, this.index.estimatedBytes);
  }

  /**
   * Drops the index if nothing uses it: no operation, load or sizing under way, and no
   * commit of ours half done (the index then knows better than the disk). It is loaded again
   * from the folder, the truth, at the next use. Returns whether it was dropped.
   */
  evictIfIdle(): boolean {
    if (!this.index || this.active > 0 || this.sizingNow || this.writes.isBusy()) return false;
    this.index = undefined;
    this.loading = undefined;
    this.fold = undefined;
    this.leftovers = new Map();
    this.ctx.budget?.release(this);
    return true;
  }

  get isLoaded(): boolean {
    return this.index !== undefined;
  }

  /**
   * Loads the index once (call under the shared lock); record sizes follow in the background
   * at the first load (later ones, after an eviction, take sizes as pages need them).
   */
  load(): Promise<RecordIndex> {
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= this.scan().then(
      (index) => {
        this.index = index;
        this.fold = undefined;
        if (!this.sized) {
          this.sizingNow = true;
          this.sizing = this.sizeAll(index)
            .then(() => {
              this.sized = true;
            })
            .catch(() => {
              // The store went away or its folder is unreadable: sizes stay lazy.
            })
            .finally(() => {
              this.sizingNow = false;
            });
        }
        this.account();
        return index;
      },
      (error) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /** Scans remove nothing; files of ours that lost to newer ones are noted for the write path. */
  private async scan(): Promise<RecordIndex> {
    const dir = this.ctx.dir();
    const { rows, conflicts } = await scanRecordFiles(this.fs, dir);
    const index = new RecordIndex(rows, { pinned: (key) => this.writes.isCommitting(key) || this.writes.isSettling(key) });
    const leftovers = new Map<string, Leftover[]>();
    await resolveConflicts(this.fs, dir, conflicts, (key) => index.peek(key), (entry) => index.set(entry), (file) => {
      const list = leftovers.get(file.key);
      if (list) list.push(file);
      else leftovers.set(file.key, [file]);
    });
    if (!this.ctx.readOnly) this.leftovers = leftovers;
    return index;
  }

  /** Loads the index and every record's size (reported through `onLoaded`). */
  async ensureLoaded(): Promise<void> {
    await this.inUse(() => this.ctx.lock.shared(() => this.load()));
    await this.sizing;
  }

  /** Stats records in batches, yielding between them, then reports the store's byte total. */
  private async sizeAll(index: RecordIndex): Promise<void> {
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
    this.ctx.onLoaded(index.knownBytes());
  }

  /** Stats the entries whose size is unknown; entries whose file is gone leave the index. */
  private async sizeEntries(index: RecordIndex, entries: RecordEntry[]): Promise<boolean> {
    const dir = this.ctx.dir();
    let dropped = false;
    await forEachLimited(entries.filter((entry) => entry.size === -1), 32, async (entry) => {
      const stats = await statRecordFile(this.fs, childPath(dir, entry.fileName));
      if (stats) index.applySize(entry, stats);
      else if (index.isCurrent(entry) && !this.writes.isCommitting(entry.key)) {
        index.delete(entry.key);
        dropped = true;
      }
    });
    return dropped;
  }

  async list(options: ListKeysOptions & { limit: number }) {
    return this.inUse(() => this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      const index = await this.load();
      for (;;) {
        const page = index.page(options);
        // A file found gone drops its key: page again so the page stays full.
        if (!(await this.sizeEntries(index, page.entries))) {
          return { ...page, entries: page.entries.map((entry) => ({ key: entry.key, size: Math.max(0, entry.size) })) };
        }
      }
    }));
  }

  /** Writes a record crash-safely (see record-writes.ts). */
  put(
    key: string,
    body: Readable | Uint8Array,
    contentType: string,
    maxBytes: number | undefined,
    conditions?: WriteConditions,
    md5?: Buffer,
  ): Promise<RecordInfo & RecordChange> {
    return this.inUse(() => this.writes.put(key, body, contentType, maxBytes, conditions, md5));
  }

  /** Returns the removed record's size, or `null` when there was none. */
  delete(key: string, conditions?: WriteConditions): Promise<number | null> {
    return this.inUse(() => this.writes.delete(key, conditions));
  }

  /**
   * The store folder on disk is another one now (replaced underneath us, as Crawlee's purge
   * does to `default`): everything known of the old one is dropped and the index is rebuilt
   * from the new folder at the next use. Call under the exclusive lock.
   */
  async folderReplaced(): Promise<void> {
    this.index = undefined;
    this.loading = undefined;
    this.fold = undefined;
    this.leftovers = new Map();
    this.ctx.budget?.release(this);
    await this.writes.folderReplaced();
  }

  /** Closes what the records keep open, once writes are done; the index's memory is given back. */
  async close(): Promise<void> {
    await this.drain();
    await this.writes.close();
    this.ctx.budget?.release(this);
  }

  get(key: string): Promise<StoredRecord | null> {
    return this.inUse(() => this.ctx.lock.shared(() => this.lookUp(key)));
  }

  /** The record as a read sees it now (call under the shared lock; see record-lookup.ts). */
  private async lookUp(key: string): Promise<StoredRecord | null> {
    this.ctx.assertAlive();
    const index = await this.load();
    const found = await lookUpRecord(this.lookups, index, key);
    return found && this.toStoredRecord(found.entry, found.body);
  }

  /**
   * The path of `key`'s data file as it is on disk (its stem may be hashed, its extension
   * whatever the writer chose), or `null` when there is no such record.
   */
  async filePath(key: string): Promise<string | null> {
    return this.inUse(() => this.ctx.lock.shared(async () => {
      this.ctx.assertAlive();
      const index = await this.load();
      const commit = this.writes.commitOf(key);
      if (commit) await commit;
      if (!index.has(key) && !(await this.otherWriters.adoptFromDisk(index, key))) return null;
      return childPath(this.ctx.dir(), index.peek(key)!.fileName);
    }));
  }

  private forget(index: RecordIndex, key: string): void {
    if (index.delete(key)) this.fold?.remove(key);
  }

  private toStoredRecord(entry: RecordEntry, body: Buffer | undefined): StoredRecord {
    return toStoredRecord({ fs: this.fs, lock: this.ctx.lock, dir: () => this.ctx.dir(), assertAlive: () => this.ctx.assertAlive() }, entry, body);
  }

  /**
   * The stem for a key's files: its usual one, except on a case-insensitive file system when
   * another key differing only in case already holds that name (then the hashed stem).
   */
  private stemFor(index: RecordIndex, key: string): string {
    const usual = fileStemFor(key);
    if (!this.ctx.caseInsensitive || usual !== key) return usual;
    const current = index.peek(key);
    if (current) return current.stem;
    this.fold ??= CaseFold.of(index.values());
    const holder = this.fold.holder(key);
    return holder !== undefined && holder !== key ? hashedStemFor(key) : usual;
  }

  /** Resolves once all writes and deletes started so far, and the background sizing, are finished. */
  async drain(): Promise<void> {
    await this.writes.drain();
    await this.loading?.catch(() => {});
    await this.sizing;
  }
}
