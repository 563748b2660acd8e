export * from './types.js';
export { StorageError, PayloadTooLargeError, IntegrityMismatchError } from './errors.js';
export { FileStorage } from './fs/file-storage.js';
export { LaggingStorage, type LaggingStorageOptions } from './lagging-storage.js';
export { resolveStorageDir } from './storage-dir.js';
export { isValidKey, isValidStoreName } from './validation.js';
export { StorageService, type StorageServiceOptions } from './service.js';
export type { StorageBackend, StoreCatalog, RecordStore, RecordBody } from './backend.js';
