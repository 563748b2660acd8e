/**
 * What the index learns about a record lazily: its size and inode (a stat), and its exact
 * content type, ETag and time (its sidecar, when it has one).
 */
import { fileEtag } from './file-stream.js';
import { nodeFs, type FsLayer, type FsStats } from './fs-layer.js';
import { isNotFound } from './fs-utils.js';
import { childPath, RECORD_METADATA_SUFFIX } from './layout.js';
import { contentTypeOfExtension, dataFileOf, intern, RecordEntry } from './record-entry.js';
import { lstatRecent } from './record-reader.js';
import { parseRecordMetadata, type RecordMetadataFile, type SidecarOnDisk } from './record-metadata.js';

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

/** The sidecar at `file`, `null` when it is missing or unusable; Crawlee's with its file's mtime. */
/**
 * As `statRecordFile`, for a file whose metadata was in use moments ago (one we just renamed
 * into place, or one a watch event just named): on the real file system it is looked at on this
 * thread rather than through the thread pool (see `lstatRecent`).
 */
export async function statRecentRecordFile(fs: FsLayer, file: string): Promise<FsStats | null> {
  if (fs !== nodeFs) return statRecordFile(fs, file);
  const stats = await lstatRecent(file);
  return stats?.isFile() ? stats : null;
}

export async function readSidecar(fs: FsLayer, file: string): Promise<SidecarOnDisk | null> {
  let parsed;
  try {
    parsed = parseRecordMetadata(JSON.parse((await fs.readFile(file)).toString('utf8')));
  } catch {
    return null;
  }
  if (!parsed) return null;
  const { crawlee, ...sidecar } = parsed;
  if (!crawlee || sidecar.inode !== undefined) return sidecar;
  // Statted after the read: a rewrite in between can only make it look newer (see `sidecarFits`).
  const stats = await fs.lstat(file).catch(() => null);
  return stats ? { ...sidecar, crawleeWrittenMs: stats.mtimeMs } : sidecar;
}

/**
 * Whether `sidecar` was written for the data file `file` as `stats` shows it now; `null` when
 * not. Ours name the body's inode: two of our writers of one key in two processes can cross
 * (one's body in place, the other's sidecar beside it), and another program can rewrite the
 * body in place. Then the sidecar describes no body there, and the record's content type falls
 * back to what its extension says (never another write's). When the inode differs but the
 * size does not (a copied folder), the body's digest decides, and is returned as its ETag.
 * Sidecars with no inode (Crawlee's, older ones of ours) are taken unless `crawleeMissedBody`.
 */
export async function sidecarFits(
  fs: FsLayer,
  file: string,
  sidecar: SidecarOnDisk,
  stats: FsStats,
  knownEtag?: string,
): Promise<{ etag?: string } | null> {
  if (sidecar.inode === undefined) return crawleeMissedBody(sidecar, stats) ? null : {};
  if (sidecar.size !== stats.size) return null;
  if (sidecar.inode === stats.ino && untouchedSince(sidecar, stats)) return {};
  if (sidecar.etag === undefined) return null;
  const etag = knownEtag ?? (await fileEtag(file, fs));
  return etag === sidecar.etag ? { etag } : null;
}

/**
 * Whether a sidecar of Crawlee's was written after `stats`' body took its place by a rename,
 * so describes another body. Crawlee (@crawlee/memory-storage 3.x) writes a record's body in
 * place (open with truncation, write), then its sidecar in place. A write sets a file's mtime
 * and ctime to the same time; a rename sets only the ctime. So a body whose mtime is earlier
 * than its ctime was moved into place after its last write (ours are), and Crawlee wrote no
 * byte into it since: the body Crawlee wrote before a sidecar written at or after that move
 * went into the file the move replaced. (Where ctime equals mtime, as on a file system with
 * coarse times when the move came within one clock tick of the write, nothing tells.)
 */
function crawleeMissedBody(sidecar: SidecarOnDisk, stats: FsStats): boolean {
  const written = sidecar.crawleeWrittenMs;
  const moved = stats.ctimeMs;
  return written !== undefined && moved !== undefined && stats.mtimeMs < moved && moved <= written;
}

/**
 * Whether the body, as `stats` shows it, was not written since our writer left it: the exact
 * mtime the sidecar gives, or (older sidecars of ours) an mtime no later than the sidecar's
 * time, which our write takes once the body is whole (1 ms: rounding).
 */
function untouchedSince(sidecar: RecordMetadataFile, stats: FsStats): boolean {
  if (sidecar.bodyMtimeMs !== undefined) return stats.mtimeMs === sidecar.bodyMtimeMs;
  const modified = sidecar.modifiedAt ? Date.parse(sidecar.modifiedAt) : NaN;
  return stats.mtimeMs < modified + 1;
}

/**
 * Fills in what a read needs from `stats` (the data file as it is now) and the sidecar.
 * A sidecar that names another extension, or was written for another body (`sidecarFits`),
 * is ignored; its ETag counts only while the file still has the size it described.
 */
