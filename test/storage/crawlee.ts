/**
 * Folders written by Crawlee itself (`@crawlee/memory-storage`), as a user's crawl leaves
 * them, and snapshots to prove nothing of theirs changed.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { MemoryStorage } from '@crawlee/memory-storage';

/** Names Crawlee allows that the API would refuse for a new store. */
export const ODD_NAMES = ['my_store', 'Store.v2'] as const;
/** Years ago. */
export const OLD_TIME = new Date('2021-03-04T05:06:07.000Z');

export const RECORDS: Record<string, { value: unknown; contentType: string }> = {
  INPUT: { value: { start: 'https://example.com', depth: 2 }, contentType: 'application/json; charset=utf-8' },
  'page.html': { value: '<p>hello</p>', contentType: 'text/html' },
  blob: { value: Buffer.from([0, 1, 2, 250, 251]), contentType: 'application/octet-stream' },
};

/** Writes records with Crawlee into the named store (`undefined`: a new unnamed store). Returns its id. */
export async function crawleeWrite(
  storageDir: string,
  storeName: string | undefined,
  records: Record<string, { value: unknown; contentType: string }>,
  writeMetadata = true,
): Promise<string> {
  const storage = new MemoryStorage({ localDataDirectory: storageDir, writeMetadata, persistStorage: true });
  const info = await storage.keyValueStores().getOrCreate(storeName);
  const store = storage.keyValueStore(info.id);
  for (const [key, { value, contentType }] of Object.entries(records)) await store.setRecord({ key, value, contentType });
  if (writeMetadata) {
    // Crawlee writes store metadata in the background: wait until it is whole on disk.
    const metaFile = path.join(storageDir, 'key_value_stores', storeName ?? info.id, '__metadata__.json');
    await waitFor(async () => {
      try {
        return JSON.parse(await fsp.readFile(metaFile, 'utf8')).id === info.id ? true : undefined;
      } catch {
        return undefined;
      }
    });
  }
  return info.id;
}

/**
 * The folder: stores `my_store`, `Store.v2` and an unnamed one, written by Crawlee,
 * last accessed years ago (metadata times and file times). Returns the unnamed store's folder.
 */
export async function writeCrawleeFolder(storageDir: string, writeMetadata: boolean): Promise<string> {
  for (const name of ODD_NAMES) await crawleeWrite(storageDir, name, RECORDS, writeMetadata);
  await crawleeWrite(storageDir, undefined, RECORDS, writeMetadata);
  const storesDir = path.join(storageDir, 'key_value_stores');
  // Crawlee writes store metadata in the background: wait until it is there.
  const folders = await waitFor(async () => {
    const names = await fsp.readdir(storesDir);
    if (names.length !== 3) return undefined;
    if (writeMetadata) {
      for (const name of names) {
        const text = await fsp.readFile(path.join(storesDir, name, '__metadata__.json'), 'utf8').catch(() => '');
        try {
          JSON.parse(text);
        } catch {
          return undefined;
        }
      }
    }
    return names;
  });
  for (const folder of folders) {
    const dir = path.join(storesDir, folder);
    const metaFile = path.join(dir, '__metadata__.json');
    if (writeMetadata) {
      const meta = JSON.parse(await fsp.readFile(metaFile, 'utf8'));
      const old = OLD_TIME.toISOString();
      await fsp.writeFile(metaFile, JSON.stringify({ ...meta, createdAt: old, modifiedAt: old, accessedAt: old }, null, '\t'));
    }
    for (const name of await fsp.readdir(dir)) await fsp.utimes(path.join(dir, name), OLD_TIME, OLD_TIME);
    await fsp.utimes(dir, OLD_TIME, OLD_TIME);
  }
  return folders.find((folder) => !(ODD_NAMES as readonly string[]).includes(folder))!;
}

export interface Snapshot {
  [relativePath: string]: string;
}

/** Every file and folder under `dir`: content hash (files), size and modification time. */
export async function snapshot(dir: string): Promise<Snapshot> {
  const out: Snapshot = {};
  const walk = async (current: string) => {
    for (const entry of await fsp.readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const stats = await fsp.lstat(full);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out[`${rel}/`] = `mtime ${stats.mtimeMs}`;
        await walk(full);
      } else {
        const hash = createHash('sha256').update(await fsp.readFile(full)).digest('hex');
        out[rel] = `${hash} ${stats.size} mtime ${stats.mtimeMs}`;
      }
    }
  };
  await walk(dir);
  return out;
}

/** Record files only (no metadata), path -> content hash. */
export async function recordFiles(storageDir: string): Promise<Record<string, string>> {
  const all = await snapshot(storageDir);
  const out: Record<string, string> = {};
  for (const [rel, value] of Object.entries(all)) {
    if (rel.endsWith('/') || rel.endsWith('__metadata__.json') || rel.split(path.sep).some((part) => part.startsWith('.'))) continue;
    out[rel] = value.split(' ')[0]!;
  }
  return out;
}

/** Polls `probe` until it returns something, for at most `timeoutMillis` (generous: machines are loaded). */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMillis = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMillis;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('Timed out waiting for a condition.');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
