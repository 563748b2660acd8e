/**
 * Reading one record's files from disk without listing the folder: for records another
 * process (Crawlee, the Apify SDK, a second server) wrote since the index was built.
 */
import { isNewer, readSidecar, sidecarFits, statRecordFile, takeSidecarEtag } from './describe.js';
import type { FsLayer, FsStats } from './fs-layer.js';
import { childPath, dataFileName, isLongKeyStem, sidecarFileName } from './layout.js';
import { contentTypeOfExtension, dataFileOf, intern, RecordEntry } from './record-entry.js';

/**
 * Extensions tried for a record without a sidecar: what `mime-types` gives for the content
 * types Crawlee and the SDK write most (JSON, text, HTML, images, archives, `bin` for unknown).
 */
const COMMON_EXTENSIONS = [
  'json', 'txt', 'bin', 'html', 'xml', 'csv', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'svg',
  'pdf', 'zip', 'gz', 'js', 'md', 'yaml', 'htm', 'mhtml',
];

/**
 * The record stored under `stem`, or `null` when there is none, fully described (size,
 * inode, content type, time). Its sidecar, if any, names the data file; else the first
 * regular file found among `hints` and common extensions (the newest if several exist).
 */
export async function probeRecord(
  fs: FsLayer,
  storeDir: string,
  key: string,
  stem: string,
  hints: ReadonlyArray<string | null> = [],
): Promise<RecordEntry | null> {
  const longStem = stem === key ? undefined : stem;
  const sidecar = await readSidecar(fs, childPath(storeDir, sidecarFileName(stem)));
  if (sidecar && sidecar.key === key) {
    // The declared `{stem}.{ext}`, or Crawlee's file named after the key alone.
    let ext: string | null = sidecar.extension;
    let stats = await statRecordFile(fs, childPath(storeDir, dataFileName(stem, ext)));
    if (!stats) {
      ext = null;
      stats = await statRecordFile(fs, childPath(storeDir, stem));
    }
    // Another program may have written the key under another extension since (the event's
    // hint names it): the newer file wins.
    // (A watch event for the record's own files names no other extension: no extra look.)
    const others = hints.filter((hint): hint is string => hint !== null && hint !== ext);
    const newer = stats && others.length > 0 ? await newestOf(fs, storeDir, stem, others, stats) : null;
    if (newer) return newer.entry(key, longStem);
    if (stats) {
      const entry = new RecordEntry(key, ext === null ? null : intern(ext), true, longStem);
      entry.size = stats.size;
      entry.ino = stats.ino;
      const fits = await sidecarFits(fs, childPath(storeDir, dataFileOf(stem, ext)), sidecar, stats);
      if (fits) {
        entry.contentType = intern(sidecar.contentType);
        if (fits.etag !== undefined) entry.etag = fits.etag;
        else takeSidecarEtag(entry, sidecar, stats);
        const modified = sidecar.modifiedAt ? Date.parse(sidecar.modifiedAt) : NaN;
        entry.modifiedMs = Number.isNaN(modified) ? stats.mtimeMs : modified;
      } else {
        // Written for another body (see `sidecarFits`): the extension is all that is known.
        entry.contentType = contentTypeOfExtension(ext);
        entry.modifiedMs = stats.mtimeMs;
      }
      return entry;
    }
  }
  // A hashed stem names its key only through its sidecar.
  if (isLongKeyStem(stem)) return null;
  const candidates = [...new Set<string | null>([...hints, ...COMMON_EXTENSIONS, null])];
  const found = await Promise.all(
    candidates.map(async (ext) => ({ ext, stats: await statRecordFile(fs, childPath(storeDir, dataFileOf(stem, ext))) })),
  );
  let best: RecordEntry | null = null;
  for (const { ext, stats } of found) {
    if (!stats || (best && stats.mtimeMs <= best.modifiedMs)) continue;
    best = new RecordEntry(key, ext === null ? null : intern(ext), false, longStem);
    best.size = stats.size;
    best.ino = stats.ino;
    best.contentType = contentTypeOfExtension(ext);
    best.modifiedMs = stats.mtimeMs;
  }
  return best;
}

/** The newest of `stem`'s files with these extensions, if newer than `than`. */
async function newestOf(
  fs: FsLayer,
  storeDir: string,
  stem: string,
  exts: ReadonlyArray<string | null>,
  than: FsStats,
): Promise<{ entry: (key: string, longStem: string | undefined) => RecordEntry } | null> {
  let best: { ext: string | null; stats: FsStats } | null = null;
  for (const ext of new Set(exts)) {
    const stats = await statRecordFile(fs, childPath(storeDir, dataFileOf(stem, ext)));
    if (stats && isNewer(stats, best?.stats ?? than)) best = { ext, stats };
  }
  if (!best) return null;
  const { ext, stats } = best;
  return {
    entry: (key, longStem) => {
      const entry = new RecordEntry(key, ext === null ? null : intern(ext), true, longStem);
      entry.size = stats.size;
      entry.ino = stats.ino;
      entry.contentType = contentTypeOfExtension(ext);
      entry.modifiedMs = stats.mtimeMs;
      return entry;
    },
  };
}
