/**
 * The storage engine's contract: what the server and the SDK's local backend may rely on.
 * Node only. Nothing here knows about HTTP.
 */
import type { Readable } from 'node:stream';

import type { GeneralAccess } from '../rules.js';

export { GENERAL_ACCESS_VALUES, type GeneralAccess } from '../rules.js';

/** Usage counters kept per store. */
export interface StoreStats {
  readCount: number;
  writeCount: number;
  deleteCount: number;
  listCount: number;
  /** Sum of the sizes of all records, in bytes. */
  storageBytes: number;
}

/** A store's metadata as the engine keeps it. */
export interface StoreInfo {
  id: string;
  /** `null` for an unnamed store. */
  name: string | null;
  userId: string;
  username: string;
  createdAt: Date;
  modifiedAt: Date;
  accessedAt: Date;
  generalAccess: GeneralAccess;
  stats: StoreStats;
  /**
   * Made unnamed by this server through the API, so retention may remove it once unused.
   * Stores found on disk (Crawlee's, the Apify SDK's, hand-made) never have it.
   */
  temporary?: boolean;
}

/** A record's metadata, without its body. */
export interface RecordInfo {
  key: string;
  /** The exact content type it was stored with. */
  contentType: string;
  /** Body size in bytes. */
  size: number;
  /** Strong ETag of the body (quoted, as sent in the `ETag` header). */
  etag: string;
  modifiedAt: Date;
}

/** A record ready to be read: its metadata and a way to open its body. */
export interface StoredRecord extends RecordInfo {
  /** The whole body, when the engine read it with the metadata (small records); else read it with `openStream`. */
  body?: Buffer;
  /** Opens the body as a stream. Optionally a byte range (inclusive `end`). */
  openStream(range?: { start: number; end: number }): Readable;
}

export interface ListKeysOptions {
  /** Skip every key up to and including this one (UTF-8 binary order). */
  exclusiveStartKey?: string;
  /** 1..1000, default 1000. */
  limit?: number;
  /** Only keys that start with this prefix. */
  prefix?: string;
}

export interface ListKeysResult {
  items: Array<{ key: string; size: number }>;
  count: number;
  limit: number;
  exclusiveStartKey: string | null;
  isTruncated: boolean;
  /** `null` on the last page. */
  nextExclusiveStartKey: string | null;
}

export interface ListStoresOptions {
  /** Only stores of this user (omit for all users). */
  userId?: string;
  offset?: number;
  /** 1..1000, default 1000. */
  limit?: number;
  /** Newest first. */
  desc?: boolean;
  /** Include unnamed stores (by default only named ones are listed). */
  unnamed?: boolean;
}

export interface ListStoresResult {
  total: number;
  offset: number;
  limit: number;
  desc: boolean;
  count: number;
  items: StoreInfo[];
}

/**
 * One HTTP precondition (RFC 9110 `If-Match` / `If-None-Match`): `*` (any current record) or a
 * list of entity tags as the client sent them (`"etag"` or weak `W/"etag"`).
 */
export type EtagCondition = '*' | string[];

/**
 * Conditions on a write or delete, checked atomically with it (the key's turn on a folder, a
 * conditional PUT on S3). `ifMatch`: the record exists and its ETag is listed (strong
 * comparison: a weak tag never matches). `ifNoneMatch`: the record is missing (`*`) or its ETag is
 * not listed (weak comparison). Failing throws `StorageError('precondition-failed')`.
 */
export interface WriteConditions {
  ifMatch?: EtagCondition;
  ifNoneMatch?: EtagCondition;
}

/** The owner of a store. The single-user local mode uses {@link LOCAL_USER}. */
export interface StorageUser {
  id: string;
  username: string;
}

export const LOCAL_USER: StorageUser = { id: 'local-user', username: 'local' };

export interface FileStorageOptions {
  /** Root directory; see `resolveStorageDir()` for the default. */
  storageDir: string;
  /** Unnamed stores expire this long after their last access. Default 7 days. */
  unnamedRetentionMillis?: number;
  /** Injected clock for tests (epoch millis). Default `Date.now`. */
  now?: () => number;
  /** How often the retention sweep runs in the background. Default 1 hour; 0 turns it off. */
  sweepIntervalMillis?: number;
  /**
   * Store metadata changes that happen on every access (stats, `accessedAt`) are saved at
   * most this often. Default 1000 ms. `close()` saves whatever is pending.
   */
  metadataFlushMillis?: number;
  /**
   * Open and read without writing anything: no retention sweep, no access times or stats
   * saved, no folder or metadata created, no crash recovery. Writes throw `read-only`.
   */
  readOnly?: boolean;
  /** Run the retention sweep when opening and every `sweepIntervalMillis`. Default true (never when `readOnly`). */
  sweep?: boolean;
  /**
   * Treat file names as case-insensitive (keys differing only in case get distinct files).
   * Default: detected from the folder (macOS and Windows defaults are case-insensitive).
   */
  caseInsensitive?: boolean;
  /**
   * Pick up changes other processes make in the folder (fs.watch, plus a periodic rescan
   * where watching fails). Default true.
   */
  watch?: boolean;
  /** Rescan loaded stores this often even while watching works. Default 0 (only when watching fails). */
  rescanIntervalMillis?: number;
  /** Where warnings go (two folders claiming one store name, ...). Default `console.warn`. */
  warn?: (message: string) => void;
  /**
   * Store folders kept open for fsyncs, across all stores: beyond it the least recently used
   * idle one is closed (and opened again at its next fsync). Default 64, lowered to an eighth
   * of the open-files limit (`ulimit -n`); 0 keeps none open.
   */
  maxOpenFolders?: number;
  /**
   * Bytes all stores' key indexes may hold together: beyond it, the least recently used idle
   * indexes are dropped and loaded again from their folder at their next use. Default 512 MiB
   * (a key costs its length plus ~15 bytes: ~25 million keys of 20 characters).
   */
  indexBudgetBytes?: number;
}

