/**
 * The folders kept open for fsyncs, shared by every store of a storage and bounded: a write
 * syncs its store's folder and temp folder, and keeping both open saves an open and a close
 * per fsync, but kept for every store ever written they would use up the process's
 * descriptors. When a folder would pass the bound, the least recently used idle one is
 * closed; it is opened again at its next fsync. A folder in use (an fsync under way) is never
 * closed under its user; when all are in use, the fsync opens its folder for itself alone.
 */
import { openFilesLimit } from '../descriptor-limit.js';
import type { DirHandle, FsLayer } from './fs-layer.js';

/** Folders kept open when the descriptor limit allows it. */
export const DEFAULT_MAX_OPEN_FOLDERS = 64;

/**
 * The default bound: 64, lowered to an eighth of the open-files limit (the share the server's
 * connection cap leaves for store folders, see `connection-limits.ts`). At least 1.
 */
export function defaultMaxOpenFolders(fdLimit = openFilesLimit()): number {
  if (fdLimit === undefined) return DEFAULT_MAX_OPEN_FOLDERS;
  return Math.max(1, Math.min(DEFAULT_MAX_OPEN_FOLDERS, Math.floor(fdLimit / 8)));
}

interface OpenFolder {
  /** `null` where the folder cannot be kept open (then each fsync opens it). */
  handle: Promise<DirHandle | null>;
  /** Fsyncs using the handle right now. */
  users: number;
  /** Out of the pool: closed once its last user is done. */
  dropped: boolean;
}

export class OpenFolders {
  /** By key, least recently used first (a Map keeps insertion order). */
  private readonly folders = new Map<string, OpenFolder>();
  /** Closes under way: a new folder opens after them, so the bound holds for real descriptors. */
  private closing: Promise<void> = Promise.resolve();
  private closed = false;

  /** `max` 0 keeps no folder open. */
  constructor(
    private readonly fs: FsLayer,
    readonly max: number = defaultMaxOpenFolders(),
  ) {
    if (!Number.isSafeInteger(max) || max < 0) throw new Error(`The bound on open folders must be an integer >= 0, not ${max}.`);
  }

  /** Folders open or being opened. */
  get size(): number {
    return this.folders.size;
  }

  /**
   * Fsyncs the folder `dir`, kept open under `key` (one key per owner and folder: two stores
   * never share a handle, as one of them may be following a folder that was replaced).
   */
  async sync(key: string, dir: string): Promise<void> {
    const folder = this.acquire(key, dir);
    if (!folder) return this.fs.syncDir(dir);
    try {
      const handle = await folder.handle;
      if (!handle) {
        this.drop(key, folder);
        return await this.fs.syncDir(dir);
      }
      await handle.sync();
    } catch (error) {
      // Not kept after a failure: the next fsync opens the folder afresh.
      this.drop(key, folder);
      throw error;
    } finally {
      this.release(folder);
    }
  }

  private acquire(key: string, dir: string): OpenFolder | undefined {
    const known = this.folders.get(key);
    if (known) {
      // Most recently used now.
      this.folders.delete(key);
      this.folders.set(key, known);
      known.users++;
      return known;
    }
    const { fs } = this;
    if (this.closed || !fs.openDir || this.max === 0) return undefined;
    if (this.folders.size >= this.max && !this.evictIdle()) return undefined;
    const opening = this.closing.then(() => fs.openDir!(dir)).catch(() => null);
    const folder: OpenFolder = { handle: opening, users: 1, dropped: false };
    this.folders.set(key, folder);
    return folder;
  }

  /** Closes the least recently used folder nobody is using; false when all are in use. */
  private evictIdle(): boolean {
    for (const [key, folder] of this.folders) {
      if (folder.users > 0) continue;
      this.drop(key, folder);
      return true;
    }
    return false;
  }

  private release(folder: OpenFolder): void {
    folder.users--;
    if (folder.dropped && folder.users === 0) this.closeHandle(folder);
  }

  private drop(key: string, folder: OpenFolder): void {
    if (this.folders.get(key) === folder) this.folders.delete(key);
    if (folder.dropped) return;
    folder.dropped = true;
    if (folder.users === 0) this.closeHandle(folder);
  }

  private closeHandle(folder: OpenFolder): void {
    const closed = folder.handle.then((handle) => handle?.close()).catch(() => {});
    this.closing = Promise.all([this.closing, closed]).then(() => {});
  }

  /**
   * Closes the folders kept under `keys` (their owner closed, or its folder was replaced on
   * disk); one in use closes when its fsync is done. Resolves once the idle ones are closed.
   */
  async forget(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      const folder = this.folders.get(key);
      if (folder) this.drop(key, folder);
    }
    await this.closing;
  }

  /** Closes every folder kept open; later fsyncs open and close their folder each time. */
  async close(): Promise<void> {
    this.closed = true;
    await this.forget([...this.folders.keys()]);
  }
}
