/**
 * Building a store's index from its folder in one sorted pass: list the folder, parse and
 * sort the names, group each key's files, and build the tree in order. Nothing is read or
 * statted per record unless a key's files disagree (two data files, a long key's hashed
 * name): sizes are taken later (see `describe.ts`). The loop yields to the event loop every
 * few thousand names, so a big folder never stalls other requests for long.
 *
 * Tolerant of folders written by Crawlee or by hand (record files only, no metadata).
 */
import { compareKeys } from './key-index.js';
import type { FsLayer } from './fs-layer.js';
import { isLongKeyStem, isStemOf, parseFileName, sidecarFileName, childPath } from './layout.js';
import { dataFileOf, intern, RecordEntry } from './record-entry.js';
import { isValidKey } from '../validation.js';
import { describeWithFiles, readSidecar, statRecordFile, type Leftover } from './describe.js';

/** How many names to handle between two yields to the event loop. */
const SLICE = 4096;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A record file found in the folder. */
interface FoundFile {
  stem: string;
  /** `undefined` for the sidecar, `null` for a data file without extension. */
  ext: string | null | undefined;
}

export interface ScanResult {
  /** In key order; one per key. */
  entries: RecordEntry[];
  /** Keys whose files need a closer look (long keys, two data files): resolved by `resolveConflicts`. */
  conflicts: Array<{ stem: string; files: FoundFile[] }>;
}

/** Lists and groups a store folder's record files. */
export async function scanRecordFiles(fs: FsLayer, storeDir: string): Promise<ScanResult> {
  const dirents = await fs.readdir(storeDir);
  const found: FoundFile[] = [];
  for (let i = 0; i < dirents.length; i++) {
    if (i % SLICE === SLICE - 1) await yieldToEventLoop();
    const dirent = dirents[i]!;
    if (!dirent.isFile()) continue;
    const parsed = parseFileName(dirent.name);
    if (parsed.kind === 'store-metadata' || !(isValidKey(parsed.stem) || isLongKeyStem(parsed.stem))) continue;
    found.push({
      stem: parsed.stem,
      ext: parsed.kind === 'record-metadata' ? undefined : parsed.ext === null ? null : intern(parsed.ext),
    });
  }
  adoptKeyNamedFiles(found);
  // Stems are keys or long keys' stems: ASCII, so `compareKeys` is the UTF-8 order.
  const sorted = await sortInSlices(found, (a, b) => compareKeys(a.stem, b.stem));

  const entries: RecordEntry[] = [];
  const conflicts: ScanResult['conflicts'] = [];
  for (let i = 0; i < sorted.length; ) {
    if (entries.length % SLICE === SLICE - 1) await yieldToEventLoop();
    const stem = sorted[i]!.stem;
    let end = i + 1;
    while (end < sorted.length && sorted[end]!.stem === stem) end++;
    const files = sorted.slice(i, end);
    i = end;
    const data = files.filter((file) => file.ext !== undefined);
    if (data.length === 1 && !isLongKeyStem(stem)) {
      entries.push(new RecordEntry(stem, data[0]!.ext!, data.length < files.length));
    } else {
      conflicts.push({ stem, files });
    }
  }
  return { entries, conflicts };
}

/**
 * Crawlee names a record's file after the key alone when the key's own extension fits the
 * content type (key `page.html`, text/html: file `page.html`, sidecar
 * `page.html.__metadata__.json`). Such a file belongs to the sidecar's key, not to `page`:
 * it is regrouped under that stem, without extension.
 */
function adoptKeyNamedFiles(found: FoundFile[]): void {
  const dataStems = new Set<string>();
  for (const file of found) if (file.ext !== undefined) dataStems.add(file.stem);
  const orphans = found.filter((file) => file.ext === undefined && !dataStems.has(file.stem) && isValidKey(file.stem));
  if (orphans.length === 0) return;
  const byName = new Map<string, FoundFile>();
  for (const file of found) if (file.ext !== undefined) byName.set(dataFileOf(file.stem, file.ext), file);
  for (const sidecar of orphans) {
    const file = byName.get(sidecar.stem);
    if (!file || file.stem === sidecar.stem) continue;
    file.stem = sidecar.stem;
    file.ext = null;
  }
}

