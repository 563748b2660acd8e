import { isValidKey, isValidStoreName, MAX_LIST_LIMIT } from '../rules.js';
import { StorageError } from './errors.js';

export { isValidKey, isValidStoreName, MAX_LIST_LIMIT };

export function assertValidKey(key: unknown): asserts key is string {
  if (!isValidKey(key)) {
    throw new StorageError(
      'invalid-record-key',
      `The record key is not valid: it must be 1-256 characters of a-z, A-Z, 0-9 and !-_.'() (got ${describe(key)}).`,
    );
  }
}

export function assertValidStoreName(name: unknown): asserts name is string {
  if (!isValidStoreName(name)) {
    throw new StorageError(
      'invalid-store-name',
      `The store name is not valid: it must be 1-63 characters of a-z, A-Z, 0-9 and "-", not starting or ending with "-" (got ${describe(name)}).`,
    );
  }
}

/** A page size 1..1000; `undefined` means the maximum. */
export function resolveLimit(limit: unknown, what = 'limit'): number {
  if (limit === undefined) return MAX_LIST_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StorageError('invalid-input', `Parameter "${what}" must be an integer between 1 and ${MAX_LIST_LIMIT}.`);
  }
  return limit;
}

export function resolveOffset(offset: unknown): number {
  if (offset === undefined) return 0;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw new StorageError('invalid-input', 'Parameter "offset" must be a non-negative integer.');
  }
  return offset;
}

export function assertOptionalString(value: unknown, what: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw new StorageError('invalid-input', `Parameter "${what}" must be a string.`);
  }
}

/** Quotes user input for an error message, shortened so a huge key does not flood logs. */
function describe(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return JSON.stringify(shown);
}
