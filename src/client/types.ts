/**
 * Types of the objects the key-value-store API returns, and of the methods' options. The same
 * declarations serve Node and browser projects: they name a Node type only through the project's
 * global scope (`NodeBuffer`, `NodeReadable`), so a browser project without `@types/node`
 * compiles against them, every declaration checked.
 */
import type { CallOptions } from './http/http-client.js';
import type { ProgressOptions } from './http/progress.js';

export type { CallOptions };

/**
 * A Node `Buffer` where `@types/node` is loaded, else `Uint8Array` (a Buffer is one): read from
 * the global scope, so the browser's types need no Node declarations.
 */
export type NodeBuffer = typeof globalThis extends { Buffer: { from(data: string): infer B } } ? B : Uint8Array;

/**
 * Node's `Readable` class (the one `node:stream` exports) where `@types/node` is loaded, else
 * {@link ReadableLike}. No import of `node:stream`: a browser project has no such module, and a
 * declaration bundle cannot guard an import. It is read from the global scope instead, as the
 * type `process.stdin.map()` returns (`@types/node` 16 to 24 type it `Readable`).
 */
export type NodeReadable = typeof globalThis extends { process: { stdin: { map(...args: any[]): infer R } } } ? R : ReadableLike;

/** What `NodeReadable` stands for where Node's types are not loaded: the parts of a Node `Readable` the client's types need. */
export interface ReadableLike extends AsyncIterable<any> {
  readable: boolean;
  pipe<T>(destination: T, options?: { end?: boolean }): T;
  on(event: string, listener: (...args: any[]) => void): this;
  destroy(error?: Error): this;
}

/**
 * A record body as a stream, where the types tell the platform: Node's `Readable` in a project
 * with Node's types, a web `ReadableStream` (what the browser bundle gives) in one without.
 */
export type PlatformStream = typeof globalThis extends { process: { stdin: unknown } } ? NodeReadable : ReadableStream<Uint8Array>;

/** Who may read a store without owning it. */
export type GeneralAccess =
  | 'RESTRICTED'
  | 'ANYONE_WITH_ID_CAN_READ'
  | 'ANYONE_WITH_NAME_CAN_READ'
  | 'FOLLOW_USER_SETTING';

/** Usage counters of a store. */
export interface KeyValueStoreStats {
  readCount?: number;
  writeCount?: number;
  deleteCount?: number;
  listCount?: number;
  /** Sum of the sizes of all records, in bytes. */
  storageBytes?: number;
  /** Other counters the server may add. */
  [counter: string]: number | undefined;
}

/**
 * A key-value store. Dates are parsed into `Date` objects; every other field is the server's JSON
 * value, as apify-client v2 gives it.
 *
 * Fields are typed as apify-client 2.25 types them, so code written for v2 compiles unchanged.
 * Where v2's type has no `null` but the platform (and the local server) sends JSON `null`, the
 * value is `null` at run time, as with v2: `name` of an unnamed store, `actId` and `actRunId` of a
 * store no Actor run made. Test those with `== null` or `??`, which cover both.
 */
export interface KeyValueStore {
  id: string;
  /** The store's name; `null` at run time for an unnamed store (see above). */
  name?: string;
  title?: string;
  /** The owner; the platform and the local server always send it (apify-client v2 types it so too). */
  userId: string;
  username?: string;
  createdAt: Date;
  modifiedAt: Date;
  accessedAt: Date;
  /** The Actor that made the store; `null` at run time when none did (see above). */
  actId?: string;
  /** The Actor run that made the store; `null` at run time when none did (see above). */
  actRunId?: string;
  consoleUrl?: string;
  keysPublicUrl: string;
  recordsPublicUrl?: string;
  /** The key that signs the store's public URLs; only its owner sees it (`null` for others). */
  urlSigningSecretKey?: string | null;
  generalAccess?: GeneralAccess;
  stats?: KeyValueStoreStats;
  /** Other fields the server may add. */
  [field: string]: unknown;
}

/** A page of an offset-paginated list. */
export interface PaginatedList<T> {
  /** Number of items in all pages. */
  total: number;
  /** Items skipped at the start. */
  offset: number;
  /** Most items a page may hold. */
  limit: number;
  /** Items in this page. */
  count: number;
  /** Whether the order is newest first. */
  desc: boolean;
  items: T[];
}

/** One key of a store, as listed. */
export interface KeyValueStoreKey {
  key: string;
  /** Body size in bytes. */
  size: number;
  /** A link to read the record directly, when the server gives one. */
  recordPublicUrl?: string;
}

/** A page of keys. */
export interface KeyValueStoreKeys {
  items: KeyValueStoreKey[];
  count: number;
  limit: number;
  /** The key this page started after; `null` for the first page. */
  exclusiveStartKey: string | null;
  /** Whether more keys follow. */
  isTruncated: boolean;
  /** Pass as `exclusiveStartKey` to get the next page; `null` on the last page. */
  nextExclusiveStartKey: string | null;
}

