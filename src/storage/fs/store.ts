/**
 * One open store: its metadata (saved crash-safely, debounced for per-access changes),
 * its folder, and its records.
 */
import { StorageError } from '../errors.js';
import { writeFileAtomic } from './fs-utils.js';
import { childPath, STORE_METADATA_FILE, TEMP_DIR_NAME } from './layout.js';
import { Mutex, SharedLock } from '../locks.js';
import { serializeStoreInfo } from '../store-metadata.js';
import { StoreRecords } from './store-records.js';
import type { StoreInfo } from '../types.js';

export interface StoreOptions {
  storesDir: string;
  now: () => number;
  metadataFlushMillis: number;
}

export class Store {
  readonly lock = new SharedLock();
  readonly records: StoreRecords;
  deleted = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private dirty = false;
  private readonly saving = new Mutex();

  constructor(
    public info: StoreInfo,
    /** Folder name inside `key_value_stores` (name or id; see the layout rules). */
    public folder: string,
    private readonly options: StoreOptions,
  ) {
    this.records = new StoreRecords({
      dir: () => this.dir,
      lock: this.lock,
      assertAlive: () => this.assertAlive(),
      now: options.now,
      onLoaded: (totalBytes) => {
        if (this.info.stats.storageBytes !== totalBytes) {
          this.info.stats.storageBytes = totalBytes;
          this.scheduleSave();
        }
      },
    });
  }

  get dir(): string {
    return childPath(this.options.storesDir, this.folder);
  }

  assertAlive(): void {
    if (this.deleted) throw new StorageError('store-not-found', `Key-value store "${this.info.id}" was not found.`);
  }

  /**
   * Records an access (and a modification) in memory, where retention reads it; the file
   * gets it with the next debounced save, so reads never write the metadata themselves.
   */
  touch(modified = false): void {
    const now = new Date(this.options.now());
    this.info.accessedAt = now;
    if (modified) this.info.modifiedAt = now;
    this.scheduleSave();
  }

  scheduleSave(): void {
    this.dirty = true;
    if (this.saveTimer || this.deleted) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      // A failed background save stays dirty and is retried one interval later (or by close()).
      this.save().catch(() => this.scheduleSave());
    }, this.options.metadataFlushMillis);
    this.saveTimer.unref();
  }

  /** Writes `__metadata__.json` now (atomically). Call under no lock. */
  async save(): Promise<void> {
    this.cancelScheduledSave();
    this.dirty = false;
    await this.saving.run(() =>
      this.lock.shared(async () => {
        if (this.deleted) return;
        const dir = this.dir;
        await writeFileAtomic(childPath(dir, TEMP_DIR_NAME), childPath(dir, STORE_METADATA_FILE), serializeStoreInfo(this.info));
      }),
    );
  }

  /** Saves pending changes, if any, and waits for a save already under way. */
  async flush(): Promise<void> {
    if (this.dirty || this.saveTimer) await this.save();
    else await this.saving.run(async () => {});
  }

  cancelScheduledSave(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
  }
}
