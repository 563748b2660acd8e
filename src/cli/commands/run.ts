import type { StorageBackend } from '../../sdk/backend.js';
import { installSignalGuards } from '../guard.js';
import { createOutput, type Output } from '../output.js';
import { openTarget, type Access, type TargetOptions } from '../target.js';

/** Secrets seen while running, removed from anything printed on failure. */
export const secrets: string[] = [];

/**
 * Opens the target, runs the command on it, and always closes it (the local engine flushes
 * metadata). A closed stdout or a signal ends the command cleanly (guard.ts).
 */
export async function withTarget(
  options: TargetOptions,
  access: Access,
  run: (backend: StorageBackend, output: Output) => Promise<void>,
): Promise<void> {
  installSignalGuards();
  const target = await openTarget(options, access);
  secrets.push(...target.secrets);
  try {
    await run(target.backend, createOutput(options));
  } finally {
    await target.backend.close();
  }
}
