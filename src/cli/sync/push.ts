/**
 * `push`: a folder to a store, like `aws s3 sync DIR s3://...`. Each file becomes the record
 * PREFIX + its key (naming.ts); unchanged records (size, content type, md5) are not sent again;
 * a failed file does not stop the others; `--delete` removes records the folder lacks.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import type { StorageBackend, StoreSummary } from '../../sdk/backend.js';
import { isValidKey } from '../../sdk/validation.js';
import { CliError, EXIT } from '../errors.js';
import { recordForFileName, sameContentType } from '../naming.js';
import { isPartialName, PARTIAL_PREFIX } from '../partial.js';
import { md5OfFile, reasonOf, runAll } from '../transfer-io.js';
import { allKeys, type SyncOptions } from './common.js';
import { isIncluded } from './filters.js';
import { finish, type SyncItem, type SyncSummary } from './summary.js';

interface PlannedFile extends SyncItem {
  path: string;
}

interface PushPlan {
  files: PlannedFile[];
  skipped: SyncSummary['skipped'];
  /** Keys of files that were skipped or excluded: --delete leaves their records alone. */
  protectedKeys: Set<string>;
  partials: number;
}

/** The files of a folder as records-to-be, and the ones that cannot be. Not recursive. */
export async function planPush(dir: string, prefix: string, filters: SyncOptions['filters']): Promise<PushPlan> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`Not a directory: ${dir}`, EXIT.USAGE);
    throw error;
  }
  const plan: PushPlan = { files: [], skipped: [], protectedKeys: new Set(), partials: 0 };
  const fileOfKey = new Map<string, string>();
  for (const name of names) {
    if (isPartialName(name)) {
      plan.partials++; // an interrupted download, never a record
      continue;
    }
    const mapping = recordForFileName(name);
    const key = 'error' in mapping ? null : prefix + mapping.key;
    if (!isIncluded(name, filters)) {
      if (key) plan.protectedKeys.add(key);
      continue;
    }
    const skip = (reason: string) => {
      plan.skipped.push({ file: name, reason });
      if (key) plan.protectedKeys.add(key);
    };
    const filePath = path.join(dir, name);
    const stat = await fsp.stat(filePath).catch((error: NodeJS.ErrnoException) => error);
    if (stat instanceof Error) {
      skip(`cannot read it: ${reasonOf(stat)}`);
      continue;
    }
    if (stat.isDirectory()) {
      skip(`a folder: keys cannot contain "/"; push it on its own (e.g. with --prefix ${name}.)`);
      continue;
    }
    if (!stat.isFile()) {
      skip('not a regular file');
      continue;
    }
    if ('error' in mapping) {
      skip(mapping.error);
      continue;
    }
    if (!isValidKey(key)) {
      skip(`with the prefix, key "${key}" is longer than 256 characters`);
      continue;
    }
    const clash = fileOfKey.get(key);
    if (clash !== undefined) {
      skip(`maps to key "${key}" like "${clash}"`);
      continue;
    }
    fileOfKey.set(key, name);
    plan.files.push({ file: name, path: filePath, key, size: stat.size, contentType: mapping.contentType });
  }
  return plan;
}

export async function push(
  backend: StorageBackend,
  store: StoreSummary | null,
  dir: string,
  options: SyncOptions,
): Promise<SyncSummary> {
  const { prefix, filters, progress, output, dryRun } = options;
  const plan = await planPush(dir, prefix, filters);
  if (plan.partials > 0) {
    output.notice(`ignored ${plan.partials} partial download file(s) (${PARTIAL_PREFIX}*); the next pull into ${dir} removes them`);
  }
  for (const { file, reason } of plan.skipped) output.problem(`skipped ${file}: ${reason}`);

  // A dry run against a store that does not exist yet: everything would be uploaded.
  const remote = store ? await allKeys(backend, store.id, prefix) : [];
  const remoteSizes = new Map(remote.map((item) => [item.key, item.size]));
  const summary: SyncSummary = {
    command: 'push',
    store: { id: store?.id ?? null, name: store?.name ?? null },
    dir,
    prefix: prefix || null,
    dryRun,
    transferred: [],
    unchanged: [],
    deleted: [],
    skipped: plan.skipped,
    failed: [],
    exitCode: 0,
  };

  const planned = new Set(plan.files.map((file) => file.key));
  const extras = options.delete
    ? remote.filter(({ key }) => !planned.has(key) && !plan.protectedKeys.has(key) && isIncluded(key.slice(prefix.length), filters))
    : [];

  const isUnchanged = async (file: PlannedFile): Promise<boolean> => {
    if (!store || remoteSizes.get(file.key) !== file.size) return false;
    const digest = await backend.recordDigest(store.id, file.key);
    if (!digest || digest.size !== file.size || !sameContentType(digest.contentType, file.contentType)) return false;
    return (await md5OfFile(file.path)) === digest.md5;
  };

  progress.start(plan.files.length + extras.length, plan.files.reduce((sum, file) => sum + file.size, 0));
  await runAll(plan.files, options.concurrency, async (file) => {
    const { path: filePath, ...entry } = file;
    const as = file.key === file.file ? '' : ` as ${file.key}`;
    try {
      if (await isUnchanged(file)) {
        summary.unchanged.push(entry);
        progress.item(`unchanged ${file.file}`, file.file, file.size);
        return;
      }
      if (!dryRun) {
        const onProgress = (loaded: number) => progress.moved(file.file, loaded);
        await backend.putRecord(store!.id, file.key, { path: filePath, size: file.size }, file.contentType, { onProgress });
      }
      summary.transferred.push(entry);
      progress.item(`${dryRun ? '(dry run) upload' : 'uploaded'} ${file.file}${as} (${file.size} bytes, ${file.contentType})`, file.file, file.size);
    } catch (error) {
      progress.dropped(file.file);
      summary.failed.push({ file: file.file, key: file.key, reason: reasonOf(error) });
      output.problem(`failed ${file.file}${as}: ${reasonOf(error)}`);
    }
  });

  const deleteLines: string[] = [];
  if (dryRun) {
    for (const { key } of extras) {
      summary.deleted.push({ key });
      deleteLines.push(`(dry run) delete ${key}`);
    }
  } else if (extras.length > 0 && summary.failed.length > 0) {
    summary.deleteNotDone = 'some uploads failed, so no record was deleted';
    output.problem(`--delete: ${summary.deleteNotDone}`);
  } else {
    await runAll(extras, options.concurrency, async ({ key }) => {
      try {
        await backend.deleteRecord(store!.id, key);
        summary.deleted.push({ key });
        progress.item(`deleted ${key}`, key);
      } catch (error) {
        summary.failed.push({ key, reason: reasonOf(error) });
        output.problem(`failed to delete ${key}: ${reasonOf(error)}`);
      }
    });
  }
  progress.stop(deleteLines.sort());
  return finish(summary);
}
