/**
 * Types under apify-client v2's names, for code written against it: the results of the v2-style
 * methods (`client.keyValueStore(id)`, `client.keyValueStores()`) are typed as v2 types them.
 */
import type {
  KeysPublicUrlOptions,
  KeyValueStore,
  NodeBuffer,
  PaginatedList,
  PlatformStream,
  StoreListKeysOptions,
  StoreSetRecordOptions,
  StoreUpdate,
} from './types.js';

/** A JSON object, shaped as type-fest's (v2 types a parsed record with type-fest's `JsonValue`). */
export type JsonObject = { [Key in string]: JsonValue } & { [Key in string]?: JsonValue | undefined };
/** A JSON array, mutable or not. */
export type JsonArray = JsonValue[] | readonly JsonValue[];
/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonObject | JsonArray;

/** Options of `keyValueStore(id).getRecord`, as v2 names them. */
export interface KeyValueClientGetRecordOptions {
  /** The value as raw bytes: a Buffer in Node, an ArrayBuffer in the browser. */
  buffer?: boolean;
  /** The value as a stream, unread (a web `ReadableStream` in the browser). */
  stream?: boolean;
  /** A signature that opens the record without a token. */
  signature?: string;
}

/**
 * What `getRecord` gives for its options: a stream, bytes, or the decoded JSON value. The stream
 * is Node's `Readable` in a project with Node's types (as in v2), a web `ReadableStream` in one without.
 */
export type ReturnTypeFromOptions<Options extends KeyValueClientGetRecordOptions> = Options['stream'] extends true
  ? PlatformStream
  : Options['buffer'] extends true
    ? NodeBuffer
    : JsonValue;

/** One key of a store, as listed. */
export interface KeyValueListItem {
  key: string;
  /** Body size in bytes. */
  size: number;
  /** A link to read the record, when the server gives one. */
  recordPublicUrl: string;
}

/** A page of keys. `exclusiveStartKey` and `nextExclusiveStartKey` are null where there is none. */
export interface KeyValueClientListKeysResult {
  count: number;
  limit: number;
  exclusiveStartKey: string;
  isTruncated: boolean;
  /** `null` on the last page, whatever v2's type says. */
  nextExclusiveStartKey: string;
  items: KeyValueListItem[];
}

/** A page of stores, as `keyValueStores().list()` gives it. */
export type KeyValueStoreCollectionListResult = PaginatedList<KeyValueStore> & { unnamed: boolean };

/** Options of `keyValueStores().list()`. */
export interface KeyValueStoreCollectionClientListOptions {
  unnamed?: boolean;
  limit?: number;
  offset?: number;
  desc?: boolean;
  ownership?: 'ownedByMe' | 'sharedWithMe';
}

/** Options of `keyValueStores().getOrCreate()`. */
export interface KeyValueStoreCollectionClientGetOrCreateOptions {
  /** The store's schema, sent as the request body. */
  schema?: Record<string, unknown>;
}

/** Options of `keyValueStore(id).listKeys()`, under v2's name. */
export type KeyValueClientListKeysOptions = StoreListKeysOptions;

/** Options of `keyValueStore(id).createKeysPublicUrl()`, under v2's name. */
export type KeyValueClientCreateKeysUrlOptions = KeysPublicUrlOptions;

/** The fields `keyValueStore(id).update()` changes, under v2's name. */
export type KeyValueClientUpdateOptions = StoreUpdate;

/** Options of `keyValueStore(id).setRecord()`, under v2's name. */
export type KeyValueStoreRecordOptions = StoreSetRecordOptions;