/**
 * A record as the flat API reads it (`keyValueStores.getRecord`): its body, content type and
 * ETag. (Called `KeyValueStoreRecord` up to 0.1; that name is now apify-client v2's record.)
 */
export interface KeyValueStoreRecordWithBody<Body = unknown> {
  key: string;
  /** The value, decoded as the call asked (see {@link GetRecordOptions}). */
  body: Body;
  /** The record's content type, as stored. */
  contentType: string;
  /**
   * The server's `ETag` of this version of the record, as sent (quotes and any `W/` included);
   * undefined when it sends none. In a browser, the server's CORS answer must expose the header.
   */
  etag?: string;
}

/** What `getRecordInfo` tells about a record, without reading its body. */
export interface KeyValueStoreRecordInfo {
  key: string;
  /** The record's content type, as stored. */
  contentType: string;
  /** Body size in bytes, from `Content-Length`; undefined when the server sends none or would compress the body. */
  size?: number;
  /** The server's `ETag`, as sent; undefined when it sends none (see {@link KeyValueStoreRecordWithBody.etag}). */
  etag?: string;
}

/** Raw record bytes: a Buffer in Node, an ArrayBuffer in the browser. */
export type RecordBytes = NodeBuffer | ArrayBuffer;

/** A record body as a stream: a Node Readable in Node, a web ReadableStream in the browser. */
export type RecordStream = NodeReadable | ReadableStream<Uint8Array>;

/** A value `putRecord` accepts. */
export type RecordValue =
  | string
  | number
  | boolean
  | null
  | object
  | Uint8Array
  | ArrayBuffer
  | Blob
  | NodeReadable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>;

/** A store to act on: falls back to the client's `storeId` when left out. */
export interface StoreTarget {
  /** Store id or `username~store-name`. Default: the client's `storeId` option. */
  storeId?: string;
}

/** Options of reads that can wait for a thing written by someone else. */
export interface WaitOptions {
  /**
   * When the thing is missing, keep asking for up to this many milliseconds before answering that
   * it is missing. Use it to read what another client has just written. Default 0.
   */
  waitMillis?: number;
}

/** A page of results that is also an async iterable of every item of all pages: `for await (const item of list(...))`. */
export type PaginatedIterator<Page, Item> = Promise<Page> & AsyncIterable<Item>;

/** Options of `getOrCreateStore`. */
export interface GetOrCreateStoreOptions extends CallOptions {
  /** Name of the store. Without one a new unnamed store is created on every call. */
  storeName?: string;
  /** The store's schema, sent as the request body (as apify-client v2's `getOrCreate` sends it). */
  schema?: Record<string, unknown>;
}

/** Options of `listStores`. */
export interface ListStoresOptions extends CallOptions {
  /** Stores to skip at the start. */
  offset?: number;
  /** Most stores to return (the API caps this at 1000). */
  limit?: number;
  /** Newest first. */
  desc?: boolean;
  /** Include unnamed stores. */
  unnamed?: boolean;
  /** Only stores owned by the token's user, or only those shared with it. */
  ownership?: 'ownedByMe' | 'sharedWithMe';
}

/** Options of `getStore`. */
export interface GetStoreOptions extends CallOptions, StoreTarget, WaitOptions {}

/** Options of `updateStore`. */
export interface UpdateStoreOptions extends CallOptions, StoreTarget {
  /** The fields to change. */
  store: StoreUpdate;
}

/** Fields of a store that can be changed. */
export interface StoreUpdate {
  /** New name; `null` makes the store unnamed. */
  name?: string | null;
  /** A title for people; `null` removes it. */
  title?: string | null;
  /** Who may read the store; `null` goes back to the account's setting. */
  generalAccess?: GeneralAccess | null;
}

/** Options of `deleteStore`. */
export interface DeleteStoreOptions extends CallOptions {
  /** Store id or `username~store-name`. Required: a store is never deleted by default. */
  storeId: string;
}

/** Options of `getRecord`. */
export interface GetRecordOptions extends CallOptions, StoreTarget, WaitOptions, Pick<ProgressOptions, 'onDownloadProgress'> {
  /** Record key. */
  key: string;
  /** Return the body as a stream, unread and unbuffered. */
  stream?: boolean;
  /** Return the body as raw bytes, whatever its content type. */
  disableBodyParser?: boolean;
  /** Ask the server for `Content-Disposition: attachment` (HTML is then served unmodified). */
  attachment?: boolean;
}

/** Options of `putRecord`. */
export interface PutRecordOptions extends CallOptions, StoreTarget, Pick<ProgressOptions, 'onUploadProgress'> {
  /** Record key. */
  key: string;
  /** The value. See the README for how each kind of value is sent. */
  body: RecordValue;
  /** Content type to store; by default derived from the value. */
  contentType?: string;
  /**
   * Length in bytes of a stream body, when the caller knows it: the body is then sent as it
   * streams, without reading ahead (a body of unknown length is read ahead up to the payload limit).
   */
  contentLength?: number;
}

