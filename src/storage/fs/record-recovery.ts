/**
 * Finishing or undoing record writes cut short by a crash or a power loss (see the write
 * protocol in `store-records.ts`), then emptying the temp folder. Runs when a store is opened.
 *
 * A write renames `{stem}.data` into place and then `{stem}.meta`. If the `.data` file is
 * still in the temp folder, nothing visible changed: both are dropped. If only `.meta` is
 * left, the body was already renamed, so the sidecar is put in place too (after checking the
 * body really is the one it describes), keeping the content type consistent with the body.
 */
import { fileEtag } from './file-stream.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { isNotFound } from './fs-utils.js';
import { childPath, dataFileName, fileStemFor, recordMetadataFileName, TEMP_DIR_NAME } from './layout.js';
import { readSidecar, statRecordFile } from './describe.js';
import type { RecordMetadataFile } from './record-metadata.js';
import { isValidKey } from '../validation.js';

/** Temp files of a record write: `{stem}.data` (the body) and `{stem}.meta` (its sidecar). */
export const TEMP_DATA_SUFFIX = '.data';
export const TEMP_META_SUFFIX = '.meta';

export async function recoverTempFolder(storeDir: string, fs: FsLayer = nodeFs): Promise<void> {
  const tempDir = childPath(storeDir, TEMP_DIR_NAME);
  let names: string[];
  try {
    names = (await fs.readdir(tempDir)).filter((dirent) => dirent.isFile()).map((dirent) => dirent.name);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const present = new Set(names);
  let changed = false;
  for (const name of names) {
    if (!name.endsWith(TEMP_META_SUFFIX)) continue;
    const stem = name.slice(0, -TEMP_META_SUFFIX.length);
    const metaPath = childPath(tempDir, name);
    if (!present.has(stem + TEMP_DATA_SUFFIX)) {
      const meta = await readSidecar(fs, metaPath);
      if (meta && (await bodyMatches(fs, storeDir, meta))) {
        await fs.rename(metaPath, childPath(storeDir, recordMetadataFileName(meta.key)));
        changed = true;
        continue;
      }
    }
    await fs.remove(metaPath);
  }
  // Whatever is left (bodies never committed, store metadata temp files) is garbage.
  for (const dirent of await fs.readdir(tempDir)) {
    if (dirent.isFile()) await fs.remove(childPath(tempDir, dirent.name));
  }
  if (changed) await fs.syncDir(storeDir);
}

async function bodyMatches(fs: FsLayer, storeDir: string, meta: RecordMetadataFile): Promise<boolean> {
  if (!isValidKey(meta.key)) return false;
  const file = childPath(storeDir, dataFileName(fileStemFor(meta.key), meta.extension));
  const stats = await statRecordFile(fs, file);
  if (!stats || (meta.size !== undefined && stats.size !== meta.size)) return false;
  return meta.etag === undefined || (await fileEtag(file, fs)) === meta.etag;
}
