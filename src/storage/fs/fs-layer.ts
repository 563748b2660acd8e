/**
 * The file-system calls the record engine makes, behind one small interface, so a test can
 * run the engine over a file system of its own (one that counts fsyncs, or one that loses
 * whatever was not fsynced when the "power" goes). `nodeFs` is the real one.
 */
import { promises as fsp } from 'node:fs';

import path from 'node:path';

import { cannotSyncDir, fsyncDir, tempStem } from './fs-utils.js';
import { childPath } from './layout.js';

export interface FsStats {
  size: number;
  ino: number;
  mtimeMs: number;
  /** Not every test file system keeps one. */
  ctimeMs?: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

export interface FsEntry {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
}

export interface FsHandle {
  write(data: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Makes the file's data durable (not its name: that takes `syncDir` of its folder). */
  sync(): Promise<void>;
  stat(): Promise<FsStats>;
  close(): Promise<void>;
}

export interface FsLayer {
  /** `r`: read an existing file; `wx`: create a new file for writing (fails if it exists). */
  open(file: string, flags: 'r' | 'wx'): Promise<FsHandle>;
  readdir(dir: string): Promise<FsEntry[]>;
  /** A folder's entries one at a time, never all held at once. Optional: without it, `readdir` is used. */
  list?(dir: string): AsyncIterable<FsEntry>;
  lstat(file: string): Promise<FsStats>;
  /** As `lstat`, following a symbolic link (a store folder may be one). */
  stat(file: string): Promise<FsStats>;
  rename(from: string, to: string): Promise<void>;
  /**
   * Gives the file `existing` a second name `to` (a hard link); fails with EEXIST when
   * something is there. Like any new name, it is durable only after `syncDir` of its folder.
   */
  link(existing: string, to: string): Promise<void>;
  /** Removes a file; fine when it is already gone. */
  remove(file: string): Promise<void>;
  /** Creates a folder and its parents; fine when it exists. */
  mkdir(dir: string): Promise<void>;
  /** Creates one folder; fails with EEXIST when something is there. */
  mkdirExclusive(dir: string): Promise<void>;
  /** Removes an empty folder. */
  rmdir(dir: string): Promise<void>;
  /** Removes a folder and everything in it; fine when it is already gone. */
  removeTree(dir: string): Promise<void>;
  readFile(file: string): Promise<Buffer>;
  /** Makes a folder's entries (files created, renamed or removed in it) durable. */
  syncDir(dir: string): Promise<void>;
  /**
   * Opens a folder to fsync it many times (`syncDir` without an open and a close each time);
   * `null` where folders cannot be opened. Optional: without it, `syncDir` is used.
   */
  openDir?(dir: string): Promise<DirHandle | null>;
}

export interface DirHandle {
  /** As `syncDir` of the folder. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeFs: FsLayer = {
  open: (file, flags) => fsp.open(file, flags),
  readdir: readdirInBatches,
  list: listFolder,
  lstat: (file) => fsp.lstat(file),
  stat: (file) => fsp.stat(file),
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, to) => fsp.link(existing, to),
  remove: (file) => fsp.rm(file, { force: true }),
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true });
  },
  mkdirExclusive: (dir) => fsp.mkdir(dir),
  rmdir: (dir) => fsp.rmdir(dir),
  removeTree: (dir) => fsp.rm(dir, { recursive: true, force: true }),
  readFile: (file) => fsp.readFile(file),
  syncDir: fsyncDir,
  openDir: async (dir) => {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(dir, 'r');
    } catch (error) {
      if (cannotSyncDir(error)) return null;
      throw error;
    }
    return {
      sync: () => handle.sync().catch((error: unknown) => {
        if (!cannotSyncDir(error)) throw error;
      }),
      close: () => handle.close(),
    };
  },
};

/** Writes all of `data` at the handle's position. */
export async function writeAll(handle: FsHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

/**
 * Writes a new file and flushes its data to disk. Fails if the file exists. `data` may still
 * be on its way: the file opens meanwhile.
 */
export async function writeNewFileSynced(fs: FsLayer, file: string, data: string | Uint8Array | Promise<string | Uint8Array>): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    const bytes = await data;
    await writeAll(handle, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `target` with `data` so that a crash leaves either the old or the new content,
 * never a mix: temp file in `tempDir` (same file system), fsync, rename, fsync of the folder.
 */
export async function replaceFileSynced(fs: FsLayer, tempDir: string, target: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(tempDir);
  const temp = childPath(tempDir, `${tempStem()}.tmp`);
  try {
    await writeNewFileSynced(fs, temp, data);
    await fs.rename(temp, target);
  } catch (error) {
    await fs.remove(temp).catch(() => undefined);
    throw error;
  }
  await fs.syncDir(path.dirname(target));
}

/** A folder's entries as `opendir` reads them, a few hundred at a time. */
async function* listFolder(dir: string): AsyncIterable<FsEntry> {
  yield* await fsp.opendir(dir, { bufferSize: 256 });
}

/** How many entries to list between two yields to the event loop. */
const READDIR_BATCH = 1024;

/**
 * Lists a folder in batches, yielding to the event loop between them: one `readdir` of a
 * folder of 200,000 files builds every entry in a single callback, stalling other requests.
 */
async function readdirInBatches(dir: string): Promise<FsEntry[]> {
  const handle = await fsp.opendir(dir, { bufferSize: 256 });
  const entries: FsEntry[] = [];
  for await (const entry of handle) {
    entries.push(entry);
    if (entries.length % READDIR_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return entries;
}

/** Renames the folder `from` to `target` unless something is already there (never replaces it); false if something was. */
export async function renameFolderIfFree(fs: FsLayer, from: string, target: string): Promise<boolean> {
  try {
    // rename() would replace an empty folder: make sure nothing is there, atomically enough
    // for other writers that only ever create folders.
    await fs.mkdirExclusive(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await fs.rename(from, target);
    return true;
  } catch (error) {
    // Something appeared inside the folder we made: leave it to whoever wrote there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    await fs.rmdir(target).catch(() => undefined);
    throw error;
  }
}
