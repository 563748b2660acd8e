import { promises as fsp } from 'node:fs';

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
