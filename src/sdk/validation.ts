import { KeyValueStoreError } from './errors.js';

/** The API's record key rule; ASCII only, so a key is also a safe file name part. */
const KEY_PATTERN = /^[a-zA-Z0-9!\-_.'()]{1,256}$/;
/** Store names: 1-63 letters, digits or hyphens, no leading or trailing hyphen. */
const NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && KEY_PATTERN.test(key);
}

export function isValidStoreName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

export function assertValidKey(key: unknown): asserts key is string {
  if (!isValidKey(key)) {
    throw new KeyValueStoreError(
      'invalid-record-key',
      `Invalid record key ${show(key)}: a key is 1-256 characters of a-z, A-Z, 0-9 and !-_.'()`,
    );
  }
}

export function assertValidStoreName(name: unknown): asserts name is string {
  if (!isValidStoreName(name)) {
    throw new KeyValueStoreError(
      'invalid-store-name',
      `Invalid store name ${show(name)}: a name is 1-63 characters of a-z, A-Z, 0-9 and "-", not starting or ending with "-"`,
    );
  }
}

/** Quotes user input for a message, shortened so a huge value does not flood the output. */
export function show(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : `(${typeof value})`;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}