/** Error codes of the engine; the server maps them to API error types. */
export type StorageErrorCode =
  | 'invalid-record-key'
  | 'invalid-store-name'
  | 'invalid-input'
  | 'store-not-found'
  | 'record-not-found'
  | 'name-not-unique'
  | 'read-only'
  | 'precondition-failed' // an If-Match / If-None-Match condition did not hold: 412
  // Faults of the storage itself (see server/errors.ts for their answers):
  | 'insufficient-storage' // disk or quota full: 507
  | 'storage-unavailable' // descriptors exhausted, S3 failing or timing out: 503 + Retry-After
  | 'storage-read-only' // the folder or bucket refuses writes: 503
  | 'storage-io-error'; // the device failed a read or write: 500 with its own type

/** How `putRecord` stores a body. */
export interface PutRecordOptions {
  contentType: string;
  maxBytes?: number;
  conditions?: WriteConditions;
  /** The body's MD5 as its uploader gave it (`Content-MD5`), checked when the storage `checksMd5`. */
  md5?: Buffer;
}

/**
 * The engine. `FileStorage` (in `file-storage.ts`) implements it over the Apify SDK /
 * Crawlee folder layout. Store references (`storeRef`) are an id, a name of the given
 * user's store, or `username~name`. All methods throw `StorageError` on bad input.
 */
export interface KeyValueStorage {
  /** Loads metadata and indexes, runs the retention sweep once. Idempotent. */
  open(): Promise<void>;
  /** Waits for writes in flight, stops timers. */
  close(): Promise<void>;

  listStores(options?: ListStoresOptions): Promise<ListStoresResult>;
  /** Get-or-create by name; no name creates a new unnamed store. */
  getOrCreateStore(args: { name?: string; user: StorageUser }): Promise<{ store: StoreInfo; created: boolean }>;
  /** `null` when there is no such store. `user` resolves bare names and `~name`. */
  getStore(storeRef: string, user?: StorageUser): Promise<StoreInfo | null>;
  /** Rename (name `null` makes it unnamed) and/or change access. Throws `name-not-unique`. */
  updateStore(storeId: string, changes: { name?: string | null; generalAccess?: GeneralAccess }): Promise<StoreInfo>;
  /** Removes the store and all its records. Returns false when it did not exist. */
  deleteStore(storeId: string): Promise<boolean>;

  listKeys(storeId: string, options?: ListKeysOptions): Promise<ListKeysResult>;
  /** `null` when the record does not exist. Counts a read and touches `accessedAt`. */
  getRecord(storeId: string, key: string): Promise<StoredRecord | null>;
  /**
   * Stores a record atomically (temp file, fsync, rename); resolves once durable.
   * `maxBytes` makes it throw `PayloadTooLargeError`
   * as soon as the streamed body exceeds it, leaving the old record untouched. `conditions`
   * make it a conditional write (see `WriteConditions`). `md5`: see `checksMd5`.
   */
  putRecord(storeId: string, key: string, body: Readable | Uint8Array, options: PutRecordOptions): Promise<RecordInfo>;
  /**
   * True when `putRecord` checks `options.md5` (the body's MD5 as its uploader gave it) and throws
   * `IntegrityMismatchError` before anything is stored when the body's differs. Without it, the
   * option is ignored and the caller checks the body itself.
   */
  readonly checksMd5?: boolean;
  /** Returns false when the record did not exist. `conditions` as for `putRecord`. */
  deleteRecord(storeId: string, key: string, options?: { conditions?: WriteConditions }): Promise<boolean>;

  /** Deletes unnamed stores this server created that were not accessed within the retention period. Returns their ids. */
  sweepExpired(): Promise<string[]>;

  /**
   * The server's signing secret kept in this storage (made on first use, shared by every server
   * over it), or `null` when the storage keeps none. Only a server asks for it.
   */
  loadOrCreateSigningSecret?(): Promise<Buffer | null>;

  /** Throws unless the storage can serve now (folder writable, bucket answering). Health probes call it. */
  checkReady?(): Promise<void>;
}
