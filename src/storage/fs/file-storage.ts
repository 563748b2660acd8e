/**
 * `FileStorage`: the key-value-store engine over the Apify SDK / Crawlee folder layout,
 * that is the storage service (`../service.ts`) over the folder backend.
 */
import { StorageService } from '../service.js';
import type { FileStorageOptions } from '../types.js';
import { FolderBackend } from './folder-backend.js';

export class FileStorage extends StorageService {
  readonly storageDir: string;
  /** `{storageDir}/key_value_stores` */
  readonly storesDir: string;

  constructor(options: FileStorageOptions) {
    const backend = new FolderBackend({
      storageDir: options.storageDir,
      now: options.now,
      readOnly: options.readOnly,
      caseInsensitive: options.caseInsensitive,
      watch: options.watch,
      rescanIntervalMillis: options.rescanIntervalMillis,
      warn: options.warn,
    });
    super(backend, options);
    this.storageDir = backend.storageDir;
    this.storesDir = backend.storesDir;
  }
}

/** Re-exported so `file-storage.ts` alone gives everything needed to open a storage. */
export { resolveStorageDir } from '../storage-dir.js';
