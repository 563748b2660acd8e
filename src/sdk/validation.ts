import { isValidKey, isValidStoreName } from '../rules.js';
import { KeyValueStoreError } from './errors.js';

export { isValidKey, isValidStoreName };

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
