/**
 * `apify-kv-client/sdk`: an SDK-style `KeyValueStore`, compatible with Crawlee's and the Apify
 * SDK's, that works the same on local storage (the file store, used in process) and on the API
 * (the Apify platform or the local server).
 *
 * ```ts
 * import { KeyValueStore, getInput } from 'apify-kv-client/sdk';
 * const input = await getInput();
 * const store = await KeyValueStore.open('results');
 * await store.setValue('OUTPUT', { ok: true });
 * for await (const [key, value] of store) console.log(key, value);
 * ```
 *
 * Which backend: `{ client }` uses that `ApifyClient`; `{ storageDir }` uses local files;
 * otherwise the rule in location.ts: the API when `APIFY_IS_AT_HOME`, `APIFY_API_BASE_URL` or
 * `forceCloud` says so, else the local storage directory (`APIFY_LOCAL_STORAGE_DIR`, else
 * `CRAWLEE_STORAGE_DIR`, else `./storage`).
 * @packageDocumentation
 */
export { KeyValueStore } from './key-value-store.js';
export type { AutoSaveOptions, IterateKeysOptions, KeyInfo, KeyValueStoreRecord, SetValueOptions } from './key-value-store.js';
export type { UpdateValueOptions } from './update-value.js';
export { AsyncList } from './async-list.js';
export { saveAutoSavedValues } from './auto-save.js';
export {
  closeKeyValueStores,
  getAutoSavedValue,
  getInput,
  getInputOrThrow,
  getValue,
  openKeyValueStore,
  recordExists,
  setValue,
  type OpenKeyValueStoreOptions,
  type StoreRef,
} from './open.js';
export {
  DEFAULT_API_BASE_URL,
  DEFAULT_INPUT_KEY,
  DEFAULT_STORE_NAME,
  defaultStoreRef,
  inputKey,
  resolveLocation,
  type Location,
  type LocationOptions,
} from './location.js';
export type { RequestSettings } from './backend.js';
export type { Env } from './location.js';
export { KeyValueStoreError, isKeyValueStoreError, type KeyValueStoreErrorType } from './errors.js';
export { isValidKey, isValidStoreName } from './validation.js';
