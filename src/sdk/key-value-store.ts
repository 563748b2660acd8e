import { AsyncList } from './async-list.js';
import { autoSavedValue } from './auto-save.js';
import type { RequestSettings, StorageBackend, StoreSummary } from './backend.js';
import { decodeBody, encodeValue } from './body.js';
import { KeyValueStoreError } from './errors.js';
import * as open from './open.js';
import type { OpenKeyValueStoreOptions, StoreRef } from './open.js';
import { updateValue, type UpdateValueOptions } from './update-value.js';
import { assertKnownOptions, assertNumberOption, assertValidKey, assertValidStoreName, show } from './validation.js';

/** Options of {@link KeyValueStore.setValue}, as in Crawlee and the Apify SDK. */
export interface SetValueOptions extends RequestSettings {
  /**
   * Store the value as it is with this content type. The value must then be a string,
   * Buffer/Uint8Array or a readable stream. Without it, values are stored as JSON
   * (Buffers and streams as `application/octet-stream`).
   */
  contentType?: string;
}

const SET_VALUE_OPTIONS = ['contentType', 'timeoutSecs', 'maxRetries', 'doNotRetryTimeouts'] as const;

/** Options of {@link KeyValueStore.forEachKey} and the iterators. */
export interface IterateKeysOptions {
  /** Start after this key (keys come in UTF-8 binary order). */
  exclusiveStartKey?: string;
  /** Only keys that start with this. */
  prefix?: string;
  /**
   * Only keys of this collection of the store's schema (Crawlee's option). The API filters by it;
   * local stores have no schema, and list every key, as in Crawlee.
   */
  collection?: string;
}

/** Passed to the {@link KeyValueStore.forEachKey} callback. */
export interface KeyInfo {
  /** Size of the record's body in bytes. */
  size: number;
}

/** A record as stored: its raw bytes and content type. */
export interface KeyValueStoreRecord {
  key: string;
  value: Buffer;
  contentType: string;
}

/** Options of {@link KeyValueStore.getAutoSavedValue}. */
export interface AutoSaveOptions {
  /** How often the value is saved while the program runs. Default 60 s (or `APIFY_PERSIST_STATE_INTERVAL_MILLIS`). */
  intervalMillis?: number;
}

/** Checks `setValue`'s options and splits them into the content type and the request settings. */
function checkSetValueOptions(options: SetValueOptions | undefined): { contentType?: string; settings: RequestSettings } {
  assertKnownOptions('setValue', options, SET_VALUE_OPTIONS);
  const { contentType, timeoutSecs, maxRetries, doNotRetryTimeouts } = options ?? {};
  assertNumberOption('timeoutSecs', timeoutSecs, Number.MIN_VALUE, 24 * 3600, false);
  assertNumberOption('maxRetries', maxRetries, 0, 100, true);
  if (doNotRetryTimeouts !== undefined && typeof doNotRetryTimeouts !== 'boolean') {
    throw new KeyValueStoreError('invalid-argument', `Option "doNotRetryTimeouts" must be a boolean (got ${show(doNotRetryTimeouts)}).`);
  }
  return { contentType, settings: { timeoutSecs, maxRetries, doNotRetryTimeouts } };
}

/**
 * A key-value store, the same on local storage and on the API. Values come back as they
 * were stored: JSON parsed, text as a string, anything else as a Buffer.
 * Get one with {@link KeyValueStore.open} (or {@link openKeyValueStore}). The store is itself
 * async-iterable: `for await (const [key, value] of store)`.
 */
export class KeyValueStore implements AsyncIterable<[string, unknown]> {
  /** The store's id. */
  readonly id: string;
  /** The store's name; `null` for an unnamed store. */
  readonly name: string | null;

  /** @internal */
  constructor(
    private readonly backend: StorageBackend,
    private readonly info: StoreSummary,
  ) {
    this.id = info.id;
    this.name = info.name;
  }

  // ---- the default store and the job's input, as Crawlee's static methods ----------------

  /** Opens a store by id or name (or `{ id }` / `{ name }`); no argument opens the default store. */
  static open(ref?: StoreRef | null, options?: OpenKeyValueStoreOptions): Promise<KeyValueStore> {
    return open.openKeyValueStore(ref, options);
  }

  /** {@link KeyValueStore.getValue} on the default store. */
  static getValue<T = unknown>(key: string): Promise<T | null>;
  static getValue<T = unknown>(key: string, defaultValue: T): Promise<T>;
  static getValue<T = unknown>(key: string, defaultValue?: T): Promise<T | null> {
    return open.getValue<T>(key, defaultValue as T);
  }

  /** {@link KeyValueStore.setValue} on the default store. */
  static setValue(key: string, value: unknown, options?: SetValueOptions): Promise<void> {
    return open.setValue(key, value, options);
  }

  /** {@link KeyValueStore.recordExists} on the default store. */
  static recordExists(key: string): Promise<boolean> {
    return open.recordExists(key);
  }

