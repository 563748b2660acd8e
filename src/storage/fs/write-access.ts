/** What the write path of a store's records needs from them, and what a change reports. */
import type { FsLayer } from './fs-layer.js';
import type { Leftover } from './describe.js';
import type { OpenFolders } from './open-folders.js';
import type { RecordEntry } from './record-entry.js';
import type { RecordIndex } from './record-index.js';
import type { SharedLock } from '../locks.js';

/** What a change did to the store's byte count. */
export interface RecordChange {
  sizeDelta: number;
}

/** What the store's records share with the write path: their index and its guards. */
export interface WriteAccess {
  readonly fs: FsLayer;
  /** Where folders are kept open for fsyncs. Default: a pool of this store's own. */
  readonly openFolders?: OpenFolders;
  /** The store folder's current path (it moves when the store is renamed). */
  dir(): string;
  lock: SharedLock;
  /** Throws `store-not-found` once the store is deleted. */
  assertAlive(): void;
  now(): number;
  /** Loads the index once (call under the shared lock). */
  load(): Promise<RecordIndex>;
  /** The stem for a key's files (hashed when a key differing only in case holds the usual one). */
  stemFor(index: RecordIndex, key: string): string;
  /** Puts a committed record into the index. */
  adopt(index: RecordIndex, entry: RecordEntry): void;
  /** Drops a deleted key. */
  forget(index: RecordIndex, key: string): void;
  /** Stats the entries whose size is unknown. */
  sizeEntries(index: RecordIndex, entries: RecordEntry[]): Promise<unknown>;
  /** The ETag a read of `key` sees now, `null` when missing (call under the shared lock, in the key's turn). */
  currentEtag(key: string): Promise<string | null>;
  /** Called when the temp folder is not there: checks whether the store folder was replaced. */
  onFolderMissing(): Promise<void>;
  /** Takes the files of ours a scan found superseded for `key` (see `Leftover`). */
  takeLeftovers(key: string): Leftover[];
}
