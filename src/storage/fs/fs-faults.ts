/**
 * File-system faults as storage error codes: the folder backend's edge turns an errno
 * (ENOSPC, EMFILE, EROFS, EIO, ...) into a `StorageError` the server answers precisely.
 * Messages name the cause and the errno, never a path: they reach anonymous callers.
 */
import { StorageError } from '../errors.js';

/** How long a client should wait before retrying after descriptors ran out. */
export const DESCRIPTORS_RETRY_AFTER_SECS = 1;

/** What the failed operation was doing: a permission refusal means "read-only" only for writes. */
export type FsAccess = 'read' | 'write';

/**
 * The `StorageError` for a file-system fault, or `null` when `error` is not one (a missing
 * file, a `StorageError` already, a bug): those pass through unchanged.
 */
export function storageFault(error: unknown, access: FsAccess): StorageError | null {
  if (!error || typeof error !== 'object' || error instanceof StorageError) return null;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return null;
  const options = { cause: error };
  switch (code) {
    case 'ENOSPC':
      return new StorageError('insufficient-storage', 'The storage is full: no space left on the device (ENOSPC).', options);
    case 'EDQUOT':
      return new StorageError('insufficient-storage', 'The storage is full: the disk quota is exhausted (EDQUOT).', options);
    case 'EFBIG':
      return new StorageError('insufficient-storage', 'The record is larger than the storage file system allows (EFBIG).', options);
    case 'EMFILE':
    case 'ENFILE':
      return new StorageError(
        'storage-unavailable',
        `The server has too many files open (${code}); retry shortly.`,
        { ...options, retryAfterSecs: DESCRIPTORS_RETRY_AFTER_SECS },
      );
    case 'ENOMEM':
    case 'EAGAIN':
    case 'EBUSY':
    case 'ESTALE':
    case 'ENOTCONN':
    case 'ETIMEDOUT':
      return new StorageError('storage-unavailable', `The storage is temporarily unavailable (${code}); retry shortly.`, {
        ...options,
        retryAfterSecs: DESCRIPTORS_RETRY_AFTER_SECS,
      });
    case 'EROFS':
      return new StorageError('storage-read-only', 'The storage is read-only: its file system refuses writes (EROFS).', options);
    case 'EACCES':
    case 'EPERM':
      return access === 'write'
        ? new StorageError('storage-read-only', `The server may not write to the storage folder: permission denied (${code}).`, options)
        : new StorageError('storage-io-error', `The server may not read from the storage folder: permission denied (${code}).`, options);
    case 'EIO':
    case 'ENXIO':
    case 'ENODEV':
      return new StorageError('storage-io-error', `The storage device failed a read or write (${code}).`, options);
    default:
      return null;
  }
}

/** `error` as a `StorageError` when it is a file-system fault, else unchanged. */
export function translateFsError(error: unknown, access: FsAccess): unknown {
  return storageFault(error, access) ?? error;
}

/** Runs `operation`, turning a file-system fault it throws into its `StorageError`. */
export async function withFsFaults<T>(access: FsAccess, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateFsError(error, access);
  }
}
