/**
 * Finishing or undoing record writes cut short by a crash or a power loss (see the write
 * protocol in `record-writes.ts`), then emptying the temp folder. Runs when a store is opened.
 *
 * A write renames `{stem}.data` into place and then `{stem}.meta`. A `.meta` left behind
 * whose body is the one in place (same size and MD5) belongs there: the body moved and the
 * sidecar did not, so it is put in place too, keeping the content type consistent with the
 * body. This is decided by content, not by whether `.data` is still listed in the temp
 * folder: a file system need not make a rename's two folder changes durable together.
 * Any other leftover is dropped: that write never became visible. Temp files of a writer
 * still running (this process, or another on the same folder) are left alone.
 */
import { fileEtag } from './file-stream.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { isNotFound } from './fs-utils.js';
import { childPath, dataFileName, fileStemFor, isStemOf, sidecarFileName, TEMP_DIR_NAME } from './layout.js';
import { readSidecar, statRecordFile } from './describe.js';
import type { RecordMetadataFile } from './record-metadata.js';
import { isWriterAlive } from './temp-owner.js';
import { isValidKey } from '../validation.js';

/** Temp files of a record write: `{stem}.data` (the body) and `{stem}.meta` (its sidecar). */
export const TEMP_DATA_SUFFIX = '.data';
export const TEMP_META_SUFFIX = '.meta';

/** `isAlive` tells whether a temp file's writer may still be writing it (a test after a simulated reboot says none is). */
export async function recoverTempFolder(storeDir: string, fs: FsLayer = nodeFs, isAlive: (name: string) => boolean = isWriterAlive): Promise<void> {
  const tempDir = childPath(storeDir, TEMP_DIR_NAME);
  let names: string[];
  try {
    names = (await fs.readdir(tempDir)).filter((dirent) => dirent.isFile()).map((dirent) => dirent.name);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  let changed = false;
  for (const name of names) {
    // A live writer's (another process on this folder, or this one) is not ours to settle.
    if (!name.endsWith(TEMP_META_SUFFIX) || isAlive(name)) continue;
    const metaPath = childPath(tempDir, name);
    const meta = await readSidecar(fs, metaPath);
    if (meta && (await bodyMatches(fs, storeDir, meta))) {
      const sidecarPath = childPath(storeDir, sidecarFileName(sidecarStem(meta)));
      const replaced = await supersededBody(fs, storeDir, sidecarPath, meta);
      await fs.rename(metaPath, sidecarPath);
      // The write changed the extension: the old body is ours (our sidecar gives its size and
      // ETag) and older than the one that replaced it.
      if (replaced) await fs.remove(replaced);
      changed = true;
    } else {
      await fs.remove(metaPath);
    }
  }
  // Whatever is left (bodies never committed, store metadata temp files) is garbage.
  for (const dirent of await fs.readdir(tempDir)) {
    if (dirent.isFile() && !isAlive(dirent.name)) await fs.remove(childPath(tempDir, dirent.name));
  }
  if (changed) await fs.syncDir(storeDir);
}

/** The stem a sidecar's record uses: the key's usual one unless it names its hashed one (a case twin's). */
export function sidecarStem(meta: RecordMetadataFile): string {
  return meta.stem !== undefined && isStemOf(meta.key, meta.stem) ? meta.stem : fileStemFor(meta.key);
}

async function bodyMatches(fs: FsLayer, storeDir: string, meta: RecordMetadataFile): Promise<boolean> {
  if (!isValidKey(meta.key)) return false;
  const file = childPath(storeDir, dataFileName(sidecarStem(meta), meta.extension));
  const stats = await statRecordFile(fs, file);
  if (!stats || (meta.size !== undefined && stats.size !== meta.size)) return false;
  return meta.size !== undefined && meta.etag !== undefined && (await fileEtag(file, fs)) === meta.etag;
}

/**
 * The data file our sidecar at `sidecarPath` describes, when it is not the one `meta` puts in
 * place and still is exactly what that sidecar says (size and ETag): a body of ours that the
 * write being finished replaced. `null` otherwise.
 */
async function supersededBody(fs: FsLayer, storeDir: string, sidecarPath: string, meta: RecordMetadataFile): Promise<string | null> {
  const old = await readSidecar(fs, sidecarPath);
  if (!old || old.key !== meta.key || old.extension === meta.extension || old.etag === undefined) return null;
  const file = childPath(storeDir, dataFileName(sidecarStem(old), old.extension));
  const stats = await statRecordFile(fs, file);
  if (!stats || stats.size !== old.size) return null;
  return (await fileEtag(file, fs)) === old.etag ? file : null;
}
