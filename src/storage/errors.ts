import type { StorageErrorCode } from './types.js';

/**
 * Bad input, a missing store/record, or a fault of the storage itself, raised by the engine.
 * Messages never name absolute paths: they reach anonymous callers.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterSecs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSecs = options.retryAfterSecs;
  }
  /** For `storage-unavailable`: when a retry may succeed. */
  readonly retryAfterSecs: number | undefined;
}

/** A record body's MD5 is not the one its uploader gave (`RecordBody.md5`). Nothing was stored. */
export class IntegrityMismatchError extends Error {
  override readonly name = 'IntegrityMismatchError';
  constructor() {
    super('The record body does not match the MD5 it was sent with.');
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
