/**
 * Temp file names that say who is writing them: `{pid}-{start}-{time}-{random}`, where
 * `start` is when that process started (Linux: its start time in clock ticks since boot,
 * from /proc). Crash recovery settles only temp files whose writer is gone, so a second
 * process opening a folder (the CLI, an SDK script, a second server) never takes a live
 * writer's files for a dead one's. A pid reused by a later process has another start time.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Where start times cannot be read: only the pid is checked. */
const UNKNOWN_START = '0';
const OWNED_NAME = /^(\d+)-([0-9a-z]+)-/;

/** Start time of process `pid` (base 36), or `null` when it does not exist; UNKNOWN_START without /proc. */
function startTimeOf(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return process.platform === 'linux' ? null : existsByKill(pid);
    return existsByKill(pid);
  }
  // Field 22, counted after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[19];
  return ticks && /^\d+$/.test(ticks) ? Number(ticks).toString(36) : UNKNOWN_START;
}

function existsByKill(pid: number): string | null {
  try {
    process.kill(pid, 0);
    return UNKNOWN_START;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? UNKNOWN_START : null;
  }
}

const ownStart = startTimeOf(process.pid) ?? UNKNOWN_START;

/** A unique temp file stem naming this process as its writer. */
export function ownedTempStem(): string {
  return `${process.pid}-${ownStart}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/**
 * Whether the process that named this temp file may still be writing it: it exists and, where
 * start times are known, is the same process. Names of another form (older versions) have no
 * known writer: false.
 */
export function isWriterAlive(name: string): boolean {
  const match = OWNED_NAME.exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  const start = match[2]!;
  if (pid === process.pid) return start === ownStart;
  const current = startTimeOf(pid);
  if (current === null) return false;
  return start === UNKNOWN_START || current === UNKNOWN_START || current === start;
}
