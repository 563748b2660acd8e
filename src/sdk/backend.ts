/**
 * The one small interface both SDK backends implement: the local file store used directly,
 * and the HTTP API through `ApifyClient`. `KeyValueStore` and the CLI only talk to this, so
 * they behave the same on either. Keys and names are validated by the callers.
 */
import type { Readable } from 'node:stream';

/** A store, in the same shape from either backend. */
export interface StoreSummary {
  id: string;
  /** `null` for an unnamed store. */
  name: string | null;
  createdAt: Date | null;
  modifiedAt: Date | null;
  accessedAt: Date | null;
  /** Sum of the record sizes when the backend knows it. */
  storageBytes: number | null;
  /** The key that signs the store's public URLs, when the backend may see it. */
  urlSigningSecretKey?: string | null;
}

export interface KeyItem {
  key: string;
  size: number;
}

export interface KeyPage {
  items: KeyItem[];
  /** `null` on the last page. */
  nextExclusiveStartKey: string | null;
}

export interface ListKeysArgs {
  exclusiveStartKey?: string;
  prefix?: string;
  limit?: number;
  /** A collection of the store's schema (the API filters by it; local stores have no schema). */
  collection?: string;
}

export interface RecordBytes {
  contentType: string;
  body: Buffer;
  /** The record's ETag, when the backend gives one (the condition of `putRecordIf`). */
  etag?: string;
}

export interface RecordStream {
  contentType: string;
  stream: Readable;
}

/** What a record is, to tell whether a file holds the same: its type, size and md5. */
export interface RecordDigest {
  contentType: string;
  size: number;
  /** md5 hex of the body. */
  md5: string;
}

/**
 * How one API request is sent (`setValue`'s options): locally there is no request, so these
 * change nothing there.
 */
export interface RequestSettings {
  /** Time limit of each attempt, in seconds. */
  timeoutSecs?: number;
  /** Retries after the first attempt. */
  maxRetries?: number;
  /** A timed-out attempt is not repeated (other failures still are). */
  doNotRetryTimeouts?: boolean;
}

/**
 * Watching a body travel: `onProgress` is told the bytes sent (or, as the stream is read, received)
 * so far. Only the API backend calls it; locally nothing travels.
 */
export interface TransferWatch {
  onProgress?: (loaded: number) => void;
}

/** A body to store: bytes, a one-shot stream, or a file that can be reopened on a retry. */
export type BodySource = Buffer | Readable | { path: string; size: number };

export interface StorageBackend {
  readonly kind: 'local' | 'cloud';
  /** Where the data lives, for messages: a directory or an API URL (never a token). */
  readonly location: string;

  listStores(args: { unnamed?: boolean }): Promise<StoreSummary[]>;
  /** By id or name; `null` when there is none. */
  getStore(ref: string): Promise<StoreSummary | null>;
  getOrCreateStore(name: string): Promise<{ store: StoreSummary; created: boolean }>;
  renameStore(id: string, name: string | null): Promise<StoreSummary>;
  /** False when it did not exist. */
  deleteStore(id: string): Promise<boolean>;

  listKeys(storeId: string, args: ListKeysArgs): Promise<KeyPage>;
  getRecord(storeId: string, key: string): Promise<RecordBytes | null>;
  /** The body as a stream, not buffered (for large records). */
  openRecord(storeId: string, key: string, watch?: TransferWatch): Promise<RecordStream | null>;
  /**
   * Content type, size and md5 of a record: cheap locally; through the API a HEAD when the ETag is
   * the md5 of the body, else a download.
   */
  recordDigest(storeId: string, key: string): Promise<RecordDigest | null>;
  putRecord(storeId: string, key: string, body: BodySource, contentType: string, settings?: RequestSettings & TransferWatch): Promise<void>;
  deleteRecord(storeId: string, key: string, settings?: RequestSettings): Promise<void>;
  /**
   * Writes only while the record's ETag is `etag` (`null`: only while there is no record),
   * atomically; false, with nothing written, when it is not.
   */
  putRecordIf(storeId: string, key: string, body: Buffer, contentType: string, etag: string | null): Promise<boolean>;
  /** Deletes only while the record's ETag is `etag`, atomically; false when it is not (or there is none). */
  deleteRecordIf(storeId: string, key: string, etag: string): Promise<boolean>;
  recordExists(storeId: string, key: string): Promise<boolean>;
  /**
   * A URL where the record can be read: the API's record URL, or locally the record's `file:`
   * URL (`undefined` when there is no such record).
   */
  /** A URL to read the record at, made without asking the storage (as Crawlee makes it). */
  publicUrl(store: StoreSummary, key: string): string;
  /** The `file:` URL of the record's file as it is on disk; undefined without one (or in the cloud). */
  recordFileUrl(store: StoreSummary, key: string): Promise<string | undefined>;

  /** Releases what the backend holds open (the local engine's timers). */
  close(): Promise<void>;
}
