/**
 * The folder backend's store catalog: every store folder under `key_value_stores`, looked
 * up by id, by (user id, name) and by (username, name) through maps.
 *
 * The folders are the user's: a store folder is only ever created (new stores) or removed
 * (an explicit delete). Renaming a store changes its metadata, never its folder. Folders
 * other processes create or remove are picked up (`refresh`, `discover`).
 */
import type { StoreCatalog } from '../backend.js';
import { StorageError } from '../errors.js';
import { isNotFound, tempStem } from './fs-utils.js';
import { nodeFs, renameFolderIfFree, writeNewFileSynced, type FsLayer } from './fs-layer.js';
import { childPath, CREATING_PREFIX, DELETING_PREFIX, STORE_METADATA_FILE } from './layout.js';
import { Mutex } from '../locks.js';
import { cloneStoreInfo, serializeStoreInfo } from '../store-metadata.js';
import { Store, type StoreOptions } from './store.js';
import { StoreNames } from './store-names.js';
import { recoverTempFolder } from './store-folder.js';
import { forEachLimited } from './fs-utils.js';
import { carryOver, readStoreFolder } from './store-loader.js';
import type { StoreInfo } from '../types.js';

export interface FolderCatalogOptions extends StoreOptions {
  warn: (message: string) => void;
}

export class FolderCatalog implements StoreCatalog {
  private readonly byId = new Map<string, Store>();
  /** Ids stores were known by before their metadata read whole (see `learn`): they keep answering. */
  private readonly aliases = new Map<string, Store>();
  private readonly byFolder = new Map<string, Store>();
  /** Which store each name refers to. */
  private readonly names: StoreNames;
  /** Serializes changes to the set of stores (create, remove, discovery). */
  private readonly changes = new Mutex();

  /** Every file-system call of the catalog and its stores goes through this (tests swap it). */
  private readonly fs: FsLayer;

  constructor(private readonly options: FolderCatalogOptions) {
    this.fs = options.fs ?? nodeFs;
    this.names = new StoreNames((claimants, name) => {
      const folders = claimants.map((s) => JSON.stringify(s.folder)).join(' and ');
      options.warn(
        `Store folders ${folders} in ${this.storesDir} both claim the store name ${JSON.stringify(name)}; ` +
          `both are kept, and the name refers to ${JSON.stringify(claimants[0]!.folder)} (the others stay readable by id).`,
      );
    });
  }

  private get storesDir(): string {
    return this.options.storesDir;
  }

  // ---- loading ---------------------------------------------------------------------

  /** Reads every store folder, in name order (so duplicate names resolve the same way each time). */
  async load(): Promise<void> {
    const names = await this.readFolderNames();
    for (const name of names) {
      if (name.startsWith('.')) {
        // Leftovers of our own store creation or deletion cut short.
        if (!this.options.readOnly && (name.startsWith(CREATING_PREFIX) || name.startsWith(DELETING_PREFIX))) {
          await this.fs.removeTree(childPath(this.storesDir, name));
        }
        continue;
      }
      await this.loadFolder(name, true);
    }
  }

