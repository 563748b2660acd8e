/** `push` (a folder to a store) and `pull` (a store to a folder). See naming.ts for file names. */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { StorageBackend, StoreSummary } from '../sdk/backend.js';
import { CliError, EXIT } from './errors.js';
import { fileNameForRecord, recordForFileName, sameContentType } from './naming.js';
import type { Progress } from './progress.js';
import { md5OfFile, runPool } from './util.js';

/** Prefix of pull's temporary files; `~` keeps them from ever being pushed as keys. */
const PARTIAL_PREFIX = '.apify-kv-partial~';

export interface TransferOptions {
  concurrency: number;
  progress: Progress;
  /** Called for a file or record left out, with the reason. */
  warn: (message: string) => void;
}

export interface PushedFile {
  file: string;
  key: string;
  size: number;
  contentType: string;
}

export interface PushSummary {
  store: { id: string; name: string | null };
  uploaded: PushedFile[];
  unchanged: PushedFile[];
  skipped: Array<{ file: string; reason: string }>;
}

export interface PullSummary {
  store: { id: string; name: string | null };
  written: Array<{ key: string; file: string; size: number; contentType: string }>;
  unchanged: Array<{ key: string; file: string; size: number; contentType: string }>;
}

interface PlannedFile extends PushedFile {
  path: string;
}

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Lists the files of a folder as records-to-be, and the ones that cannot be. Not recursive. */
export async function planPush(dir: string): Promise<{ files: PlannedFile[]; skipped: PushSummary['skipped'] }> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`Not a directory: ${dir}`, EXIT.USAGE);
    throw error;
  }
  const files: PlannedFile[] = [];
  const skipped: PushSummary['skipped'] = [];
  const byKey = new Map<string, string>();
  for (const name of names) {
    if (name.startsWith(PARTIAL_PREFIX)) continue; // an interrupted pull's leftover
    const filePath = path.join(dir, name);
    const stat = await fsp.stat(filePath).catch(() => null);
    if (!stat?.isFile()) {
      skipped.push({ file: name, reason: stat?.isDirectory() ? 'a directory (push does not recurse)' : 'not a regular file' });
      continue;
    }
    const mapping = recordForFileName(name);
    if ('error' in mapping) {
      skipped.push({ file: name, reason: mapping.error });
      continue;
    }
    const clash = byKey.get(mapping.key);
    if (clash !== undefined) {
      skipped.push({ file: name, reason: `maps to key "${mapping.key}" like "${clash}"` });
      continue;
    }
    byKey.set(mapping.key, name);
    files.push({ file: name, path: filePath, key: mapping.key, size: stat.size, contentType: mapping.contentType });
  }
  return { files, skipped };
}

async function allKeys(backend: StorageBackend, storeId: string): Promise<Array<{ key: string; size: number }>> {
  const items: Array<{ key: string; size: number }> = [];
  let exclusiveStartKey: string | undefined;
  for (;;) {
    const page = await backend.listKeys(storeId, { exclusiveStartKey, limit: 1000 });
    items.push(...page.items);
    if (page.nextExclusiveStartKey === null || page.items.length === 0) return items;
    exclusiveStartKey = page.nextExclusiveStartKey;
  }
}

/**
 * Uploads every file whose record differs (size, content type or md5), so a re-run after a
 * crash or a change uploads only what is missing or changed.
 */
export async function push(
  backend: StorageBackend,
  store: StoreSummary,
  dir: string,
  options: TransferOptions,
): Promise<PushSummary> {
  const { files, skipped } = await planPush(dir);
  for (const { file, reason } of skipped) options.warn(`skipped ${file}: ${reason}`);
  const remoteSizes = new Map((await allKeys(backend, store.id)).map((item) => [item.key, item.size]));

  const summary: PushSummary = { store: { id: store.id, name: store.name }, uploaded: [], unchanged: [], skipped };
  const isUnchanged = async (file: PlannedFile): Promise<boolean> => {
    if (remoteSizes.get(file.key) !== file.size) return false;
    const remote = await backend.recordDigest(store.id, file.key);
    if (!remote || remote.size !== file.size || !sameContentType(remote.contentType, file.contentType)) return false;
    return (await md5OfFile(file.path)) === remote.md5;
  };

  options.progress.start(files.length);
  try {
    await runPool(files, options.concurrency, async (file) => {
      const { path: filePath, ...entry } = file;
      if (await isUnchanged(file)) {
        summary.unchanged.push(entry);
        options.progress.item(`unchanged ${file.file}`, file.file);
        return;
      }
      await backend.putRecord(store.id, file.key, { path: filePath, size: file.size }, file.contentType);
      summary.uploaded.push(entry);
      const as = file.key === file.file ? '' : ` as ${file.key}`;
      options.progress.item(`uploaded ${file.file}${as} (${file.size} bytes, ${file.contentType})`, file.file);
    });
  } finally {
    options.progress.stop();
  }
  // Uploads finish in any order; scripts get a stable one.
  summary.uploaded.sort(byKey);
  summary.unchanged.sort(byKey);
  return summary;
}

/**
 * Writes every record of a store into a folder (created if missing). Each record is downloaded
 * to a temp file and renamed into place, so no half-written file appears under a real name;
 * a file that already held the same bytes is reported unchanged.
 */
export async function pull(
  backend: StorageBackend,
  store: StoreSummary,
  dir: string,
  options: TransferOptions,
): Promise<PullSummary> {
  await fsp.mkdir(dir, { recursive: true });
  const keys = await allKeys(backend, store.id);
  const summary: PullSummary = { store: { id: store.id, name: store.name }, written: [], unchanged: [] };

  options.progress.start(keys.length);
  try {
    await runPool(keys, options.concurrency, async ({ key }) => {
      const record = await backend.openRecord(store.id, key);
      if (!record) return; // deleted since the listing
      const file = fileNameForRecord(key, record.contentType);
      const target = path.join(dir, file);
      const temp = path.join(dir, `${PARTIAL_PREFIX}${randomBytes(6).toString('hex')}`);
      try {
        const written = await writeAndHash(record.stream, temp);
        const entry = { key, file, size: written.size, contentType: record.contentType };
        const existing = await fsp.stat(target).catch(() => null);
        if (existing?.isFile() && existing.size === written.size && (await md5OfFile(target)) === written.md5) {
          summary.unchanged.push(entry);
          options.progress.item(`unchanged ${key}`, key);
          return;
        }
        await fsp.rename(temp, target);
        summary.written.push(entry);
        const as = file === key ? '' : ` as ${file}`;
        options.progress.item(`pulled ${key}${as} (${written.size} bytes, ${record.contentType})`, key);
      } finally {
        await fsp.rm(temp, { force: true });
      }
    });
  } finally {
    options.progress.stop();
  }
  // Uploads finish in any order; scripts get a stable one.
  summary.written.sort(byKey);
  summary.unchanged.sort(byKey);
  return summary;
}

/** Streams into a file, returning the md5 and length of what was written. */
export async function writeAndHash(source: Readable, filePath: string): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  await pipeline(
    source,
    async function* measure(chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(filePath),
  );
  return { md5: hash.digest('hex'), size };
}