  /** {@link KeyValueStore.getAutoSavedValue} on the default store. */
  static getAutoSavedValue<T extends object = Record<string, unknown>>(key: string, defaultValue?: T): Promise<T> {
    return open.getAutoSavedValue<T>(key, defaultValue);
  }

  /** The job's input; see {@link getInput}. */
  static getInput<T = unknown>(): Promise<T | null> {
    return open.getInput<T>();
  }

  // ---- records -----------------------------------------------------------------------------

  /** Which backend this store lives on: `local` (files) or `cloud` (the HTTP API). */
  get backendKind(): 'local' | 'cloud' {
    return this.backend.kind;
  }

  /**
   * The value of a record, or `defaultValue` (else `null`) when there is none.
   * JSON is parsed, text (`text/*`, XML) is a string, anything else a Buffer.
   */
  getValue<T = unknown>(key: string): Promise<T | null>;
  getValue<T = unknown>(key: string, defaultValue: T): Promise<T>;
  async getValue<T = unknown>(key: string, defaultValue?: T): Promise<T | null> {
    assertValidKey(key);
    const record = await this.backend.getRecord(this.id, key);
    if (!record) return defaultValue ?? null;
    const value = decodeBody(record.body, record.contentType, key) as T | null;
    // As in Crawlee: a stored JSON `null` gives the default too.
    return value === null && defaultValue !== undefined ? defaultValue : value;
  }

  /** A record's raw bytes and content type, or `null` when there is none. */
  async getRecord(key: string): Promise<KeyValueStoreRecord | null> {
    assertValidKey(key);
    const record = await this.backend.getRecord(this.id, key);
    return record && { key, value: record.body, contentType: record.contentType };
  }

  /**
   * Stores a value under a key; `null` deletes the record. Plain values are stored as JSON.
   * With `contentType`, the value (string, Buffer or stream) is stored as it is. `timeoutSecs`,
   * `maxRetries` and `doNotRetryTimeouts` shape the API request (locally there is none); any
   * other option is refused.
   */
  async setValue(key: string, value: unknown, options?: SetValueOptions): Promise<void> {
    assertValidKey(key);
    const { contentType, settings } = checkSetValueOptions(options);
    if (value === null) {
      await this.backend.deleteRecord(this.id, key, settings);
      return;
    }
    const encoded = encodeValue(value, contentType);
    await this.backend.putRecord(this.id, key, encoded.body, encoded.contentType, settings);
  }

  /**
   * Compare-and-set: reads the record, calls `update` with its value (`null` when there is none)
   * and stores what it returns only while the record is still the version it read (by its ETag;
   * created only while there is none), else reads again and calls `update` again, up to
   * `retries` times (default 20, with jittered waits), then fails with type `conflict`. `update`
   * returns the new value, `null` to delete the record, or `undefined` to leave it as it is.
   * Resolves with the value stored. Through the API this needs a server that honours conditional
   * writes (`apify-kv serve`); against the platform it fails with `conditional-writes-unsupported`.
   */
  async updateValue<T = unknown>(
    key: string,
    update: (current: T | null) => T | null | undefined | Promise<T | null | undefined>,
    options: UpdateValueOptions = {},
  ): Promise<T | null> {
    assertValidKey(key);
    if (typeof update !== 'function') throw new KeyValueStoreError('invalid-argument', 'updateValue needs an update function.');
    assertKnownOptions('updateValue', options, ['retries', 'contentType']);
    assertNumberOption('retries', options.retries, 0, 10_000, true);
    return updateValue(this.backend, this.id, key, update, options);
  }

  /** True when the record exists. */
  async recordExists(key: string): Promise<boolean> {
    assertValidKey(key);
    return this.backend.recordExists(this.id, key);
  }

  /**
   * An object saved under `key` on an interval, when the program ends, and on SIGINT / SIGTERM;
   * restored from the store by the next run. Calls with the same key get the same object.
   */
  getAutoSavedValue<T extends object = Record<string, unknown>>(key: string, defaultValue?: T, options: AutoSaveOptions = {}): Promise<T> {
    assertValidKey(key);
    assertKnownOptions('getAutoSavedValue', options, ['intervalMillis']);
    assertNumberOption('intervalMillis', options.intervalMillis, 10, 24 * 3600_000, true);
    return autoSavedValue(this, key, (defaultValue ?? {}) as T, options.intervalMillis);
  }

  // ---- listing -----------------------------------------------------------------------------

  /**
   * Calls `fn` for every key in order, one at a time (awaiting each call), fetching pages
   * as needed. `index` counts from 0.
   */
  async forEachKey(
    fn: (key: string, index: number, info: KeyInfo) => unknown,
    options: IterateKeysOptions = {},
  ): Promise<void> {
    let index = 0;
    for await (const item of this.keyItems(options)) {
      await fn(item.key, index++, { size: item.size });
    }
  }

