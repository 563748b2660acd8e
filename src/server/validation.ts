/** Input checks done before anything reaches storage, so bad input never touches a file. */
import { isValidKey, isValidStoreName, parseStoreRef } from '../rules.js';
import { invalidInput, invalidRecordKey } from './errors.js';

/** Longer than any id, or username (100) plus `~` plus a folder name (255). */
const MAX_STORE_REF_LENGTH = 400;

/**
 * The contract's key pattern, minus `.` and `..`: those match it, but every URL library
 * normalizes them away as path segments, so no client can address them reliably.
 */
export function assertValidKey(key: string | undefined): asserts key is string {
  if (!isValidKey(key)) {
    throw invalidRecordKey(
      `Record key is not valid: it must be 1-256 characters of a-z, A-Z, 0-9 and !-_.'() (and not "." or "..").`,
    );
  }
}

export function assertValidStoreName(name: unknown): asserts name is string {
  if (!isValidStoreName(name)) {
    throw invalidInput(
      'Store name is not valid: it must be 1-63 characters of a-z, A-Z, 0-9 and "-", not starting or ending with "-".',
    );
  }
}

export function assertValidStoreRef(ref: string | undefined): asserts ref is string {
  // The shape comes from the rules module; names found on disk (`my_store`, `Store.v2`) pass too.
  if (ref === undefined || ref.length > MAX_STORE_REF_LENGTH || !parseStoreRef(ref)) {
    throw invalidInput('Key-value store ID is not valid: use the store ID or "username~store-name".');
  }
}

/** `true`/`1` and `false`/`0`/empty, as the contract's boolean query parameters. */
export function parseBoolean(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0' || v === '') return false;
  throw invalidInput(`Parameter "${name}" must be true, false, 1 or 0.`);
}

/** A non-negative integer query parameter. */
export function parseNonNegativeInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value.trim())) throw invalidInput(`Parameter "${name}" must be a non-negative integer.`);
  return Number(value.trim());
}

/** A page size: at least 1; anything above the maximum is capped, as the contract describes. */
export function parseLimit(value: string | undefined, max = 1000): number | undefined {
  const n = parseNonNegativeInt(value, 'limit');
  if (n === undefined) return undefined;
  if (n < 1) throw invalidInput(`Parameter "limit" must be an integer between 1 and ${max}.`);
  return Math.min(n, max);
}
