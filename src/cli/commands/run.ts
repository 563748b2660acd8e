import type { StorageBackend } from '../../sdk/backend.js';
import { openTarget, type TargetOptions } from '../target.js';

/** Secrets seen while running, removed from anything printed on failure. */
export const secrets: string[] = [];

/** Opens the target, runs the command on it, and always closes it (the local engine flushes metadata). */
export async function withTarget(options: TargetOptions, run: (backend: StorageBackend) => Promise<void>): Promise<void> {
  const target = await openTarget(options);
  secrets.push(...target.secrets);
  try {
    await run(target.backend);
  } finally {
    await target.backend.close();
  }
}