/**
 * Settles the keys `scanRecordFiles` could not: a long key's files (named by a hash; the key
 * is in the sidecar), a key with two data files (the newest wins: see `describeWithFiles`), or
 * a sidecar whose body is gone (a delete cut short, or another program removed the body).
 * Calls `add` for each record found; `existing` gives a plain-named entry of the same key, if
 * any (a long key Crawlee wrote under its own name). Removes nothing: files of ours that lost
 * (and our sidecars without a body) are passed to `leftover`, for the write path to remove.
 */
export async function resolveConflicts(
  fs: FsLayer,
  storeDir: string,
  conflicts: ScanResult['conflicts'],
  existing: (key: string) => RecordEntry | undefined,
  add: (entry: RecordEntry) => void,
  leftover: (file: Leftover) => void = () => {},
): Promise<void> {
  for (const { stem, files } of conflicts) {
    const hasSidecar = files.some((file) => file.ext === undefined);
    const data = files.filter((file) => file.ext !== undefined).map((file) => ({ stem, ext: file.ext as string | null }));
    let key = stem;
    if (isLongKeyStem(stem)) {
      const sidecarKey = hasSidecar ? await readSidecarKey(fs, childPath(storeDir, `${stem}.__metadata__.json`)) : null;
      if (sidecarKey === null || !isStemOf(sidecarKey, stem)) continue;
      key = sidecarKey;
      const plain = existing(key);
      if (plain && !plain.longStem) data.push({ stem: key, ext: plain.ext });
    }
    if (data.length === 0) {
      // Our metadata of a record whose body is gone. Another program's sidecar (no ETag) is
      // not ours to remove, ever.
      if (hasSidecar) {
        const fileName = sidecarFileName(stem);
        const file = childPath(storeDir, fileName);
        const stats = await statRecordFile(fs, file);
        if (stats && (await readSidecar(fs, file))?.etag !== undefined) {
          const sidecarKey = await readSidecarKey(fs, file);
          if (sidecarKey !== null) leftover({ key: sidecarKey, fileName, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs });
        }
      }
      continue;
    }
    const { entry, leftovers } = await describeWithFiles(fs, storeDir, key, stem, hasSidecar, data);
    if (entry) add(entry);
    for (const file of leftovers) leftover(file);
  }
}

async function readSidecarKey(fs: FsLayer, file: string): Promise<string | null> {
  try {
    const raw = JSON.parse((await fs.readFile(file)).toString('utf8')) as { key?: unknown };
    return typeof raw?.key === 'string' && isValidKey(raw.key) ? raw.key : null;
  } catch {
    return null;
  }
}

/** Sorts in runs, then merges them, yielding between steps. */
export async function sortInSlices<T>(items: T[], compare: (a: T, b: T) => number): Promise<T[]> {
  let runs: T[][] = [];
  for (let i = 0; i < items.length; i += SLICE) {
    runs.push(items.slice(i, i + SLICE).sort(compare));
    await yieldToEventLoop();
  }
  while (runs.length > 1) {
    const merged: T[][] = [];
    for (let i = 0; i < runs.length; i += 2) {
      const a = runs[i]!;
      const b = runs[i + 1];
      merged.push(b ? await merge(a, b, compare) : a);
    }
    runs = merged;
  }
  return runs[0] ?? [];
}

async function merge<T>(a: T[], b: T[], compare: (a: T, b: T) => number): Promise<T[]> {
  const out = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    out[k++] = compare(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
    if (k % (SLICE * 8) === 0) await yieldToEventLoop();
  }
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
