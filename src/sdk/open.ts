/**
 * Opening stores: which backend (the rule in location.ts), the default store, the job's input,
 * and the default-store shortcuts.
 */
import { ApifyClient } from '../index.js';
import { saveAutoSavedValues } from './auto-save.js';
import type { StorageBackend } from './backend.js';
import { CloudBackend } from './cloud-backend.js';
import { KeyValueStoreError } from './errors.js';
import { KeyValueStore, resolveStore, type SetValueOptions } from './key-value-store.js';
import { LocalBackend } from './local-backend.js';
import { defaultStoreRef, inputKey, resolveLocation, type Env } from './location.js';

/** A store by id or name, or explicitly `{ id }` (must exist) or `{ name }` (created when missing). */
export type StoreRef = string | { id: string; name?: undefined } | { name: string; id?: undefined };

/** Options of {@link openKeyValueStore}. */
export interface OpenKeyValueStoreOptions {
  /** Use the API through this client (the cloud backend). */
  client?: ApifyClient;
  /** Use local files in this storage directory. */
  storageDir?: string;
  /** Use the API even where the environment does not say so (at `APIFY_API_BASE_URL`, default the Apify platform). */
  forceCloud?: boolean;
  /** Environment to read settings from. Default `process.env`. */
  env?: Env;
}

// One backend per storage directory (the engine keeps indexes and serializes writes per
// directory, so two engines on one directory in one process would get in each other's way),
// one per client, and one per token and API URL taken from the environment.
const localBackends = new Map<string, LocalBackend>();
const clientBackends = new WeakMap<ApifyClient, CloudBackend>();
const envBackends = new Map<string, CloudBackend>();
let flushOnExit = false;

/** @internal The one place the SDK opens storage: local storage, or the API. */
function localBackend(storageDir: string): LocalBackend {
  let backend = localBackends.get(storageDir);
  if (!backend) {
    localBackends.set(storageDir, (backend = new LocalBackend(storageDir)));
    // Records are durable as soon as they are written; store metadata (access times, stats) is
    // saved lazily, so flush it when the program runs out of work.
    if (!flushOnExit) {
      flushOnExit = true;
      process.once('beforeExit', () => void closeKeyValueStores());
    }
  }
  return backend;
}

/** @internal Picks the backend for these options, by the rule in location.ts. */
export function backendFor(options: OpenKeyValueStoreOptions = {}): StorageBackend {
  if (options.client) {
    let backend = clientBackends.get(options.client);
    if (!backend) clientBackends.set(options.client, (backend = new CloudBackend(options.client, options.client.baseUrl)));
    return backend;
  }
  const where = resolveLocation({ storageDir: options.storageDir, forceCloud: options.forceCloud }, options.env ?? process.env);
  if (where.kind === 'local') return localBackend(where.storageDir);
  const id = `${where.baseUrl}\n${where.token ?? ''}`;
  let backend = envBackends.get(id);
  if (!backend) {
    const client = new ApifyClient({ token: where.token, baseUrl: where.baseUrl });
    envBackends.set(id, (backend = new CloudBackend(client, client.baseUrl)));
  }
  return backend;
}

/**
 * Opens a store by id or name (or `{ id }` / `{ name }`), creating a named store that does not
 * exist yet. Without a reference, opens the default store: the one in
 * `ACTOR_DEFAULT_KEY_VALUE_STORE_ID` / `APIFY_DEFAULT_KEY_VALUE_STORE_ID` when set (locally too),
 * else the store named `default`.
 */
export async function openKeyValueStore(ref?: StoreRef | null, options: OpenKeyValueStoreOptions = {}): Promise<KeyValueStore> {
  const backend = backendFor(options);
  return new KeyValueStore(backend, await resolveStore(backend, ref ?? defaultStoreRef(options.env ?? process.env)));
}

/** Reads a value from the default store; see {@link KeyValueStore.getValue}. */
export async function getValue<T = unknown>(key: string): Promise<T | null>;
export async function getValue<T = unknown>(key: string, defaultValue: T): Promise<T>;
export async function getValue<T = unknown>(key: string, defaultValue?: T): Promise<T | null> {
  const store = await openKeyValueStore();
  return defaultValue === undefined ? store.getValue<T>(key) : store.getValue<T>(key, defaultValue);
}

/** Stores a value in the default store; see {@link KeyValueStore.setValue}. */
export async function setValue(key: string, value: unknown, options?: SetValueOptions): Promise<void> {
  await (await openKeyValueStore()).setValue(key, value, options);
}

/** Whether the default store has this record. */
export async function recordExists(key: string): Promise<boolean> {
  return (await openKeyValueStore()).recordExists(key);
}

/** An auto-saved object in the default store; see {@link KeyValueStore.getAutoSavedValue}. */
export async function getAutoSavedValue<T extends object = Record<string, unknown>>(key: string, defaultValue?: T): Promise<T> {
  return (await openKeyValueStore()).getAutoSavedValue<T>(key, defaultValue);
}

/**
 * The input of the job: the record `INPUT` of the default store, or the record named by
 * `ACTOR_INPUT_KEY`, `APIFY_INPUT_KEY` or `CRAWLEE_INPUT_KEY`. `null` when there is none.
 */
export async function getInput<T = unknown>(options: OpenKeyValueStoreOptions = {}): Promise<T | null> {
  const store = await openKeyValueStore(undefined, options);
  return store.getValue<T>(inputKey(options.env ?? process.env));
}

/** {@link getInput}, but a missing input is an error (`input-not-found`) instead of `null`. */
export async function getInputOrThrow<T = unknown>(options: OpenKeyValueStoreOptions = {}): Promise<T> {
  const input = await getInput<T>(options);
  if (input === null) {
    const key = inputKey(options.env ?? process.env);
    throw new KeyValueStoreError('input-not-found', `No input: the default store has no record ${JSON.stringify(key)}.`);
  }
  return input;
}

/**
 * Saves the auto-saved values, then closes the local storage engines this module opened (they
 * otherwise stay open for the life of the process). Stores opened before must not be used afterwards.
 */
export async function closeKeyValueStores(): Promise<void> {
  await saveAutoSavedValues({ forget: true });
  flushOnExit = false;
  const backends = [...localBackends.values()];
  localBackends.clear();
  await Promise.all(backends.map((backend) => backend.close()));
}
