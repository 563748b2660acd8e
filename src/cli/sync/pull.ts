/**
 * `pull`: a store to a folder, like `aws s3 sync s3://... DIR`. Each record under the prefix is
 * written to the file naming.ts gives its key (prefix removed). Before downloading, its size and
 * md5 (the ETag, from a HEAD through an API) are compared with the file there, so a re-run of an
 * unchanged store transfers nothing. Downloads go to a partial file renamed into place;
 * `--delete` removes files the store lacks.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { StorageBackend, StoreSummary } from '../../sdk/backend.js';
import { CliError, EXIT } from '../errors.js';
import { fileNameForRecord, recordForFileName } from '../naming.js';
import { isPartialName, newPartial, partialDone, releasePartial, stalePartials } from '../partial.js';
import { md5OfFile, reasonOf, runAll, writeAndHash } from '../transfer-io.js';
import { allKeys, type SyncOptions } from './common.js';
import { isIncluded } from './filters.js';
import { finish, type SyncSummary } from './summary.js';

/** Whether the target folder exists; a file in its place is bad input. */
async function isDirectory(dir: string): Promise<boolean> {
  const stat = await fsp.stat(dir).catch(() => null);
  if (stat && !stat.isDirectory()) throw new CliError(`Not a directory: ${dir}`, EXIT.USAGE);
  return stat !== null;
}

export async function pull(backend: StorageBackend, store: StoreSummary, dir: string, options: SyncOptions): Promise<SyncSummary> {
  const { prefix, filters, progress, output, dryRun } = options;
  const dirExists = await isDirectory(dir);
  if (!dirExists && !dryRun) await fsp.mkdir(dir, { recursive: true });
  if (dirExists) {
    // Leftovers of a killed run: ours to remove (a dry run only tells).
    const stale = await stalePartials(dir, { remove: !dryRun });
    if (stale.length > 0) output.notice(`${dryRun ? 'would remove' : 'removed'} ${stale.length} partial file(s) left by an interrupted run`);
  }

  const summary: SyncSummary = {
    command: 'pull',
    store: { id: store.id, name: store.name },
    dir,
    prefix: prefix || null,
    dryRun,
    transferred: [],
    unchanged: [],
    deleted: [],
    skipped: [],
    failed: [],
    exitCode: 0,
  };
  const keys: string[] = [];
  let bytes = 0;
  for (const { key, size } of await allKeys(backend, store.id, prefix)) {
    const name = key.slice(prefix.length);
    if (name === '') summary.skipped.push({ key, reason: 'the key is the prefix itself, which leaves no file name' });
    else if (isIncluded(name, filters)) {
      keys.push(key);
      bytes += size;
    }
  }
  for (const { key, reason } of summary.skipped) output.problem(`skipped ${key}: ${reason}`);

  /** Files that hold (or will hold) a record: --delete keeps them. */
  const expected = new Set<string>();
  progress.start(keys.length, bytes);
  await runAll(keys, options.concurrency, async (key) => {
    let file: string | undefined;
    try {
      const digest = await backend.recordDigest(store.id, key);
      if (!digest) return; // deleted since the listing
      file = fileNameForRecord(key.slice(prefix.length), digest.contentType);
      expected.add(file);
      const entry = { key, file, size: digest.size, contentType: digest.contentType };
      const target = path.join(dir, file);
      const local = dirExists ? await fsp.stat(target).catch(() => null) : null;
      if (local?.isDirectory()) throw new Error(`a folder named ${file} is in the way`);
      if (local?.isFile() && local.size === digest.size && (await md5OfFile(target)) === digest.md5) {
        summary.unchanged.push(entry);
        progress.item(`unchanged ${key}`, key, digest.size);
        return;
      }
      const as = file === key ? '' : ` as ${file}`;
      if (dryRun) {
        summary.transferred.push(entry);
        progress.item(`(dry run) download ${key}${as} (${digest.size} bytes, ${digest.contentType})`, key, digest.size);
        return;
      }
      const record = await backend.openRecord(store.id, key, { onProgress: (loaded) => progress.moved(key, loaded) });
      if (!record) return;
      const temp = newPartial(dir);
      try {
        const written = await writeAndHash(record.stream, temp);
        await fsp.rename(temp, target);
        partialDone(temp);
        summary.transferred.push({ ...entry, size: written.size, contentType: record.contentType });
        progress.item(`downloaded ${key}${as} (${written.size} bytes, ${record.contentType})`, key, written.size);
      } finally {
        await releasePartial(temp);
      }
    } catch (error) {
      progress.dropped(key);
      summary.failed.push({ key, ...(file ? { file } : {}), reason: reasonOf(error) });
      output.problem(`failed ${key}: ${reasonOf(error)}`);
    }
  });

  const extras = options.delete && dirExists ? await localExtras(dir, expected, options) : [];
  const deleteLines: string[] = [];
  if (dryRun) {
    for (const file of extras) {
      summary.deleted.push({ file });
      deleteLines.push(`(dry run) delete ${file}`);
    }
  } else if (extras.length > 0 && summary.failed.length > 0) {
    summary.deleteNotDone = 'some downloads failed, so no file was deleted';
    output.problem(`--delete: ${summary.deleteNotDone}`);
  } else {
    for (const file of extras) {
      try {
        await fsp.rm(path.join(dir, file));
        summary.deleted.push({ file });
        progress.item(`deleted ${file}`, file);
      } catch (error) {
        summary.failed.push({ file, reason: reasonOf(error) });
        output.problem(`failed to delete ${file}: ${reasonOf(error)}`);
      }
    }
  }
  progress.stop(deleteLines.sort());
  return finish(summary);
}

/**
 * Regular files of the folder that hold no record of the store: those whose key (by the push
 * rule) passes the filters. Subfolders and partial files are never touched.
 */
async function localExtras(dir: string, expected: Set<string>, options: SyncOptions): Promise<string[]> {
  const extras: string[] = [];
  for (const name of (await fsp.readdir(dir)).sort()) {
    if (expected.has(name) || isPartialName(name)) continue;
    const stat = await fsp.lstat(path.join(dir, name)).catch(() => null);
    if (!stat?.isFile()) continue;
    const mapping = recordForFileName(name);
    if (isIncluded('error' in mapping ? name : mapping.key, options.filters)) extras.push(name);
  }
  return extras;
}
