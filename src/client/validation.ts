/** Checks of user input, done before any request is sent. */
import { RECORD_KEY_PATTERN, STORE_NAME_PATTERN } from '../rules.js';
import { ApifyArgumentError } from './http/errors.js';

export { RECORD_KEY_PATTERN, STORE_NAME_PATTERN } from '../rules.js';

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value) : typeof value;
}

/** Returns a valid record key or throws {@link ApifyArgumentError}. */
export function checkRecordKey(key: unknown, argument = 'key'): string {
  if (typeof key !== 'string' || !RECORD_KEY_PATTERN.test(key)) {
    throw new ApifyArgumentError(
      argument,
      `${argument} ${describe(key)} is not a valid record key: use 1-256 characters of a-z, A-Z, 0-9 and !-_.'()`,
    );
  }
  // URL parsers resolve "." and ".." path segments, even percent-encoded: such a key cannot be addressed.
  if (key === '.' || key === '..') {
    throw new ApifyArgumentError(argument, `${argument} "${key}" cannot be used: a URL treats it as a relative path`);
  }
  return key;
}

/** Returns a valid store name or throws {@link ApifyArgumentError}. */
export function checkStoreName(name: unknown, argument = 'storeName'): string {
  if (typeof name !== 'string' || !STORE_NAME_PATTERN.test(name)) {
    throw new ApifyArgumentError(
      argument,
      `${argument} ${describe(name)} is not a valid store name: use 1-63 characters of a-z, A-Z, 0-9 and -, not starting or ending with -`,
    );
  }
  return name;
}

/**
 * Returns a valid store id or throws {@link ApifyArgumentError}. A store id is the store's id, or
 * `username~store-name`, or `~store-name` (a store of the token's owner).
 */
export function checkStoreId(storeId: unknown, argument = 'storeId'): string {
  if (typeof storeId !== 'string' || storeId === '' || storeId.length > 300 || /[\s/?#%\\]/.test(storeId)) {
    throw new ApifyArgumentError(argument, `${argument} ${describe(storeId)} is not a valid store id or username~store-name`);
  }
  if (storeId === '.' || storeId === '..') {
    throw new ApifyArgumentError(argument, `${argument} "${storeId}" is not a valid store id`);
  }
  const tilde = storeId.lastIndexOf('~');
  if (tilde >= 0) checkStoreName(storeId.slice(tilde + 1), argument);
  return storeId;
}

/** Returns an integer in [min, max], or undefined when not given; else throws. */
export function checkInteger(value: unknown, argument: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ApifyArgumentError(argument, `${argument} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Returns a non-negative finite number of seconds/milliseconds, or undefined; else throws. */
export function checkDuration(value: unknown, argument: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ApifyArgumentError(argument, `${argument} must be a non-negative number, got ${describe(value)}`);
  }
  return value;
}

/** Returns a string or undefined; else throws. */
export function checkOptionalString(value: unknown, argument: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ApifyArgumentError(argument, `${argument} must be a string`);
  return value;
}
