/**
 * `FileStorage`: the key-value-store engine over the Apify SDK / Crawlee folder layout,
 * that is the storage service (`../service.ts`) over the folder backend.
 */
import { StorageService } from '../service.js';
import type { FileStorageOptions } from '../types.js';
import { FolderBackend } from './folder-backend.js';
import { assertValidKey } from '../validation.js';

export class FileStorage extends StorageService {
  readonly storageDir: string;
  /** `{storageDir}/key_value_stores` */
  readonly storesDir: string;
  private readonly folders: FolderBackend;

  constructor(options: FileStorageOptions) {
    const backend = new FolderBackend({
      storageDir: options.storageDir,
      now: options.now,
      readOnly: options.readOnly,
      caseInsensitive: options.caseInsensitive,
      watch: options.watch,
      rescanIntervalMillis: options.rescanIntervalMillis,
      maxOpenFolders: options.maxOpenFolders,
      indexBudgetBytes: options.indexBudgetBytes,
      warn: options.warn,
    });
    super(backend, options);
    this.storageDir = backend.storageDir;
    this.storesDir = backend.storesDir;
    this.folders = backend;
  }

  /**
   * The path of a record's file as it is on disk: in the store's own folder (whatever its
   * name), under a hashed name for long keys and for keys that only differ in case from
   * another on a case-insensitive file system, with the extension the file has. `null` when
   * the store (an id) or the record does not exist. Writes nothing.
   */
  async recordFile(storeId: string, key: string): Promise<string | null> {
    await this.open();
    assertValidKey(key);
    return this.folders.recordFile(storeId, key);
  }
}

/** Re-exported so `file-storage.ts` alone gives everything needed to open a storage. */
export { resolveStorageDir } from '../storage-dir.js';
