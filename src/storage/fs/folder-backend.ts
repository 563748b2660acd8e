/**
 * The folder backend: stores as folders of the Apify SDK / Crawlee layout (see `layout.ts`),
 * behind the storage seam (`../backend.ts`). The catalog knows the folders; each store's
 * records are read and written by its `StoreRecords`.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';

import type { RecordStore, StorageBackend, StoreCatalog } from '../backend.js';
import { StorageError } from '../errors.js';
import { FolderCatalog } from './catalog.js';
import { translateFsError, withFsFaults } from './fs-faults.js';
import { isNotFound } from './fs-utils.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { childPath, STORES_DIR_NAME } from './layout.js';
import { DEFAULT_INDEX_BUDGET_BYTES, IndexBudget } from './index-budget.js';
import { defaultMaxOpenFolders, OpenFolders } from './open-folders.js';
import { loadOrCreateSecret } from './signing-secret.js';
import { watchFolder } from './watch.js';

export interface FolderBackendOptions {
  storageDir: string;
  now?: () => number;
  /** Write nothing at all (no folders, no metadata, no crash recovery). */
  readOnly?: boolean;
  /** Default: detected when opening. */
  caseInsensitive?: boolean;
  /** Follow other processes' changes. Default true. */
  watch?: boolean;
  rescanIntervalMillis?: number;
  warn?: (message: string) => void;
  /** The file system the folder is on. Default: the real one (tests run the backend over their own). */
  fs?: FsLayer;
  /** Folders kept open for fsyncs, across all stores. Default: `defaultMaxOpenFolders()`. */
  maxOpenFolders?: number;
  /** Bytes all stores' key indexes may hold together (see `IndexBudget`). Default 512 MiB. */
  indexBudgetBytes?: number;
}

export class FolderBackend implements StorageBackend {
  readonly kind = 'fs';
  // Each body is hashed for its ETag as it is written: that MD5 checks an uploader's digest too.
  readonly checksMd5 = true;
  readonly storageDir: string;
  /** `{storageDir}/key_value_stores` */
  readonly storesDir: string;
  private current: FolderCatalog | undefined;
  private faultless: StoreCatalog | undefined;
  private stopWatching: (() => void) | undefined;
  private openFolderPool: OpenFolders | undefined;
  /** The bound on all stores' index memory (known once open). */
  indexBudget: IndexBudget | undefined;
  /** Whether file names ignore case here (known once open). */
  caseInsensitive = false;

  constructor(private readonly options: FolderBackendOptions) {
    const maxOpenFolders = options.maxOpenFolders;
    if (maxOpenFolders !== undefined && (!Number.isSafeInteger(maxOpenFolders) || maxOpenFolders < 0)) {
      throw new Error(`Option maxOpenFolders must be an integer >= 0, not ${maxOpenFolders}.`);
    }
    const budget = options.indexBudgetBytes;
    if (budget !== undefined && (!Number.isSafeInteger(budget) || budget < 0)) {
      throw new Error(`Option indexBudgetBytes must be an integer >= 0, not ${budget}.`);
    }
    this.storageDir = options.storageDir;
    this.storesDir = childPath(options.storageDir, STORES_DIR_NAME);
  }

  /** The catalog as the service sees it: file-system faults come out as their storage error codes. */
  get catalog(): StoreCatalog {
    this.folders();
    return this.faultless!;
  }

  private folders(): FolderCatalog {
    if (!this.current) throw new Error('The folder backend is not open.');
    return this.current;
  }

  async checkReady(readOnly: boolean): Promise<void> {
    const stat = await fsp.stat(this.storesDir);
    if (!stat.isDirectory()) throw new Error(`${this.storesDir} is not a folder.`);
    await fsp.access(this.storesDir, readOnly ? fsConstants.R_OK : fsConstants.R_OK | fsConstants.W_OK);
  }

  open(): Promise<void> {
    return withFsFaults('write', () => this.openFolders());
  }