  /** Every key, in order: `for await` over it, or `await` it for an array. */
  keys(options: IterateKeysOptions = {}): AsyncList<string> {
    return new AsyncList(() => this.keyStrings(options));
  }

  /** Every value, in key order (a record deleted meanwhile is skipped). */
  values<T = unknown>(options: IterateKeysOptions = {}): AsyncList<T> {
    return new AsyncList(() => this.valueItems<T>(options));
  }

  /** Every `[key, value]` pair, in key order (a record deleted meanwhile is skipped). */
  entries<T = unknown>(options: IterateKeysOptions = {}): AsyncList<[string, T]> {
    return new AsyncList(() => this.entryItems<T>(options));
  }

  [Symbol.asyncIterator](): AsyncIterator<[string, unknown]> {
    return this.entryItems({});
  }

  /**
   * A URL to read the record at, at once (a string, as in Crawlee and the Apify SDK): the API's
   * record URL in the cloud (signed when the store's info carries its signing key), locally a
   * `file:` URL of the store's folder and the key.
   */
  getPublicUrl(key: string): string {
    assertValidKey(key);
    return this.backend.publicUrl(this.info, key);
  }

  /**
   * On local storage, the `file:` URL of the record's file as it is on disk (the store's own
   * folder, a hashed name for a long key, the file's extension); `undefined` when there is no
   * such record, and in the cloud.
   */
  async getRecordFileUrl(key: string): Promise<string | undefined> {
    assertValidKey(key);
    return this.backend.recordFileUrl(this.info, key);
  }

  /** Deletes the store and all its records. */
  async drop(): Promise<void> {
    await this.backend.deleteStore(this.id);
  }

  private async *keyStrings(options: IterateKeysOptions): AsyncGenerator<string> {
    for await (const item of this.keyItems(options)) yield item.key;
  }

  private async *valueItems<T>(options: IterateKeysOptions): AsyncGenerator<T> {
    for await (const [, value] of this.entryItems<T>(options)) yield value;
  }

  private async *entryItems<T>(options: IterateKeysOptions): AsyncGenerator<[string, T]> {
    for await (const { key } of this.keyItems(options)) {
      const record = await this.backend.getRecord(this.id, key);
      if (record) yield [key, decodeBody(record.body, record.contentType, key) as T];
    }
  }

  private async *keyItems(options: IterateKeysOptions): AsyncGenerator<{ key: string; size: number }> {
    assertKnownOptions('key iteration', options, ['exclusiveStartKey', 'prefix', 'collection']);
    const { prefix, collection } = options;
    if (collection !== undefined && typeof collection !== 'string') {
      throw new KeyValueStoreError('invalid-argument', 'Option "collection" must be a string.');
    }
    if (options.exclusiveStartKey !== undefined) assertValidKey(options.exclusiveStartKey);
    if (prefix !== undefined && typeof prefix !== 'string') {
      throw new KeyValueStoreError('invalid-argument', 'Option "prefix" must be a string.');
    }
    let exclusiveStartKey = options.exclusiveStartKey;
    for (;;) {
      const page = await this.backend.listKeys(this.id, { exclusiveStartKey, prefix, collection, limit: 1000 });
      yield* page.items;
      if (page.nextExclusiveStartKey === null || page.items.length === 0) return;
      exclusiveStartKey = page.nextExclusiveStartKey;
    }
  }
}

/**
 * Finds a store by id or name, creating a named store when there is none. `{ id }` must exist;
 * `{ name }` is created when missing.
 * @internal
 */
export async function resolveStore(backend: StorageBackend, ref: StoreRef): Promise<StoreSummary> {
  if (typeof ref === 'object' && ref !== null) {
    assertKnownOptions('a store reference', ref, ['id', 'name']);
    const { id, name } = ref as { id?: unknown; name?: unknown };
    if ((id === undefined) === (name === undefined)) {
      throw new KeyValueStoreError('invalid-argument', 'A store reference object needs exactly one of "id" and "name".');
    }
    if (id !== undefined) {
      if (typeof id !== 'string' || id === '') {
        throw new KeyValueStoreError('invalid-argument', `A store id must be a non-empty string (got ${show(id)}).`);
      }
      const store = await backend.getStore(id);
      if (!store) throw new KeyValueStoreError('store-not-found', `Store with id ${JSON.stringify(id)} does not exist.`);
      return store;
    }
    if (typeof name !== 'string' || name === '') assertValidStoreName(name);
    // A store found on disk keeps its name even where the API would refuse it for a new store.
    const existing = await backend.getStore(name);
    if (existing) return existing;
    assertValidStoreName(name);
    return (await backend.getOrCreateStore(name)).store;
  }
  if (typeof ref !== 'string' || ref === '') {
    throw new KeyValueStoreError('invalid-argument', `A store name or id must be a non-empty string (got ${show(ref)}).`);
  }
  const existing = await backend.getStore(ref);
  if (existing) return existing;
  assertValidStoreName(ref);
  return (await backend.getOrCreateStore(ref)).store;
}
