export * from './types.js';
export { StorageError, PayloadTooLargeError } from './errors.js';
export { FileStorage } from './fs/file-storage.js';
export { LaggingStorage, type LaggingStorageOptions } from './lagging-storage.js';
export { resolveStorageDir } from './storage-dir.js';
export { isValidKey, isValidStoreName } from './validation.js';
