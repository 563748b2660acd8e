/**
 * `FileStorage`: the key-value-store engine over the Apify SDK / Crawlee folder layout
 * (see `layout.ts`). Stores are loaded when the storage opens; each store's record index
 * is loaded on first use.
 */
import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';

import { StorageError } from '../errors.js';
import { fsyncDir, isNotFound, tempStem, writeNewFileDurably } from './fs-utils.js';
import { randomId } from '../ids.js';
import { childPath, CREATING_PREFIX, DELETING_PREFIX, STORE_METADATA_FILE, STORES_DIR_NAME } from './layout.js';
import { Mutex } from '../locks.js';
import {
  DEFAULT_SWEEP_INTERVAL_MILLIS,
  DEFAULT_UNNAMED_RETENTION_MILLIS,
  isExpired,
  startSweeper,
} from '../retention.js';
import { Store } from './store.js';
import { recoverTempFolder } from './store-folder.js';
import { readStoreFolder } from './store-loader.js';
import { cloneStoreInfo, DEFAULT_GENERAL_ACCESS, emptyStats, serializeStoreInfo } from '../store-metadata.js';
import {
  GENERAL_ACCESS_VALUES,
  LOCAL_USER,
  type FileStorageOptions,
  type GeneralAccess,
  type KeyValueStorage,
  type ListKeysOptions,
  type ListKeysResult,
  type ListStoresOptions,
  type ListStoresResult,
  type RecordInfo,
  type StorageUser,
  type StoredRecord,
  type StoreInfo,
} from '../types.js';
import {
  assertOptionalString,
  assertValidKey,
  assertValidStoreName,
  resolveLimit,
  resolveOffset,
} from '../validation.js';

export class FileStorage implements KeyValueStorage {
  readonly storageDir: string;
  /** `{storageDir}/key_value_stores` */
  readonly storesDir: string;
  private readonly now: () => number;
  private readonly retentionMillis: number;
  private readonly sweepIntervalMillis: number;
  private readonly metadataFlushMillis: number;

  private readonly stores = new Map<string, Store>();
  /** Serializes creating, renaming and deleting stores, so names stay unique. */
  private readonly storeChanges = new Mutex();
  private readonly inFlight = new Set<Promise<unknown>>();
  private opening: Promise<void> | undefined;
  private stopSweeper: () => void = () => {};

  constructor(options: FileStorageOptions) {
    this.storageDir = options.storageDir;
    this.storesDir = childPath(options.storageDir, STORES_DIR_NAME);
    this.now = options.now ?? Date.now;
    this.retentionMillis = options.unnamedRetentionMillis ?? DEFAULT_UNNAMED_RETENTION_MILLIS;
    this.sweepIntervalMillis = options.sweepIntervalMillis ?? DEFAULT_SWEEP_INTERVAL_MILLIS;
    this.metadataFlushMillis = options.metadataFlushMillis ?? 1000;
  }

  // ---- lifecycle -------------------------------------------------------------------

