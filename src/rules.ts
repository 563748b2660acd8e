/**
 * The one home of the API contract's rules: record keys, store names, store references,
 * `generalAccess` values and page limits. Browser-safe and free of error types, so the client,
 * server, storage, SDK, CLI and the web page all import it and wrap the checks in their own errors.
 */

/** Record keys as the contract defines them. ASCII only, so a key never holds a path separator. */
export const RECORD_KEY_PATTERN = /^[a-zA-Z0-9!\-_.'()]{1,256}$/;

/** Store names: 1-63 letters, digits or hyphens, not starting or ending with a hyphen. */
export const STORE_NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** The largest page of keys or stores one request returns. */
export const MAX_LIST_LIMIT = 1000;

/** The largest record body a plain PUT takes, measured after decoding (9 MiB). */
export const MAX_PAYLOAD_BYTES = 9_437_184;

/** Who may read a store without its owner's token. */
export const GENERAL_ACCESS_VALUES = [
  'RESTRICTED',
  'ANYONE_WITH_ID_CAN_READ',
  'ANYONE_WITH_NAME_CAN_READ',
  'FOLLOW_USER_SETTING',
] as const;
export type GeneralAccess = (typeof GENERAL_ACCESS_VALUES)[number];

/**
 * Whether `key` is a record key that can be used through the API. `.` and `..` match the
 * contract's pattern, but every URL library resolves them as path segments, so no client can
 * address them: they are refused everywhere.
 */
export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && RECORD_KEY_PATTERN.test(key) && key !== '.' && key !== '..';
}

/** Whether `name` is a store name the API accepts for new stores and renames. */
export function isValidStoreName(name: unknown): name is string {
  return typeof name === 'string' && STORE_NAME_PATTERN.test(name);
}

export function isGeneralAccess(value: unknown): value is GeneralAccess {
  return typeof value === 'string' && (GENERAL_ACCESS_VALUES as readonly string[]).includes(value);
}

/** A store reference in a URL: a store id, `username~store-name`, or `~store-name` (the caller's own). */
export type StoreRef =
  | { kind: 'id'; id: string }
  | { kind: 'name'; username: string | undefined; name: string };

/** The longest store reference accepted (a name found on disk may be longer than an API name). */
export const MAX_STORE_REF_LENGTH = 300;

/**
 * Splits a store reference at its last `~`; `undefined` when it cannot be one (empty parts,
 * `.`, `..`, a path separator or a control character, over {@link MAX_STORE_REF_LENGTH}).
 * Names are not checked against the store-name rule: stores found on disk keep names the API
 * would refuse for a new store (Crawlee's `my_store`, `Store.v2`), and are looked up by them.
 */
export function parseStoreRef(ref: string): StoreRef | undefined {
  if (ref === '' || ref === '.' || ref === '..' || ref.length > MAX_STORE_REF_LENGTH) return undefined;
  if (/[\u0000-\u001f\u007f/\\]/.test(ref)) return undefined;
  const tilde = ref.lastIndexOf('~');
  if (tilde < 0) return { kind: 'id', id: ref };
  const name = ref.slice(tilde + 1);
  if (name === '') return undefined;
  return { kind: 'name', username: tilde === 0 ? undefined : ref.slice(0, tilde), name };
}

/**
 * The response header by which a server names the extensions of the API it supports beyond the
 * platform's (a comma-separated list). The platform sends none.
 */
export const FEATURES_HEADER = 'X-Apify-Kv-Features';
/** Feature: record PUT and DELETE honour `If-Match` / `If-None-Match` atomically, answering 412 otherwise. */
export const CONDITIONAL_WRITES_FEATURE = 'conditional-writes';
