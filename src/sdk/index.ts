/**
 * `apify-kv-client/sdk`: an SDK-style `KeyValueStore` that works the same on local storage
 * (the file store, used in process) and on the API (the Apify platform or the local server).
 *
 * ```ts
 * import { openKeyValueStore, getInput, setValue } from 'apify-kv-client/sdk';
 * const input = await getInput();
 * const store = await openKeyValueStore('results');
 * await store.setValue('OUTPUT', { ok: true });
 * ```
 *
 * Which backend: `{ client }` uses that `ApifyClient`; `{ storageDir }` uses local files;
 * otherwise `APIFY_TOKEN` in the environment selects the API (at `APIFY_API_BASE_URL`, default
 * https://api.apify.com), and without it the local storage directory is used
 * (`APIFY_LOCAL_STORAGE_DIR`, else `CRAWLEE_STORAGE_DIR`, else `./storage`).
 * @packageDocumentation
 */
import path from 'node:path';

import { ApifyClient } from '../index.js';
import { resolveStorageDir } from '../storage/index.js';
import type { StorageBackend } from './backend.js';
import { CloudBackend } from './cloud-backend.js';
import { KeyValueStore, resolveStore, type SetValueOptions } from './key-value-store.js';
import { LocalBackend } from './local-backend.js';

export { KeyValueStore } from './key-value-store.js';
export type { IterateKeysOptions, KeyInfo, SetValueOptions } from './key-value-store.js';
export { KeyValueStoreError, isKeyValueStoreError, type KeyValueStoreErrorType } from './errors.js';
export { isValidKey, isValidStoreName } from './validation.js';

/** Name of the store opened when no name or id is given. */
export const DEFAULT_STORE_NAME = 'default';

/** Options of {@link openKeyValueStore}. */
export interface OpenKeyValueStoreOptions {
  /** Use the API through this client (the cloud backend). */
  client?: ApifyClient;
  /** Use local files in this storage directory. */
  storageDir?: string;
  /** Environment to read settings from. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

type Env = Record<string, string | undefined>;

// One backend per storage directory (the engine keeps indexes and serializes writes per
// directory, so two engines on one directory in one process would get in each other's way),
// one per client, and one per token and API URL taken from the environment.
const localBackends = new Map<string, LocalBackend>();
const clientBackends = new WeakMap<ApifyClient, CloudBackend>();
const envBackends = new Map<string, CloudBackend>();
let flushOnExit = false;

/** @internal Picks the backend for these options, as described in the module docs. */
export function backendFor(options: OpenKeyValueStoreOptions = {}): StorageBackend {
  const env: Env = options.env ?? process.env;
  if (options.client) {
    let backend = clientBackends.get(options.client);
    if (!backend) clientBackends.set(options.client, (backend = new CloudBackend(options.client, options.client.baseUrl)));
    return backend;
  }
  if (options.storageDir === undefined && env.APIFY_TOKEN) {
    const baseUrl = env.APIFY_API_BASE_URL || undefined;
    const id = `${baseUrl ?? ''}\n${env.APIFY_TOKEN}`;
    let backend = envBackends.get(id);
    if (!backend) {
      const client = new ApifyClient({ token: env.APIFY_TOKEN, baseUrl });
      envBackends.set(id, (backend = new CloudBackend(client, client.baseUrl)));
    }
    return backend;
  }
  const dir = options.storageDir !== undefined ? path.resolve(options.storageDir) : resolveStorageDir(env);
  let backend = localBackends.get(dir);
  if (!backend) {
    localBackends.set(dir, (backend = new LocalBackend(dir)));
    // Records are durable as soon as they are written; store metadata (access times, stats) is
    // saved lazily, so flush it when the program runs out of work.
    if (!flushOnExit) {
      flushOnExit = true;
      process.once('beforeExit', () => void closeKeyValueStores());
    }
  }
  return backend;
}

/**
 * Opens a store by id or name, creating a named store that does not exist yet. Without
 * `nameOrId`, opens the default store: on the API the run's default store when
 * `ACTOR_DEFAULT_KEY_VALUE_STORE_ID` is set, otherwise the store named `default`.
 */
export async function openKeyValueStore(
  nameOrId?: string | null,
  options: OpenKeyValueStoreOptions = {},
): Promise<KeyValueStore> {
  const env: Env = options.env ?? process.env;
  const backend = backendFor(options);
  let ref = nameOrId ?? undefined;
  if (ref === undefined) {
    const runStoreId = backend.kind === 'cloud' ? env.ACTOR_DEFAULT_KEY_VALUE_STORE_ID || env.APIFY_DEFAULT_KEY_VALUE_STORE_ID : undefined;
    ref = runStoreId || DEFAULT_STORE_NAME;
  }
  return new KeyValueStore(backend, await resolveStore(backend, ref));
}

/** Reads a value from the default store; see {@link KeyValueStore.getValue}. */
export async function getValue<T = unknown>(key: string, defaultValue?: T): Promise<T | null> {
  const store = await openKeyValueStore();
  return defaultValue === undefined ? store.getValue<T>(key) : store.getValue<T>(key, defaultValue);
}

/** Stores a value in the default store; see {@link KeyValueStore.setValue}. */
export async function setValue(key: string, value: unknown, options?: SetValueOptions): Promise<void> {
  const store = await openKeyValueStore();
  await store.setValue(key, value, options);
}

/**
 * The input of the job: the record `INPUT` of the default store, or the record named by
 * `ACTOR_INPUT_KEY` (e.g. `INPUT-METAMORPH-1`). `null` when there is none.
 */
export async function getInput<T = unknown>(options: OpenKeyValueStoreOptions = {}): Promise<T | null> {
  const env: Env = options.env ?? process.env;
  const key = env.ACTOR_INPUT_KEY || env.APIFY_INPUT_KEY || 'INPUT';
  const store = await openKeyValueStore(undefined, options);
  return store.getValue<T>(key);
}

/**
 * Closes the local storage engines this module opened (they otherwise stay open for the
 * life of the process). Stores opened before must not be used afterwards.
 */
export async function closeKeyValueStores(): Promise<void> {
  flushOnExit = false;
  const backends = [...localBackends.values()];
  localBackends.clear();
  await Promise.all(backends.map((backend) => backend.close()));
}
