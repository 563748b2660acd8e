/**
 * What the index learns about a record lazily: its size and inode (a stat), and its exact
 * content type, ETag and time (its sidecar, when it has one).
 */
import { fileEtag } from './file-stream.js';
import type { FsLayer, FsStats } from './fs-layer.js';
import { isNotFound } from './fs-utils.js';
import { childPath, RECORD_METADATA_SUFFIX } from './layout.js';
import { contentTypeOfExtension, dataFileOf, intern, RecordEntry } from './record-entry.js';
import { parseRecordMetadata, type RecordMetadataFile } from './record-metadata.js';

/** The data file's stats, or `null` when it is gone or not a regular file (symlinks are not followed). */
export async function statRecordFile(fs: FsLayer, file: string): Promise<FsStats | null> {
  try {
    const stats = await fs.lstat(file);
    return stats.isFile() ? stats : null;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export async function readSidecar(fs: FsLayer, file: string): Promise<RecordMetadataFile | null> {
  try {
    return parseRecordMetadata(JSON.parse((await fs.readFile(file)).toString('utf8')));
  } catch {
    return null;
  }
}

/**
 * Fills in what a read needs from `stats` (the data file as it is now) and the sidecar.
 * A sidecar that names another extension is stale and ignored; its ETag counts only while
 * the file still has the size it described.
 */
export async function describeEntry(fs: FsLayer, storeDir: string, entry: RecordEntry, stats: FsStats): Promise<void> {
  const sidecar = entry.hasSidecar ? await readSidecar(fs, childPath(storeDir, entry.stem + RECORD_METADATA_SUFFIX)) : null;
  applyStats(entry, stats);
  // A data file named after the key alone (`page.html`, as Crawlee writes) is the sidecar's too.
  if (sidecar && sidecar.key === entry.key && (sidecar.extension === entry.ext || entry.ext === null)) {
    entry.contentType = intern(sidecar.contentType);
    if (entry.etag === undefined) takeSidecarEtag(entry, sidecar, stats);
    const modified = sidecar.modifiedAt ? Date.parse(sidecar.modifiedAt) : NaN;
    if (!Number.isNaN(modified)) entry.modifiedMs = modified;
  } else {
    entry.contentType = contentTypeOfExtension(entry.ext);
  }
  if (Number.isNaN(entry.modifiedMs)) entry.modifiedMs = stats.mtimeMs;
}

/**
 * Takes the sidecar's ETag for the file in the state `stats` describes when the sidecar can
 * vouch for it: same size, and the file not modified after the sidecar's time (a same-size
 * rewrite in place by another program keeps the size; its mtime is later). Our write takes
 * that time once the body is whole, so the body's mtime is never later (1 ms: rounding).
 */
export function takeSidecarEtag(entry: RecordEntry, sidecar: RecordMetadataFile, stats: FsStats): void {
  const modified = sidecar.modifiedAt ? Date.parse(sidecar.modifiedAt) : NaN;
  if (sidecar.etag === undefined || sidecar.size !== stats.size || !(stats.mtimeMs < modified + 1)) return;
  entry.etag = sidecar.etag;
  entry.etagMtimeMs = stats.mtimeMs;
  entry.etagCtimeMs = stats.ctimeMs ?? NaN;
}

/** Takes size and inode from a stat; a file that changed since drops what was known of its content. */
export function applyStats(entry: RecordEntry, stats: FsStats): void {
  if (entry.ino !== -1 && (entry.ino !== stats.ino || entry.size !== stats.size)) {
    entry.etag = undefined;
    entry.modifiedMs = stats.mtimeMs;
  }
  entry.size = stats.size;
  entry.ino = stats.ino;
}

export async function ensureEtag(fs: FsLayer, storeDir: string, entry: RecordEntry): Promise<string> {
  entry.etag ??= await fileEtag(childPath(storeDir, entry.fileName), fs);
  return entry.etag;
}

/**
 * A key with several candidate data files; `stem` is where its sidecar sits. With a sidecar
 * naming one of them (or a file named after the key alone, as Crawlee writes), that one is
 * current and the others are leftovers of one of our writes that changed the file name:
 * removed, unless the scan is read-only or the sidecar is another program's (only ours carry
 * an ETag). Without, the newest file wins and the content type comes from its extension.
 */
export async function describeWithFiles(
  fs: FsLayer,
  storeDir: string,
  key: string,
  stem: string,
  hasSidecar: boolean,
  files: Array<{ stem: string; ext: string | null }>,
  options: { readOnly?: boolean } = {},
): Promise<RecordEntry | null> {
  const longStem = stem === key ? undefined : stem;
  const sidecar = hasSidecar ? await readSidecar(fs, childPath(storeDir, stem + RECORD_METADATA_SUFFIX)) : null;
  const currentExt =
    sidecar && sidecar.key === key
      ? files.some((file) => file.stem === stem && file.ext === sidecar.extension)
        ? sidecar.extension
        : files.some((file) => file.stem === stem && file.ext === null)
          ? null
          : undefined
      : undefined;
  if (sidecar && currentExt !== undefined) {
    const current = dataFileOf(stem, currentExt);
    if (!options.readOnly && sidecar.etag !== undefined) {
      for (const file of files) {
        const name = dataFileOf(file.stem, file.ext);
        if (name !== current) await fs.remove(childPath(storeDir, name));
      }
    }
    const stats = await statRecordFile(fs, childPath(storeDir, current));
    if (!stats) return null;
    const entry = new RecordEntry(key, currentExt === null ? null : intern(currentExt), true, longStem);
    await describeEntry(fs, storeDir, entry, stats);
    return entry;
  }
  let best: RecordEntry | null = null;
  let bestMtime = -Infinity;
  for (const file of files) {
    const stats = await statRecordFile(fs, childPath(storeDir, dataFileOf(file.stem, file.ext)));
    if (!stats || stats.mtimeMs <= bestMtime) continue;
    bestMtime = stats.mtimeMs;
    best = new RecordEntry(key, file.ext, false, file.stem === key ? undefined : file.stem);
    applyStats(best, stats);
    best.contentType = contentTypeOfExtension(file.ext);
    best.modifiedMs = stats.mtimeMs;
  }
  return best;
}
