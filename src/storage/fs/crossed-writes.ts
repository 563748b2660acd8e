/**
 * Two processes writing one key at once can cross: one's body moves in place, then the other's
 * sidecar beside it. A writer looks before and right after moving its sidecar, and takes its
 * sidecar back when the body there is not its own (see `sidecarFits` in describe.ts).
 */
import { readSidecar, statRecentRecordFile } from './describe.js';
import type { FsLayer } from './fs-layer.js';
import { childPath } from './layout.js';

/**
 * Whether the data file `fileName` in `dir` is no longer the body we moved there (inode `ino`).
 * Every put asks twice: the file we just renamed is looked at on this thread where that is quick.
 */
export async function bodyReplaced(fs: FsLayer, dir: string, fileName: string, ino: number): Promise<boolean> {
  const stats = await statRecentRecordFile(fs, childPath(dir, fileName));
  return stats !== null && stats.ino !== ino;
}

/** Removes the sidecar at `file` if it is still the one we wrote for the body of inode `ino`. */
export async function removeOwnSidecar(fs: FsLayer, file: string, ino: number): Promise<void> {
  const sidecar = await readSidecar(fs, file);
  if (sidecar?.inode === ino) await fs.remove(file);
}