/** Options of `deleteRecord`. */
export interface DeleteRecordOptions extends CallOptions, StoreTarget {
  /** Record key. */
  key: string;
}

/** Options of `recordExists`. */
export interface RecordExistsOptions extends CallOptions, StoreTarget, WaitOptions {
  /** Record key. */
  key: string;
}

/** Options of `getRecordInfo`. */
export interface GetRecordInfoOptions extends CallOptions, StoreTarget, WaitOptions {
  /** Record key. */
  key: string;
}

/** Options of `listKeys`. */
export interface ListKeysOptions extends CallOptions, StoreTarget {
  /** List keys after this one. */
  exclusiveStartKey?: string;
  /** Most keys to return, 1-1000. */
  limit?: number;
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys of this collection of the store's schema. */
  collection?: string;
  /** A signature that opens the key list without a token (see `createKeysPublicUrl`). */
  signature?: string;
}

/** Options of `iterateKeys`. */
export interface IterateKeysOptions extends CallOptions, StoreTarget {
  /** Start after this key. */
  exclusiveStartKey?: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys of this collection of the store's schema. */
  collection?: string;
  /** Keys fetched per request, 1-1000. Default 1000. */
  pageSize?: number;
}

/** A record as `keyValueStore(id).getRecord` returns it: apify-client v2's `KeyValueStoreRecord`. */
export interface KeyValueStoreRecord<Value = unknown> {
  key: string;
  /** The value: parsed JSON, a string for text, bytes (or a stream) otherwise. */
  value: Value;
  /** The record's content type, as stored. */
  contentType?: string;
  /**
   * The record's ETag, as the server gave it: pass it as `ifMatch` to write over this version
   * only. Not enumerable (the record equals apify-client v2's), so a spread or JSON drops it.
   */
  etag?: string;
}

/** @deprecated Use {@link KeyValueStoreRecord}, apify-client v2's name for the same shape; kept as an alias. */
export type StoreRecord<Value = unknown> = KeyValueStoreRecord<Value>;

/** Options of `keyValueStore(id).setRecord`: the per-call options, upload progress and the conditions. */
export interface StoreSetRecordOptions extends SetRecordOptions {
  /**
   * Write only over the record with this ETag (from `getRecord`), or over any record with `*`; else
   * the server answers 412 (`ApifyApiError` of type `precondition-failed`). Only servers that
   * honour it (`apify-kv serve`) are sent it: against others the call throws
   * `conditional-writes-unsupported` before sending anything.
   */
  ifMatch?: string;
  /** `*`: create only: write only while there is no record (else 412, as `ifMatch`). */
  ifNoneMatch?: '*';
}

/** Options of `keyValueStore(id).deleteRecord`. */
export interface StoreDeleteRecordOptions extends CallOptions {
  /** Delete only the record with this ETag (or any record with `*`); a missing record is then a 412. See `StoreSetRecordOptions.ifMatch`. */
  ifMatch?: string;
}

/** Per-call options of a record write (`setRecord`, `putRecord`): upload progress. */
export interface SetRecordOptions extends CallOptions, Pick<ProgressOptions, 'onUploadProgress'> {}

/** A record to store with `keyValueStore(id).setRecord` (apify-client v2's shape). */

export interface StoreRecordInput {
  key: string;
  value: RecordValue;
  /** By default derived from the value. */
  contentType?: string;
  /** Length in bytes of a stream value, when known (see {@link PutRecordOptions.contentLength}). */
  contentLength?: number;
}

/** Options of `keyValueStore(id).getRecord` (apify-client v2's names). */
export interface StoreGetRecordOptions extends CallOptions, WaitOptions, Pick<ProgressOptions, 'onDownloadProgress'> {
  /** Accepted and ignored, as apify-client v2 (deprecated there) does. */
  disableRedirect?: boolean;
  /** The value as raw bytes, whatever its content type. */
  buffer?: boolean;
  /** The value as a stream, unread and unbuffered. */
  stream?: boolean;
  /** A signature that opens the record without a token (see `getRecordPublicUrl`). */
  signature?: string;
}

/** Options of `keyValueStore(id).listKeys`. */
export interface StoreListKeysOptions extends CallOptions {
  /** Most keys: per page, and in all when iterating. */
  limit?: number;
  exclusiveStartKey?: string;
  prefix?: string;
  collection?: string;
  /** A signature that opens the key list without a token. */
  signature?: string;
}

/** Options of `keyValueStore(id).createKeysPublicUrl`. */
export interface KeysPublicUrlOptions {
  limit?: number;
  exclusiveStartKey?: string;
  prefix?: string;
  collection?: string;
  /** The URL stops working after this many seconds; without it, it never expires. */
  expiresInSecs?: number;
}
