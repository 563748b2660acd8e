/** What went wrong, as a string that survives duplicate ESM/CJS copies of this class. */
export type KeyValueStoreErrorType =
  | 'invalid-record-key'
  | 'invalid-store-name'
  | 'invalid-value'
  | 'invalid-argument'
  | 'store-not-found'
  | 'invalid-record-body'
  | 'input-not-found'
  // `updateValue` lost to other writers more times than its `retries` allow.
  | 'conflict';

/**
 * Raised by the SDK for bad input (before anything is sent or written) and for a store
 * that vanished under it. Errors from the HTTP client or the storage engine pass through as they are.
 */
export class KeyValueStoreError extends Error {
  override readonly name = 'KeyValueStoreError';
  constructor(
    readonly type: KeyValueStoreErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a {@link KeyValueStoreError}, also one from another copy of this package. */
export function isKeyValueStoreError(error: unknown): error is KeyValueStoreError {
  return error instanceof Error && error.name === 'KeyValueStoreError' && typeof (error as { type?: unknown }).type === 'string';
}
