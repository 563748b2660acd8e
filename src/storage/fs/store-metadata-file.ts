/**
 * Saving a store's `__metadata__.json` in a folder other programs write too (Crawlee, the
 * Apify SDK, a second server, a person):
 *
 * - a missing file is created only if still missing (a hard link of a finished temp file, so
 *   nobody ever sees it half written, and nobody's file is replaced);
 * - a file that does not parse (torn, or being written: Crawlee truncates, then writes) is
 *   left alone: the save is skipped, the store keeps working from memory, and a later save
 *   tries again;
 * - otherwise the file is read again and merged: fields we did not change since our last save
 *   keep what is on disk now (another writer's changes), unknown fields are kept, and only
 *   our own changes are written (temp file, fsync, rename).
 *
 * Between the read and the rename another writer may still slip in a change (there is no lock
 * all writers share); the window is one rename.
 */
import path from 'node:path';

import { isNotFound, tempStem } from './fs-utils.js';
import { nodeFs, replaceFileSynced, writeNewFileSynced, type FsLayer } from './fs-layer.js';
import { childPath } from './layout.js';

/** What was on disk: a JSON object, nothing, or something that is not (yet) one. */
export type MetadataOnDisk = { kind: 'object'; data: Record<string, unknown> } | { kind: 'missing' } | { kind: 'unreadable' };

export async function readMetadataFile(file: string, fs: Pick<FsLayer, 'readFile'> = nodeFs): Promise<MetadataOnDisk> {
  let text: string;
  try {
    text = (await fs.readFile(file)).toString('utf8');
  } catch (error) {
    if (isNotFound(error)) return { kind: 'missing' };
    throw error;
  }
  try {
    const data: unknown = JSON.parse(text);
    if (data !== null && typeof data === 'object' && !Array.isArray(data)) return { kind: 'object', data: data as Record<string, unknown> };
  } catch {
    // Torn or being written.
  }
  return { kind: 'unreadable' };
}

/**
 * Saves `ours` (our fields) into `file`. `base` is what our fields were at our last save (or
 * load): a field equal to it there was not changed by us, so what is on disk now wins.
 * Returns whether the file now holds our fields (false: it was unreadable, left alone).
 */
export async function saveMetadataFile(
  tempDir: string,
  file: string,
  ours: Record<string, unknown>,
  base: Record<string, unknown>,
  fs: FsLayer = nodeFs,
): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const disk = await readMetadataFile(file, fs);
    if (disk.kind === 'unreadable') return false;
    if (disk.kind === 'missing') {
      if (await createExclusive(fs, tempDir, file, serialize(ours))) return true;
      continue; // created by someone else meanwhile: merge with theirs
    }
    await replaceFileSynced(fs, tempDir, file, serialize(merge(disk.data, ours, base)));
    return true;
  }
  return false;
}

/**
 * Creates `file` with `ours` only if nothing is there (a store whose identity was guessed from
 * its folder: it must never go over a file another program wrote). Returns whether it did.
 */
export async function createMetadataFile(tempDir: string, file: string, ours: Record<string, unknown>, fs: FsLayer = nodeFs): Promise<boolean> {
  return createExclusive(fs, tempDir, file, serialize(ours));
}

/** Fields that mean something only together: the store's owner. */
const OWNER_FIELDS = ['userId', 'username'];

/**
 * Disk's fields, overridden by each of ours that changed since `base`. The owner is merged as a
 * pair: a file with only part of it (Crawlee writes its placeholder `userId` and no `username`)
 * gets both of ours, never its `userId` beside our `username`.
 */
export function merge(disk: Record<string, unknown>, ours: Record<string, unknown>, base: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...disk };
  const ownerPartial = OWNER_FIELDS.some((field) => field in ours && !(field in disk));
  for (const [field, value] of Object.entries(ours)) {
    const unchanged = JSON.stringify(value) === JSON.stringify(base[field]);
    if (!unchanged || !(field in disk) || (ownerPartial && OWNER_FIELDS.includes(field))) merged[field] = value;
  }
  return merged;
}

function serialize(data: Record<string, unknown>): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** Creates `file` with `data` unless something is there; false if something was. */
async function createExclusive(fs: FsLayer, tempDir: string, file: string, data: string): Promise<boolean> {
  await fs.mkdir(tempDir);
  const temp = childPath(tempDir, `${tempStem()}.tmp`);
  await writeNewFileSynced(fs, temp, data);
  try {
    await fs.link(temp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
    // No hard links here: create it in place (readers may see it half written for a moment).
    try {
      await writeNewFileSynced(fs, file, data);
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw inner;
    }
  } finally {
    await fs.remove(temp);
  }
  await fs.syncDir(path.dirname(file));
  return true;
}