  private async openFolders(): Promise<void> {
    if (this.current) return;
    const readOnly = this.options.readOnly === true;
    if (!readOnly) await (this.options.fs ?? nodeFs).mkdir(this.storesDir);
    this.caseInsensitive = this.options.caseInsensitive ?? (await detectCaseInsensitive(this.storesDir));
    const watch = this.options.watch !== false;
    const openFolders = new OpenFolders(this.options.fs ?? nodeFs, this.options.maxOpenFolders ?? defaultMaxOpenFolders());
    const budget = new IndexBudget(this.options.indexBudgetBytes ?? DEFAULT_INDEX_BUDGET_BYTES);
    const catalog = new FolderCatalog({
      storesDir: this.storesDir,
      now: this.options.now ?? Date.now,
      readOnly,
      caseInsensitive: this.caseInsensitive,
      watch,
      rescanIntervalMillis: this.options.rescanIntervalMillis ?? 0,
      warn: this.options.warn ?? ((message) => console.warn(message)),
      fs: this.options.fs,
      openFolders,
      budget,
    });
    await catalog.load();
    this.openFolderPool = openFolders;
    this.indexBudget = budget;
    this.current = catalog;
    this.faultless = faultlessCatalog(catalog);
    if (watch) {
      this.stopWatching = watchFolder(
        this.storesDir,
        { onNames: (names) => catalog.refresh(names), onRescan: () => catalog.refresh() },
        this.options.rescanIntervalMillis ?? 0,
      );
    }
  }

  async close(): Promise<void> {
    this.stopWatching?.();
    this.stopWatching = undefined;
    const catalog = this.current;
    this.current = undefined;
    this.faultless = undefined;
    await withFsFaults('write', async () => catalog?.close());
    await this.openFolderPool?.close();
    this.openFolderPool = undefined;
  }

  /** The path of a record's data file, or `null` when the store or the record does not exist. */
  async recordFile(storeId: string, key: string): Promise<string | null> {
    const store = this.folders().store(storeId);
    if (!store) return null;
    try {
      return await store.records.filePath(key);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'store-not-found') return null;
      throw translateFsError(error, 'read');
    }
  }

  records(storeId: string): RecordStore {
    const store = this.folders().store(storeId);
    if (!store) throw new StorageError('store-not-found', `Key-value store "${storeId}" was not found.`);
    const records = store.records;
    return {
      // A body stream reports its faults by their codes itself (file-stream.ts).
      get: (key) => withFsFaults('read', () => records.get(key)),
      put: (key, body, contentType, conditions) =>
        withFsFaults('write', () => records.put(key, body.stream, contentType, body.maxBytes, conditions, body.md5)),
      delete: (key, conditions) => withFsFaults('write', () => records.delete(key, conditions)),
      list: ({ prefix, after, limit }) =>
        withFsFaults('read', async () => {
          const page = await records.list({ prefix, exclusiveStartKey: after, limit });
          const items = page.entries.map(({ key, size }) => ({ key, size }));
          return { items, next: page.isTruncated ? items[items.length - 1]!.key : null };
        }),
    };
  }

  /** `{storageDir}/.apify-kv/signing-secret` (see `signing-secret.ts`). */
  loadOrCreateSecret(): Promise<Buffer> {
    if (this.options.readOnly) return Promise.reject(new StorageError('read-only', 'This storage was opened read-only.'));
    return withFsFaults('write', () => loadOrCreateSecret(this.storageDir));
  }
}

/** The catalog with every file-system fault turned into its storage error code. */
function faultlessCatalog(catalog: FolderCatalog): StoreCatalog {
  return {
    list: async function* () {
      try {
        yield* catalog.list();
      } catch (error) {
        throw translateFsError(error, 'read');
      }
    },
    get: (id) => withFsFaults('read', () => catalog.get(id)),
    findByName: (userId, name) => withFsFaults('read', () => catalog.findByName(userId, name)),
    findByUsername: (username, name) => withFsFaults('read', () => catalog.findByUsername(username, name)),
    create: (info) => withFsFaults('write', () => catalog.create(info)),
    save: (info) => withFsFaults('write', () => catalog.save(info)),
    remove: (id) => withFsFaults('write', () => catalog.remove(id)),
  };
}

/**
 * Whether the file system holding `dir` ignores case: the same folder reached under its
 * name in another case. Writes nothing. A folder that does not exist yet (or whose name has
 * no letters) is judged by its parent, then by the platform's default.
 */
export async function detectCaseInsensitive(dir: string): Promise<boolean> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const base = path.basename(current);
    const swapped = swapCase(base);
    if (swapped !== base) {
      try {
        const [a, b] = await Promise.all([fsp.stat(current), fsp.stat(path.join(path.dirname(current), swapped))]);
        return a.ino === b.ino && a.dev === b.dev;
      } catch (error) {
        // The original exists and the swapped name does not: case matters here.
        if (isNotFound(error) && (await exists(current))) return false;
        if (!isNotFound(error)) throw error;
      }
    }
    if (path.dirname(current) === current) return process.platform === 'darwin' || process.platform === 'win32';
  }
}

function swapCase(name: string): string {
  return [...name].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.stat(file);
    return true;
  } catch {
    return false;
  }
}