  /** Folder names under `key_value_stores`, sorted; none when it does not exist. */
  private async readFolderNames(): Promise<string[]> {
    let dirents;
    try {
      dirents = await this.fs.readdir(this.storesDir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    return dirents.filter((dirent) => dirent.isDirectory()).map((dirent) => dirent.name).sort();
  }

  /**
   * `recover`: settle crash leftovers in the store's temp folder (only when opening: a folder
   * that appears later was made by a process that is running and may be mid-write there).
   */
  private async loadFolder(folder: string, recover = false): Promise<Store | null> {
    const dir = childPath(this.storesDir, folder);
    if (recover && !this.options.readOnly) await recoverTempFolder(dir, this.fs);
    let loaded;
    try {
      loaded = await readStoreFolder(this.storesDir, folder, new Date(this.options.now()), (id) => this.resolve(id) !== undefined, this.fs);
    } catch (error) {
      if (isNotFound(error)) return null; // removed meanwhile
      throw error;
    }
    const store = new Store(loaded.info, folder, loaded.extra, this.options);
    store.provisional = loaded.metadata === 'whole' ? false : loaded.metadata;
    await store.rememberFolder();
    this.add(store);
    // Read-only, nothing is saved: the byte count is taken from the folder when a listing asks.
    if (this.options.readOnly) store.statsUnknown = loaded.needsStats;
    else {
      // Loading the index also corrects the byte count, in the background: a big store's first
      // page need not wait for every record's size. A metadata file we add gets it too.
      if (loaded.needsStats) {
        store.inBackground(store.records.ensureLoaded().then(() => (loaded.needsSave ? store.save() : undefined)));
      }
      if (loaded.needsSave) await store.save();
    }
    return store;
  }

  /** Loads the folder `folder` if it exists and is not known yet (made by another process). */
  private async discover(folder: string): Promise<void> {
    if (this.byFolder.has(folder) || folder.startsWith('.')) return;
    try {
      if (!(await this.fs.stat(childPath(this.storesDir, folder))).isDirectory()) return;
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    await this.loadFolder(folder);
  }

  /**
   * Picks up folders other processes created or removed since the last look: `names` are
   * the folder names a watch reported, or all folders when omitted.
   */
  refresh(names?: string[]): Promise<void> {
    return this.changes.run(async () => {
      const present = new Set(names === undefined ? await this.readFolderNames() : []);
      const candidates = names ?? [...present];
      for (const folder of candidates) {
        // A known folder's name may now be another folder (replaced underneath us).
        await this.byFolder.get(folder)?.checkFolder().catch(() => undefined);
        await this.discover(folder);
      }
      const gone = names === undefined
        ? [...this.byFolder.keys()].filter((folder) => !present.has(folder))
        : await this.missingFolders(names.filter((folder) => this.byFolder.has(folder)));
      // A folder removed by someone else: the store is gone, nothing of ours to remove.
      for (const folder of gone) this.forget(this.byFolder.get(folder)!);
    });
  }

  private async missingFolders(folders: string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const folder of folders) {
      try {
        await this.fs.stat(childPath(this.storesDir, folder));
      } catch (error) {
        if (isNotFound(error)) missing.push(folder);
      }
    }
    return missing;
  }

  // ---- the index of stores ------------------------------------------------------------

  private add(store: Store): void {
    this.byId.set(store.info.id, store);
    this.byFolder.set(store.folder, store);
    this.names.claim(store);
  }

  private forget(store: Store): void {
    store.deleted = true;
    void store.close();
    this.names.unclaim(store);
    this.byId.delete(store.info.id);
    for (const [alias, holder] of this.aliases) if (holder === store) this.aliases.delete(alias);
    if (this.byFolder.get(store.folder) === store) this.byFolder.delete(store.folder);
  }

  /** The store known by `id`, now or before its metadata read whole. */
  private resolve(id: string): Store | undefined {
    return this.byId.get(id) ?? this.aliases.get(id);
  }

  /**
   * A store whose metadata file did not parse when loaded (Crawlee rewrites it in place:
   * truncate, then write), or appeared after we found none, went by an id and a name taken
   * from its folder. Once the file reads whole, its id and name are the store's; the id handed
   * out before stays an alias for the life of the process, so a client holding it keeps
   * finding the store. Known ids are never given up the other way round: a file caught half
   * written later changes nothing. Returns whether the file's identity was learned now.
   */
  private async learn(store: Store): Promise<boolean> {
    if (store.provisional !== 'unreadable') return false;
    return this.changes.run(async () => {
      if (store.provisional !== 'unreadable' || store.deleted) return false;
      let loaded;
      try {
        const taken = (id: string) => {
          const holder = this.resolve(id);
          return holder !== undefined && holder !== store;
        };
        loaded = await readStoreFolder(this.storesDir, store.folder, new Date(this.options.now()), taken, this.fs);
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
      if (loaded.metadata !== 'whole' || store.deleted) return false;
      const before = store.info.id;
      this.names.unclaim(store);
      this.byId.delete(before);
      store.adopt(loaded);
      if (before !== store.info.id) this.aliases.set(before, store);
      this.aliases.delete(store.info.id);
      this.byId.set(store.info.id, store);
      this.names.claim(store);
      return true;
    });
  }

  /** Learns every provisional store's metadata that reads whole now (an unknown id or name may be in it). */
  private async learnAll(): Promise<void> {
    for (const store of [...this.byId.values()]) if (store.provisional === 'unreadable') await this.learn(store);
  }

  /** The live store (for the backend's record I/O), by its id or an alias. */
  store(id: string): Store | undefined {
    return this.resolve(id);
  }

  // ---- StoreCatalog ------------------------------------------------------------------

  async *list(): AsyncIterable<StoreInfo> {
    await this.learnAll();
    const stores = [...this.byId.values()];
    // Stores without saved stats (Crawlee's, hand-made) are sized from their folder listing.
    await forEachLimited(
      stores.filter((store) => store.statsUnknown),
      4,
      (store) => store.measure(),
    );
    for (const store of stores) yield cloneStoreInfo(store.info);
  }

  async get(id: string): Promise<StoreInfo | null> {
    const known = this.resolve(id);
    if (known) await this.learn(known);
    else await this.learnAll();
    const store = this.resolve(id);
    return store ? cloneStoreInfo(store.info) : null;
  }

  async findByName(userId: string, name: string): Promise<StoreInfo | null> {
    const claimed = this.names.ofUser(userId, name);
    if (claimed) await this.learn(claimed);
    else await this.learnAll();
    let store = this.names.ofUser(userId, name);
    if (!store) {
      // Another process may have just made it: its folder is named after it.
      await this.changes.run(() => this.discover(name).catch(() => undefined));
      store = this.names.ofUser(userId, name);
    }
    return store ? cloneStoreInfo(store.info) : null;
  }

  async findByUsername(username: string, name: string): Promise<StoreInfo | null> {
    const claimed = this.names.ofUsername(username, name);
    if (claimed) await this.learn(claimed);
    else await this.learnAll();
    let store = this.names.ofUsername(username, name);
    if (!store) {
      await this.changes.run(() => this.discover(name).catch(() => undefined));
      store = this.names.ofUsername(username, name);
    }
    return store ? cloneStoreInfo(store.info) : null;
  }

  /**
   * Creates the folder complete with its metadata under a hidden name, then renames it into
   * place, so a crash never leaves a half-made store. A named store's folder is its name; if
   * that folder exists (another user's store, or one another process just made), an unnamed
   * store's id is used instead, or `name-not-unique` is thrown when it is this user's store.
   */
  create(info: StoreInfo): Promise<void> {
    this.assertWritable();
    return this.changes.run(async () => {
      if (this.resolve(info.id)) throw new StorageError('invalid-input', `Store id ${info.id} is taken.`);
      if (info.name !== null) {
        await this.discover(info.name);
        if (this.names.ofUser(info.userId, info.name)) throw nameTaken(info.name);
      }
      await this.fs.mkdir(this.storesDir);
      const staging = childPath(this.storesDir, `${CREATING_PREFIX}${tempStem()}`);
      await this.fs.mkdirExclusive(staging);
      const extra = {};
      try {
        await writeNewFileSynced(this.fs, childPath(staging, STORE_METADATA_FILE), serializeStoreInfo(info, extra));
        await this.fs.syncDir(staging);
        let folder = info.name ?? info.id;
        if (this.byFolder.has(folder) || !(await renameFolderIfFree(this.fs, staging, childPath(this.storesDir, folder)))) {
          if (info.name !== null) {
            // Made by another process meanwhile: if it is this user's store of that name, it is the one.
            await this.discover(info.name);
            if (this.names.ofUser(info.userId, info.name)) throw nameTaken(info.name);
          }
          folder = info.id;
          if (!(await renameFolderIfFree(this.fs, staging, childPath(this.storesDir, folder)))) throw new Error(`Store folder ${folder} exists.`);
        }
        await this.fs.syncDir(this.storesDir);
        const store = new Store(cloneStoreInfo(info), folder, extra, this.options);
        await store.rememberFolder();
        this.add(store);
      } finally {
        await this.fs.removeTree(staging);
      }
    });
  }

  async save(given: StoreInfo): Promise<void> {
    this.assertWritable();
    const store = this.resolve(given.id);
    if (!store) throw new StorageError('store-not-found', `Key-value store "${given.id}" was not found.`);
    let info = given;
    if (store.provisional === 'unreadable') {
      // Built on the identity guessed from the folder: if the file's is learned now, only the
      // caller's changes carry over onto it.
      const guessed = cloneStoreInfo(store.info);
      if (await this.learn(store)) info = carryOver(given, guessed, store.info);
    }
    // The caller may hold an alias: the store keeps its id.
    info = { ...info, id: store.info.id };
    if (info.name !== store.info.name || info.userId !== store.info.userId || info.username !== store.info.username) {
      if (info.name !== null) {
        const holder = this.names.ofUser(info.userId, info.name);
        if (holder && holder !== store) throw nameTaken(info.name);
      }
      this.names.unclaim(store);
      store.info = cloneStoreInfo(info);
      this.names.claim(store);
    } else {
      store.info = cloneStoreInfo(info);
    }
    await store.save();
  }

  /** Hides the folder with one rename (the commit point), then removes it at leisure. */
  remove(id: string): Promise<boolean> {
    this.assertWritable();
    return this.changes.run(async () => {
      const store = this.resolve(id);
      if (!store) return false;
      const graveyard = childPath(this.storesDir, `${DELETING_PREFIX}${tempStem()}`);
      await store.lock.exclusive(async () => {
        await this.fs.rename(store.dir, graveyard);
        await this.fs.syncDir(this.storesDir);
        this.forget(store);
      });
      await this.fs.removeTree(graveyard);
      return true;
    });
  }

  /**
   * Waits for writes and stops watches. A byte total corrected by a scan is kept in memory
   * only: a store's metadata file is rewritten when the store changes, not because we looked.
   */
  async close(): Promise<void> {
    await this.changes.run(async () => {});
    const stores = [...this.byId.values()];
    await Promise.all(stores.map((store) => store.close()));
    this.byId.clear();
    this.aliases.clear();
    this.byFolder.clear();
    this.names.clear();
  }

  private assertWritable(): void {
    if (this.options.readOnly) throw new StorageError('read-only', 'This storage was opened read-only.');
  }
}

function nameTaken(name: string): StorageError {
  return new StorageError('name-not-unique', `A key-value store named "${name}" already exists.`);
}
