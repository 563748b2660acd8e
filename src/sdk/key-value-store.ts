import type { StorageBackend, StoreSummary } from './backend.js';
import { decodeBody, encodeValue } from './body.js';
import { KeyValueStoreError } from './errors.js';
import { assertValidKey, assertValidStoreName, show } from './validation.js';

/** Options of {@link KeyValueStore.setValue}. */
export interface SetValueOptions {
  /**
   * Store the value as it is with this content type. The value must then be a string,
   * Buffer/Uint8Array or a readable stream. Without it, values are stored as JSON
   * (Buffers and streams as `application/octet-stream`).
   */
  contentType?: string;
}

/** Options of {@link KeyValueStore.forEachKey} and the iterators. */
export interface IterateKeysOptions {
  /** Start after this key (keys come in UTF-8 binary order). */
  exclusiveStartKey?: string;
  /** Only keys that start with this. */
  prefix?: string;
}

/** Passed to the {@link KeyValueStore.forEachKey} callback. */
export interface KeyInfo {
  /** Size of the record's body in bytes. */
  size: number;
}

/**
 * A key-value store, the same on local storage and on the API. Values come back as they
 * were stored: JSON parsed, text as a string, anything else as a Buffer.
 * Get one with {@link openKeyValueStore}.
 */
export class KeyValueStore {
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
    return decodeBody(record.body, record.contentType, key) as T;
  }

  /**
   * Stores a value under a key; `null` deletes the record. Plain values are stored as JSON.
   * With `contentType`, the value (string, Buffer or stream) is stored as it is.
   */
  async setValue(key: string, value: unknown, options: SetValueOptions = {}): Promise<void> {
    assertValidKey(key);
    if (value === null) {
      await this.backend.deleteRecord(this.id, key);
      return;
    }
    const { body, contentType } = encodeValue(value, options.contentType);
    await this.backend.putRecord(this.id, key, body, contentType);
  }

  /** True when the record exists. */
  async recordExists(key: string): Promise<boolean> {
    assertValidKey(key);
    return this.backend.recordExists(this.id, key);
  }

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

  /** Every key, in order. */
  async *keys(options: IterateKeysOptions = {}): AsyncGenerator<string, void, undefined> {
    for await (const item of this.keyItems(options)) yield item.key;
  }

  /** Every value, in key order (a record deleted meanwhile is skipped). */
  async *values<T = unknown>(options: IterateKeysOptions = {}): AsyncGenerator<T, void, undefined> {
    for await (const [, value] of this.entries<T>(options)) yield value;
  }

  /** Every `[key, value]` pair, in key order (a record deleted meanwhile is skipped). */
  async *entries<T = unknown>(options: IterateKeysOptions = {}): AsyncGenerator<[string, T], void, undefined> {
    for await (const { key } of this.keyItems(options)) {
      const record = await this.backend.getRecord(this.id, key);
      if (record) yield [key, decodeBody(record.body, record.contentType, key) as T];
    }
  }

  /**
   * A URL to read the record at: the API's record URL in the cloud, a `file:` URL of the
   * record's file locally.
   */
  async getPublicUrl(key: string): Promise<string> {
    assertValidKey(key);
    return this.backend.publicUrl(this.info, key);
  }

  /** Deletes the store and all its records. */
  async drop(): Promise<void> {
    await this.backend.deleteStore(this.id);
  }

  private async *keyItems(options: IterateKeysOptions): AsyncGenerator<{ key: string; size: number }> {
    const { prefix } = options;
    if (options.exclusiveStartKey !== undefined) assertValidKey(options.exclusiveStartKey);
    if (prefix !== undefined && typeof prefix !== 'string') {
      throw new KeyValueStoreError('invalid-argument', 'Option "prefix" must be a string.');
    }
    let exclusiveStartKey = options.exclusiveStartKey;
    for (;;) {
      const page = await this.backend.listKeys(this.id, { exclusiveStartKey, prefix, limit: 1000 });
      yield* page.items;
      if (page.nextExclusiveStartKey === null || page.items.length === 0) return;
      exclusiveStartKey = page.nextExclusiveStartKey;
    }
  }
}

/**
 * Finds a store by id or name, creating a named store when there is none.
 * @internal
 */
export async function resolveStore(backend: StorageBackend, nameOrId: string): Promise<StoreSummary> {
  if (typeof nameOrId !== 'string' || nameOrId === '') {
    throw new KeyValueStoreError('invalid-argument', `A store name or id must be a non-empty string (got ${show(nameOrId)}).`);
  }
  const existing = await backend.getStore(nameOrId);
  if (existing) return existing;
  assertValidStoreName(nameOrId);
  return (await backend.getOrCreateStore(nameOrId)).store;
}
