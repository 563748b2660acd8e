/**
 * Two processes writing one key at once can cross: one's body moves in place, then the other's
 * sidecar beside it. A writer looks before and right after moving its sidecar, and takes its
 * sidecar back when the body there is not its own (see `sidecarFits` in describe.ts).
 */
import { readSidecar, statRecordFile } from './describe.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { childPath } from './layout.js';
import { lstatRecent } from './record-reader.js';

/**
 * Whether the data file `fileName` in `dir` is no longer the body we moved there (inode `ino`).
 * Every put asks twice, so on the real file system the file we just renamed is looked at on
 * this thread (see `lstatRecent`), not through the thread pool.
 */
export async function bodyReplaced(fs: FsLayer, dir: string, fileName: string, ino: number): Promise<boolean> {
  const file = childPath(dir, fileName);
  const stats = fs === nodeFs ? ((await lstatRecent(file)) ?? null) : await statRecordFile(fs, file);
  return stats !== null && stats.isFile() && stats.ino !== ino;
}

/** Removes the sidecar at `file` if it is still the one we wrote for the body of inode `ino`. */
export async function removeOwnSidecar(fs: FsLayer, file: string, ino: number): Promise<void> {
  const sidecar = await readSidecar(fs, file);
  if (sidecar?.inode === ino) await fs.remove(file);
}
