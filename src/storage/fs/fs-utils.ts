import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { childPath } from './layout.js';
import { ownedTempStem } from './temp-owner.js';

/**
 * A unique temp file stem naming this process as its writer (see `temp-owner.ts`); temp files
 * live in a hidden folder, so no stem can pass for a key.
 */
export function tempStem(): string {
  return ownedTempStem();
}

/**
 * Makes a directory's entries (files created, renamed or removed in it) durable.
 * Some platforms cannot open or sync a directory; there the rename is all we get.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!cannotSyncDir(error)) throw error;
  } finally {
    await handle?.close();
  }
}

/** The platform cannot open or fsync a folder (Windows): its entries are as durable as it makes them. */
export function cannotSyncDir(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM' || code === 'EBADF';
}

/** Writes a new file and flushes it to disk. Fails if the file exists. */
export async function writeNewFileDurably(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `target` with `data` so that a crash leaves either the old or the new
 * content, never a mix: temp file in `tempDir` (same file system), fsync, rename, fsync dir.
 */
export async function writeFileAtomic(tempDir: string, target: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(tempDir, { recursive: true });
  const temp = childPath(tempDir, `${tempStem()}.tmp`);
  try {
    await writeNewFileDurably(temp, data);
    await fsp.rename(temp, target);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(target));
}

export async function readJsonFile(file: string): Promise<unknown> {
  return JSON.parse(await fsp.readFile(file, 'utf8'));
}

export function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Runs `fn` over `items` with at most `concurrency` calls in flight. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
