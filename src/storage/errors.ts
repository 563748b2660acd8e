import type { StorageErrorCode } from './types.js';

/** Bad input or a missing store/record, raised by the storage engine. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A record body grew past the allowed size while it was being written. Nothing was stored. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(
    readonly limit: number,
    /** Bytes seen before the write stopped (at least `limit + 1`). */
    readonly received: number,
  ) {
    super(`The payload is too large (limit: ${limit} bytes).`);
  }
}
