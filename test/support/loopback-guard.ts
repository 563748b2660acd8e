/**
 * Runs third-party tools with `loopback-guard.mjs` preloaded: what a child process needs in its
 * environment, and what the guard recorded.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const GUARD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'loopback-guard.mjs');

/** Variables that preload the guard into a node process (and the node processes it starts). */
export function guardEnv(logFile: string): Record<string, string> {
  return { NODE_OPTIONS: `--import=${pathToFileURL(GUARD).href}`, LOOPBACK_GUARD_LOG: logFile };
}

export interface GuardLog {
  /** Processes the guard was loaded into (their pids). */
  armed: number[];
  /** What was refused, e.g. `connect 1.1.1.1:443`, `lookup api.apify.com`. */
  refused: string[];
  /** Child processes started (`spawn git`, ...). */
  children: string[];
}

export async function readGuardLog(logFile: string): Promise<GuardLog> {
  const text = await fsp.readFile(logFile, 'utf8').catch(() => '');
  const log: GuardLog = { armed: [], refused: [], children: [] };
  for (const line of text.split('\n').filter(Boolean)) {
    const [kind, ...rest] = line.split(' ');
    if (kind === 'armed') log.armed.push(Number(rest[0]));
    else if (kind === 'refused') log.refused.push(rest.join(' '));
    else if (kind === 'child') log.children.push(rest.join(' '));
  }
  return log;
}
