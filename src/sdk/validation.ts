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
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return value === null ? 'null' : `(${typeof value})`;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

/** Checks a number option: absent, or a finite number in [min, max] (an integer when asked). */
export function assertNumberOption(name: string, value: unknown, min: number, max: number, integer: boolean): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new KeyValueStoreError(
      'invalid-argument',
      `Option "${name}" must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${show(value)}).`,
    );
  }
}

/** Refuses an options object with a key outside `known`, so a misspelt option is not silently ignored. */
export function assertKnownOptions(what: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new KeyValueStoreError('invalid-argument', `The options of ${what} must be an object (got ${show(options)}).`);
  }
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new KeyValueStoreError(
      'invalid-argument',
      `Unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} for ${what}; known: ${known.join(', ')}.`,
    );
  }
}
