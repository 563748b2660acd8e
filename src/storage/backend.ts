/**
 * The seam a storage backend implements: a byte-and-metadata transport. A backend knows
 * where store metadata and record bytes live (a folder, an S3 bucket) and nothing of what the
 * API means: store references, validation, stats, retention, listStores paging and the lag
 * simulation live once in the service over any backend (`service.ts`).
 *
 * Errors are translated at the backend's edge into `StorageError` codes (`name-not-unique`,
 * `store-not-found`, ...) and `PayloadTooLargeError`; nothing backend-specific escapes.
 */
import type { Readable } from 'node:stream';

import type { RecordInfo, StoredRecord, StoreInfo, WriteConditions } from './types.js';

export interface StorageBackend {
  /** A short name for metrics: `fs`, `s3`. */
  readonly kind?: string;
  /**
   * True when `RecordStore.put` checks `RecordBody.md5` itself (the folder backend hashes each body
   * for its ETag anyway), so the server need not hash the body a second time.
   */
  readonly checksMd5?: boolean;
  /** Prepares the backend (loads or checks what it needs). Idempotent. */
  open(): Promise<void>;
  /** Waits for writes in flight and releases what the backend holds. */
  close(): Promise<void>;
  readonly catalog: StoreCatalog;
  /** Record I/O bound to one store. The store must exist in the catalog. */
  records(storeId: string): RecordStore;
  /**
   * The server's signing secret, kept beside the stores (never inside one) so that every
   * server over this storage, and each restart, signs alike: read, or made once when missing
   * (two servers starting at once agree on one). A damaged one is an error, never replaced.
   * Optional: a backend without it leaves servers a random secret per start.
   */
  loadOrCreateSecret?(): Promise<Buffer>;
  /**
   * Throws unless the storage can serve right now: the folder is there and writable (readable
   * when `readOnly`), the bucket answers. Cheap: health probes call it every few seconds.
   */
  checkReady?(readOnly: boolean): Promise<void>;
}

/** Store metadata only. */
export interface StoreCatalog {
  /** Every store, in no particular order. */
  list(): AsyncIterable<StoreInfo>;
  get(id: string): Promise<StoreInfo | null>;
  /** The store of this user with this exact name, if any. */
  findByName(userId: string, name: string): Promise<StoreInfo | null>;
  /** The same by username (`username~name` references). */
  findByUsername(username: string, name: string): Promise<StoreInfo | null>;
  /** Creates the store atomically; throws `StorageError('name-not-unique')` when its name is taken. */
  create(info: StoreInfo): Promise<void>;
  /** Saves changed metadata (rename, access, stats, times); throws `name-not-unique` on a taken name. */
  save(info: StoreInfo): Promise<void>;
  /** Removes the store and all its records; false when it did not exist. */
  remove(id: string): Promise<boolean>;
}

/** A record body to store: a stream (or the whole body in memory), its size when known, and the most bytes to accept. */
export interface RecordBody {
  stream: Readable | Uint8Array;
  size?: number;
  /** Throw `PayloadTooLargeError` as soon as the body passes this many bytes; nothing is stored then. */
  maxBytes?: number;
  /**
   * The body's MD5 as its uploader gave it (`Content-MD5`). A backend that `checksMd5` throws
   * `IntegrityMismatchError` before anything is stored when the body's differs; others ignore it.
   */
  md5?: Buffer;
}

/** The records of one store. */
export interface RecordStore {
  /** `null` when missing. The body is opened lazily through `openStream`. */
  get(key: string): Promise<StoredRecord | null>;
  /**
   * Stores the record atomically and durably; `sizeDelta` is the change of the store's total bytes.
   * With `conditions`, only when they hold at the instant the write takes effect (else
   * `StorageError('precondition-failed')`, nothing written).
   */
  put(key: string, body: RecordBody, contentType: string, conditions?: WriteConditions): Promise<RecordInfo & { sizeDelta: number }>;
  /** The size of the removed record, or `null` when there was none. `conditions` as for `put`. */
  delete(key: string, conditions?: WriteConditions): Promise<number | null>;
  /** Keys in UTF-8 byte order after `after`, starting with `prefix`; `next` is `null` on the last page. */
  list(options: { prefix?: string; after?: string; limit: number }): Promise<{
    items: Array<{ key: string; size: number }>;
    next: string | null;
  }>;
}
