/** The process's limit on open files, which bounds what the server and its storage keep open. */
import { readFileSync } from 'node:fs';

/**
 * The soft limit on open files of this process ("Max open files" in `/proc/self/limits`), or
 * `undefined` where it cannot be read (not Linux) or is unlimited.
 */
export function openFilesLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'latin1');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)/m.exec(text);
  if (!match || !/^\d+$/.test(match[1]!)) return undefined;
  return Number(match[1]);
}