  open(): Promise<void> {
    this.opening ??= this.load().then(
      async () => {
        await this.sweep();
        this.stopSweeper = startSweeper(() => this.sweep(), this.sweepIntervalMillis);
      },
      (error) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  async close(): Promise<void> {
    this.stopSweeper();
    this.stopSweeper = () => {};
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.storeChanges.run(async () => {});
    await Promise.all([...this.stores.values()].map((store) => store.records.drain()));
    await Promise.all([...this.stores.values()].map((store) => store.flush()));
    this.opening = undefined;
    this.stores.clear();
  }

  private async load(): Promise<void> {
    await fsp.mkdir(this.storesDir, { recursive: true });
    const dirents = await fsp.readdir(this.storesDir, { withFileTypes: true });
    for (const dirent of dirents) {
      if (!dirent.isDirectory()) continue;
      if (dirent.name.startsWith('.')) {
        // Leftovers of a store creation or deletion cut short.
        if (dirent.name.startsWith(CREATING_PREFIX) || dirent.name.startsWith(DELETING_PREFIX)) {
          await fsp.rm(childPath(this.storesDir, dirent.name), { recursive: true, force: true });
        }
        continue;
      }
      await this.loadStoreFolder(dirent.name);
    }
  }

  private async loadStoreFolder(folder: string): Promise<void> {
    await recoverTempFolder(childPath(this.storesDir, folder));
    const loaded = await readStoreFolder(
      this.storesDir,
      folder,
      new Date(this.now()),
      () => this.newStoreId(),
      (id) => this.stores.has(id),
    );
    if (!loaded) return;
    const store = this.makeStore(loaded.info, folder);
    this.stores.set(store.info.id, store);
    // Loading the index also corrects the byte count, in the background: a big store's first
    // page need not wait for every record's size.
    if (loaded.needsStats) void store.records.ensureLoaded().catch(() => {});
    if (loaded.needsSave) await store.save();
    // A rename cut short (metadata saved, folder not yet moved) is finished here.
    const expected = this.preferredFolder(store.info);
    if (store.folder !== expected && !(await this.folderTaken(expected))) await this.moveFolder(store, expected);
  }

  private makeStore(info: StoreInfo, folder: string): Store {
    return new Store(info, folder, {
      storesDir: this.storesDir,
      now: this.now,
      metadataFlushMillis: this.metadataFlushMillis,
    });
  }

  // ---- stores ------------------------------------------------------------------------

  async listStores(options: ListStoresOptions = {}): Promise<ListStoresResult> {
    await this.open();
    const offset = resolveOffset(options.offset);
    const limit = resolveLimit(options.limit);
    const desc = options.desc === true;
    const matching = [...this.stores.values()]
      .map((store) => store.info)
      .filter((info) => (options.userId === undefined || info.userId === options.userId) && (options.unnamed || info.name !== null))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (desc) matching.reverse();
    const items = matching.slice(offset, offset + limit).map(cloneStoreInfo);
    return { total: matching.length, offset, limit, desc, count: items.length, items };
  }

  async getOrCreateStore(args: { name?: string; user: StorageUser }): Promise<{ store: StoreInfo; created: boolean }> {
    await this.open();
    const { name, user } = args;
    if (name !== undefined) assertValidStoreName(name);
    return this.storeChanges.run(async () => {
      if (name !== undefined) {
        const existing = this.findByName(user.id, name);
        if (existing) {
          existing.touch();
          return { store: cloneStoreInfo(existing.info), created: false };
        }
      }
      const now = new Date(this.now());
      const info: StoreInfo = {
        id: this.newStoreId(),
        name: name ?? null,
        userId: user.id,
        username: user.username,
        createdAt: now,
        modifiedAt: now,
        accessedAt: now,
        generalAccess: DEFAULT_GENERAL_ACCESS,
        stats: emptyStats(),
      };
      const store = await this.createStoreFolder(info);
      this.stores.set(info.id, store);
      return { store: cloneStoreInfo(info), created: true };
    });
  }

  async getStore(storeRef: string, user: StorageUser = LOCAL_USER): Promise<StoreInfo | null> {
    await this.open();
    const store = this.resolveRef(storeRef, user);
    if (!store) return null;
    store.touch();
    return cloneStoreInfo(store.info);
  }

  async updateStore(
    storeId: string,
    changes: { name?: string | null; generalAccess?: GeneralAccess },
  ): Promise<StoreInfo> {
    await this.open();
    if (changes.name !== undefined && changes.name !== null) assertValidStoreName(changes.name);
    if (changes.generalAccess !== undefined && !GENERAL_ACCESS_VALUES.includes(changes.generalAccess)) {
      throw new StorageError('invalid-input', `generalAccess must be one of ${GENERAL_ACCESS_VALUES.join(', ')}.`);
    }
    return this.storeChanges.run(async () => {
      const store = this.requireStore(storeId);
      if (changes.name !== undefined && changes.name !== store.info.name) {
        const newName = changes.name;
        if (newName !== null && this.findByName(store.info.userId, newName)) {
          throw new StorageError('name-not-unique', `A key-value store named "${newName}" already exists.`);
        }
        store.info.name = newName;
      }
      if (changes.generalAccess !== undefined) store.info.generalAccess = changes.generalAccess;
      store.touch(true);
      // Metadata first, then the folder: a crash in between is finished on the next open.
      await store.save();
      const expected = this.preferredFolder(store.info);
      if (store.folder !== expected) {
        const target = (await this.folderTaken(expected)) ? store.info.id : expected;
        if (target !== store.folder) await this.moveFolder(store, target);
      }
      return cloneStoreInfo(store.info);
    });
  }

  async deleteStore(storeId: string): Promise<boolean> {
    await this.open();
    return this.storeChanges.run(async () => {
      const store = this.stores.get(storeId);
      if (!store) return false;
      await this.removeStore(store);
      return true;
    });
  }

  async sweepExpired(): Promise<string[]> {
    await this.open();
    return this.sweep();
  }

  private async sweep(): Promise<string[]> {
    const now = this.now();
    const expired = [...this.stores.values()].filter((store) => isExpired(store.info, now, this.retentionMillis));
    const removed: string[] = [];
    for (const store of expired) {
      await this.storeChanges.run(async () => {
        // Checked again: the store may have been accessed or renamed meanwhile.
        if (this.stores.get(store.info.id) !== store || !isExpired(store.info, this.now(), this.retentionMillis)) return;
        await this.removeStore(store);
        removed.push(store.info.id);
      });
    }
    return removed;
  }

  // ---- records -----------------------------------------------------------------------

  async listKeys(storeId: string, options: ListKeysOptions = {}): Promise<ListKeysResult> {
    await this.open();
    const limit = resolveLimit(options.limit);
    assertOptionalString(options.exclusiveStartKey, 'exclusiveStartKey');
    assertOptionalString(options.prefix, 'prefix');
    const store = this.requireStore(storeId);
    const page = await store.records.list({ ...options, limit });
    store.info.stats.listCount++;
    store.touch();
    const items = page.entries.map((entry) => ({ key: entry.key, size: entry.size }));
    return {
      items,
      count: items.length,
      limit,
      exclusiveStartKey: options.exclusiveStartKey ?? null,
      isTruncated: page.isTruncated,
      nextExclusiveStartKey: page.isTruncated ? items[items.length - 1]!.key : null,
    };
  }

  async getRecord(storeId: string, key: string): Promise<StoredRecord | null> {
    await this.open();
    assertValidKey(key);
    const store = this.requireStore(storeId);
    const record = await store.records.get(key);
    store.info.stats.readCount++;
    store.touch();
    return record;
  }

  async putRecord(
    storeId: string,
    key: string,
    body: Readable | Uint8Array,
    options: { contentType: string; maxBytes?: number },
  ): Promise<RecordInfo> {
    // Until the body is read, keep an early stream error (an aborted upload) from going
    // unhandled; it still fails the write, as the reader sees the stream errored.
    const ignoreEarlyError = () => {};
    if (!(body instanceof Uint8Array)) body.on('error', ignoreEarlyError);
    try {
      return await this.putRecordNow(storeId, key, body, options);
    } finally {
      if (!(body instanceof Uint8Array)) body.off('error', ignoreEarlyError);
    }
  }

  private async putRecordNow(
    storeId: string,
    key: string,
    body: Readable | Uint8Array,
    options: { contentType: string; maxBytes?: number },
  ): Promise<RecordInfo> {
    await this.open();
    assertValidKey(key);
    if (typeof options?.contentType !== 'string' || options.contentType.trim() === '') {
      throw new StorageError('invalid-input', 'A record needs a content type.');
    }
    if (options.maxBytes !== undefined && !(options.maxBytes >= 0)) {
      throw new StorageError('invalid-input', 'maxBytes must be a non-negative number.');
    }
    const store = this.requireStore(storeId);
    return this.track(async () => {
      const { sizeDelta, ...info } = await store.records.put(key, body, options.contentType, options.maxBytes);
      store.info.stats.writeCount++;
      store.info.stats.storageBytes = Math.max(0, store.info.stats.storageBytes + sizeDelta);
      store.touch(true);
      return info;
    });
  }

  async deleteRecord(storeId: string, key: string): Promise<boolean> {
    await this.open();
    assertValidKey(key);
    const store = this.requireStore(storeId);
    return this.track(async () => {
      const removedSize = await store.records.delete(key);
      store.info.stats.deleteCount++;
      if (removedSize !== null) {
        store.info.stats.storageBytes = Math.max(0, store.info.stats.storageBytes - removedSize);
      }
      store.touch(removedSize !== null);
      return removedSize !== null;
    });
  }

  // ---- helpers -----------------------------------------------------------------------

  /** Id, `username~name`, `~name` (the given user's) or a bare name of the given user. */
  private resolveRef(storeRef: string, user: StorageUser): Store | undefined {
    if (typeof storeRef !== 'string' || storeRef === '') return undefined;
    const tilde = storeRef.indexOf('~');
    if (tilde >= 0) {
      const username = storeRef.slice(0, tilde) || user.username;
      const name = storeRef.slice(tilde + 1);
      for (const store of this.stores.values()) {
        if (store.info.name === name && store.info.username === username) return store;
      }
      return undefined;
    }
    return this.stores.get(storeRef) ?? this.findByName(user.id, storeRef);
  }

  private findByName(userId: string, name: string): Store | undefined {
    for (const store of this.stores.values()) {
      if (store.info.name === name && store.info.userId === userId) return store;
    }
    return undefined;
  }

  private requireStore(storeId: unknown): Store {
    const store = typeof storeId === 'string' ? this.stores.get(storeId) : undefined;
    if (!store) throw new StorageError('store-not-found', `Key-value store "${String(storeId)}" was not found.`);
    return store;
  }

  private newStoreId(): string {
    let id: string;
    do id = randomId();
    while (this.stores.has(id));
    return id;
  }

  /** A named store's folder is its name, an unnamed one's its id. */
  private preferredFolder(info: StoreInfo): string {
    return info.name ?? info.id;
  }

  private async folderTaken(folder: string): Promise<boolean> {
    for (const store of this.stores.values()) if (store.folder === folder) return true;
    try {
      await fsp.access(childPath(this.storesDir, folder));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Creates the folder complete with its metadata under a hidden name, then renames it
   * into place, so a crash never leaves a half-made store. If the preferred folder is
   * taken (another user's store of the same name), the id is used instead.
   */
  private async createStoreFolder(info: StoreInfo): Promise<Store> {
    const staging = childPath(this.storesDir, `${CREATING_PREFIX}${tempStem()}`);
    await fsp.mkdir(staging);
    try {
      await writeNewFileDurably(childPath(staging, STORE_METADATA_FILE), serializeStoreInfo(info));
      await fsyncDir(staging);
      let folder = this.preferredFolder(info);
      if (await this.folderTaken(folder)) folder = info.id;
      await fsp.rename(staging, childPath(this.storesDir, folder));
      await fsyncDir(this.storesDir);
      return this.makeStore(info, folder);
    } catch (error) {
      await fsp.rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  private async moveFolder(store: Store, target: string): Promise<void> {
    await store.lock.exclusive(async () => {
      await fsp.rename(store.dir, childPath(this.storesDir, target));
      store.folder = target;
      await fsyncDir(this.storesDir);
    });
  }

  /** Hides the folder with one rename (the commit point), then removes it at leisure. */
  private async removeStore(store: Store): Promise<void> {
    const graveyard = childPath(this.storesDir, `${DELETING_PREFIX}${tempStem()}`);
    await store.lock.exclusive(async () => {
      await fsp.rename(store.dir, graveyard);
      await fsyncDir(this.storesDir);
      store.deleted = true;
      store.cancelScheduledSave();
      this.stores.delete(store.info.id);
    });
    await fsp.rm(graveyard, { recursive: true, force: true });
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const promise = fn();
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

/** Re-exported so `file-storage.ts` alone gives everything needed to open a storage. */
export { resolveStorageDir } from '../storage-dir.js';