export async function describeEntry(
  fs: FsLayer,
  storeDir: string,
  entry: RecordEntry,
  stats: FsStats,
  knownEtag?: string,
): Promise<void> {
  const sidecar = entry.hasSidecar ? await readSidecar(fs, childPath(storeDir, entry.stem + RECORD_METADATA_SUFFIX)) : null;
  applyStats(entry, stats);
  // A data file named after the key alone (`page.html`, as Crawlee writes) is the sidecar's too.
  const named = sidecar && sidecar.key === entry.key && (sidecar.extension === entry.ext || entry.ext === null) ? sidecar : null;
  const fits = named && (await sidecarFits(fs, childPath(storeDir, entry.fileName), named, stats, knownEtag));
  if (named && fits) {
    entry.contentType = intern(named.contentType);
    if (fits.etag !== undefined) entry.etag = fits.etag;
    if (entry.etag === undefined) takeSidecarEtag(entry, named, stats);
    const modified = named.modifiedAt ? Date.parse(named.modifiedAt) : NaN;
    if (!Number.isNaN(modified)) entry.modifiedMs = modified;
  } else {
    entry.contentType = contentTypeOfExtension(entry.ext);
  }
  if (Number.isNaN(entry.modifiedMs)) entry.modifiedMs = stats.mtimeMs;
}

/**
 * Takes the sidecar's ETag for the file in the state `stats` describes when the sidecar can
 * vouch for it: same size, and the file not written since (a same-size rewrite in place by
 * another program keeps the size; its mtime changes: see `untouchedSince`).
 */
export function takeSidecarEtag(entry: RecordEntry, sidecar: RecordMetadataFile, stats: FsStats): void {
  if (sidecar.etag === undefined || sidecar.size !== stats.size || !untouchedSince(sidecar, stats)) return;
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
 * A file of ours that lost to a newer one of the same key (see `describeWithFiles`): removed
 * by the next write or delete of that key, and only if it is still exactly this file.
 */
export interface Leftover {
  key: string;
  fileName: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Whether `a` was written after `b`: mtime, then ctime. */
export function isNewer(a: FsStats, b: FsStats): boolean {
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs > b.mtimeMs;
  return (a.ctimeMs ?? 0) > (b.ctimeMs ?? 0);
}

/**
 * A key with several candidate data files; `stem` is where its sidecar sits. The newest file
 * wins (mtime, then ctime; on a tie the one the sidecar names): another program may have
 * written the key under another extension after us (Crawlee writing `state.txt` next to our
 * `state.json`), or one of our writes that changed the extension was cut short. Nothing is
 * removed here: a file of ours that lost (our sidecar names it and it has the size the sidecar
 * gives) is returned as a leftover for the write path to remove.
 */
export async function describeWithFiles(
  fs: FsLayer,
  storeDir: string,
  key: string,
  stem: string,
  hasSidecar: boolean,
  files: Array<{ stem: string; ext: string | null }>,
): Promise<{ entry: RecordEntry | null; leftovers: Leftover[] }> {
  const sidecar = hasSidecar ? await readSidecar(fs, childPath(storeDir, stem + RECORD_METADATA_SUFFIX)) : null;
  const named = sidecar && sidecar.key === key ? sidecar : null;
  // The data file the sidecar describes: `{stem}.{ext}`, or one named after the key alone.
  const namedFile = named
    ? files.find((file) => file.stem === stem && file.ext === named.extension) ?? files.find((file) => file.stem === stem && file.ext === null)
    : undefined;
  const found: Array<{ file: { stem: string; ext: string | null }; stats: FsStats }> = [];
  for (const file of files) {
    const stats = await statRecordFile(fs, childPath(storeDir, dataFileOf(file.stem, file.ext)));
    if (stats) found.push({ file, stats });
  }
  let best: (typeof found)[number] | undefined;
  for (const candidate of found) {
    if (!best || isNewer(candidate.stats, best.stats) || (!isNewer(best.stats, candidate.stats) && candidate.file === namedFile)) {
      best = candidate;
    }
  }
  if (!best) return { entry: null, leftovers: [] };
  const { file, stats } = best;
  const entry = new RecordEntry(key, file.ext === null ? null : intern(file.ext), file.stem === stem && hasSidecar, file.stem === key ? undefined : file.stem);
  if (file === namedFile) {
    await describeEntry(fs, storeDir, entry, stats);
  } else {
    applyStats(entry, stats);
    entry.contentType = contentTypeOfExtension(file.ext);
    entry.modifiedMs = stats.mtimeMs;
  }
  const leftovers: Leftover[] = [];
  const lost = found.find((candidate) => candidate.file === namedFile && candidate !== best);
  if (lost && named?.etag !== undefined && named.size === lost.stats.size) {
    const { ino, size, mtimeMs } = lost.stats;
    leftovers.push({ key, fileName: dataFileOf(lost.file.stem, lost.file.ext), ino, size, mtimeMs });
  }
  return { entry, leftovers };
}
