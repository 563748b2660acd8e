/**
 * Partial downloads: `pull` and `get -o` write into `.apify-kv-partial~PID-RANDOM` next to the
 * target and rename it into place when complete. The files of this process are removed on
 * SIGINT / SIGTERM or a closed stdout (see guard.ts); those left by a killed run (whose process
 * is gone) are removed by the next run that writes into the same folder. `~` cannot occur in a
 * key, so push never takes one for a record.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, rmSync } from 'node:fs';
import path from 'node:path';

export const PARTIAL_PREFIX = '.apify-kv-partial~';

const live = new Set<string>();

export function isPartialName(name: string): boolean {
  return name.startsWith(PARTIAL_PREFIX);
}

/** A new partial file path in `dir`, tracked until {@link releasePartial}. */
export function newPartial(dir: string): string {
  const file = path.join(dir, `${PARTIAL_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  live.add(file);
  return file;
}

/** Removes a partial file (if still there) and stops tracking it. */
export async function releasePartial(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
  live.delete(file);
}

/** Marks a partial file as renamed into place: nothing to remove any more. */
export function partialDone(file: string): void {
  live.delete(file);
}

/** Removes this process's partial files at once (from a signal handler: no waiting there). */
export function removeLivePartialsSync(): void {
  for (const file of live) rmSync(file, { force: true });
  live.clear();
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * The partial files in `dir` whose writer is gone (a killed run), or that predate the PID in
 * the name. With `remove`, deletes them. A running writer's files are left alone.
 */
export async function stalePartials(dir: string, options: { remove: boolean }): Promise<string[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const stale: string[] = [];
  for (const name of names) {
    if (!isPartialName(name)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(PARTIAL_PREFIX.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) continue;
    if (Number.isInteger(pid) && pid === process.pid && live.has(path.join(dir, name))) continue;
    if (options.remove) await fsp.rm(path.join(dir, name), { force: true });
    stale.push(name);
  }
  return stale;
}
