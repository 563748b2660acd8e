/**
 * One store of the folder backend: its metadata as found on disk (unknown fields kept), its
 * folder (never renamed: the user's), its records, and the watch that picks up other
 * processes' changes to them.
 */
import { StorageError } from '../errors.js';
import { isNotFound } from './fs-utils.js';
import { nodeFs, replaceFileSynced, type FsLayer } from './fs-layer.js';
import { childPath, STORE_METADATA_FILE, TEMP_DIR_NAME } from './layout.js';
import { Mutex, SharedLock } from '../locks.js';
import { serializeStoreInfo } from '../store-metadata.js';
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
}

export class Store {
  readonly lock = new SharedLock();
  readonly records: StoreRecords;
  deleted = false;
  /** No stats were saved and none computed yet (read-only opens only: a writer computes them at load). */
  statsUnknown = false;
  private readonly saving = new Mutex();
  private stopWatching: (() => void) | undefined;

  private background: Promise<void> = Promise.resolve();

  constructor(
    public info: StoreInfo,
    /** Folder name inside `key_value_stores`. */
    readonly folder: string,
    /** What the metadata file held: fields we do not know are written back unchanged. */
    private readonly extra: Record<string, unknown>,
    private readonly options: StoreOptions,
  ) {
    this.records = new StoreRecords({
      dir: () => this.dir,
      lock: this.lock,
      assertAlive: () => this.assertAlive(),
      now: options.now,
      readOnly: options.readOnly,
      caseInsensitive: options.caseInsensitive,
      fs: options.fs,
      onLoaded: (totalBytes) => {
        this.info.stats.storageBytes = totalBytes;
        this.watch();
      },
    });
  }

  get dir(): string {
    return childPath(this.options.storesDir, this.folder);
  }

  assertAlive(): void {
    if (this.deleted) throw new StorageError('store-not-found', `Key-value store "${this.info.id}" was not found.`);
  }

  /** Writes `__metadata__.json` now (atomically), keeping the fields we do not know. Call under no lock. */
  async save(): Promise<void> {
    await this.saving.run(() =>
      this.lock.shared(async () => {
        if (this.deleted) return;
        const dir = this.dir;
        const fs = this.options.fs ?? nodeFs;
        await replaceFileSynced(fs, childPath(dir, TEMP_DIR_NAME), childPath(dir, STORE_METADATA_FILE), serializeStoreInfo(this.info, this.extra));
      }),
    );
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
