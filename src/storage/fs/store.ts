/**
 * One store of the folder backend: its metadata as found on disk (unknown fields kept), its
 * folder (never renamed: the user's), its records, and the watch that picks up other
 * processes' changes to them.
 */
import { promises as fsp } from 'node:fs';

import { StorageError } from '../errors.js';
import { isNotFound } from './fs-utils.js';
import type { FsLayer } from './fs-layer.js';
import { childPath, STORE_METADATA_FILE, TEMP_DIR_NAME } from './layout.js';
import { Mutex, SharedLock } from '../locks.js';
import type { IndexBudget } from './index-budget.js';
import type { OpenFolders } from './open-folders.js';
import { serializeStoreInfo } from '../store-metadata.js';
import type { LoadedStoreFolder } from './store-loader.js';
import { createMetadataFile, saveMetadataFile } from './store-metadata-file.js';
import { StoreRecords } from './store-records.js';
import { watchStoreFolder } from './store-watch.js';
import type { StoreInfo } from '../types.js';

export interface StoreOptions {
  storesDir: string;
  now: () => number;
  readOnly: boolean;
  caseInsensitive: boolean;
  watch: boolean;
  rescanIntervalMillis: number;
  /** The file system the store's folder is on. Default: the real one. */
  fs?: FsLayer;
  /** The storage's folders kept open for fsyncs (bounded across stores). Default: one pool per store. */
  openFolders?: OpenFolders;
  /** The bound on the storage's index memory (shared by its stores). Default: none. */
  budget?: IndexBudget;
}

export class Store {
  readonly lock = new SharedLock();
  readonly records: StoreRecords;
  deleted = false;
  /** No stats were saved and none computed yet (read-only opens only: a writer computes them at load). */
  statsUnknown = false;
  /**
   * Id and name were guessed from the folder, its metadata file being missing or not parsing
   * when loaded. `unreadable`: another program's file is there, never written over; the catalog
   * learns it once it reads whole. `missing`: ours is created by a save, only if still missing.
   */
  provisional: false | 'missing' | 'unreadable' = false;
  private readonly saving = new Mutex();
  private stopWatching: (() => void) | undefined;

  private background: Promise<void> = Promise.resolve();
  /** The folder this store is, once known. */
  private identity: { dev: number; ino: number } | undefined;
  /** The metadata fields as of our last save (or as loaded): a field still equal there we did not change. */
  private savedFields: Record<string, unknown>;

  constructor(
    public info: StoreInfo,
    /** Folder name inside `key_value_stores`. */
    readonly folder: string,
    /** What the metadata file held: fields we do not know are written back unchanged. */
    private extra: Record<string, unknown>,
    private readonly options: StoreOptions,
  ) {
    // As loaded: a field we read differently (an id, an owner we filled in) is ours to write.
    this.savedFields = { ...extra };
    this.records = new StoreRecords({
      dir: () => this.dir,
      lock: this.lock,
      assertAlive: () => this.assertAlive(),
      now: options.now,
      readOnly: options.readOnly,
      caseInsensitive: options.caseInsensitive,
      fs: options.fs,
      openFolders: options.openFolders,
      budget: options.budget,
      onFolderMissing: () => this.checkFolder(),
      onLoaded: (totalBytes) => {
        this.info.stats.storageBytes = totalBytes;
        this.watch();
      },
    });
  }

  get dir(): string {
    return childPath(this.options.storesDir, this.folder);
  }

  /**
   * Takes what the metadata file says now that it reads whole (the catalog keeps the id used
   * before as an alias). The byte count measured from the folder, if any, is kept: it is truer.
   */
  adopt(loaded: LoadedStoreFolder): void {
    const info = loaded.info;
    if (this.records.isLoaded) info.stats.storageBytes = this.info.stats.storageBytes;
    this.info = info;
    this.extra = loaded.extra;
    this.savedFields = { ...loaded.extra };
    this.provisional = false;
  }

  assertAlive(): void {
    if (this.deleted) throw new StorageError('store-not-found', `Key-value store "${this.info.id}" was not found.`);
  }

  /**
   * Saves `__metadata__.json` now, merged with what is on disk (see `store-metadata-file.ts`):
   * other writers' changes and fields we do not know are kept; a file that does not parse is
   * left alone (tried again at the next save). Call under no lock.
   */
  async save(): Promise<void> {
    await this.saving.run(() =>
      this.lock.shared(async () => {
        if (this.deleted || this.provisional === 'unreadable') return;
        const dir = this.dir;
        const ours = this.ourFields();
        const [temp, file] = [childPath(dir, TEMP_DIR_NAME), childPath(dir, STORE_METADATA_FILE)];
        if (this.provisional === 'missing') {
          // A guessed identity goes only into a file that is still missing, never over one
          // another program wrote meanwhile: that one is the store's, to be learned.
          if (await createMetadataFile(temp, file, ours, this.options.fs)) {
            this.provisional = false;
            this.savedFields = ours;
          } else {
            this.provisional = 'unreadable';
          }
          return;
        }
        if (await saveMetadataFile(temp, file, ours, this.savedFields, this.options.fs)) this.savedFields = ours;
      }),
    );
  }

  private ourFields(): Record<string, unknown> {
    return JSON.parse(serializeStoreInfo(this.info, this.extra)) as Record<string, unknown>;
  }

  /**
   * Takes the byte count from the folder: the record index is built and every file statted,
   * nothing written. A store that went away meanwhile keeps the count it had.
   */
  async measure(): Promise<void> {
    try {
      await this.records.ensureLoaded();
      this.statsUnknown = false;
    } catch (error) {
      if (!(error instanceof StorageError) && !isNotFound(error)) throw error;
    }
  }

  /** Remembers which folder the store is (device and inode), to notice it replaced later. */
  async rememberFolder(): Promise<void> {
    try {
      const stats = await fsp.stat(this.dir);
      this.identity = { dev: stats.dev, ino: stats.ino };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /**
   * Follows the folder, not the path: when the folder at the store's path is another one than
   * the store was (Crawlee's start-up purge renames `default` away and puts a new folder in
   * its place), the store's state is rebuilt from the new folder. A folder that is gone is the
   * catalog's business (the store was removed).
   */
  async checkFolder(): Promise<void> {
    let stats;
    try {
      stats = await fsp.stat(this.dir);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (this.identity && stats.dev === this.identity.dev && stats.ino === this.identity.ino) return;
    await this.lock.exclusive(async () => {
      this.identity = { dev: stats.dev, ino: stats.ino };
      this.stopWatching?.();
      this.stopWatching = undefined;
      await this.records.folderReplaced();
    });
  }

  /** Starts following changes made by other processes, once the index exists. */
  private watch(): void {
    if (this.stopWatching || !this.options.watch || this.deleted) return;
    this.stopWatching = watchStoreFolder(this.dir, this.records.otherWriters, this.options.rescanIntervalMillis);
  }

  /** Runs work started at open (sizing the index) that closing waits for; its failure is not fatal. */
  inBackground(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.background = this.background.then(() => settled);
  }

  /** Stops the watch; waits for writes, background work and saves under way. */
  async close(): Promise<void> {
    this.stopWatching?.();
    this.stopWatching = undefined;
    await this.records.close();
    await this.background;
    await this.saving.run(async () => {});
  }
}
