/** Runs the built `apify-kv` binary as a user would, with a clean environment. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { StartServerOptions } from '../../src/server/index.js';
import { freshTestStorageOptions } from '../server/helpers.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/cli/index.js');

/** `npm test` builds first; a bare `vitest run` builds only when there is no build at all. */
export function ensureBuilt(): void {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8. */
  out: string;
}

/**
 * Runs `apify-kv ARGS`. Only PATH, HOME and the given variables are passed on, so a token or API
 * URL in the outer environment cannot change the target.
 */
export function runCli(args: string[], options: { env?: Record<string, string>; input?: Buffer | string; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, out: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading stdin
    child.stdin.end(options.input ?? '');
  });
}

const dirs: string[] = [];

/**
 * Storage options for an API server the CLI suites talk to (over `--api-url`): a fresh temp
 * folder, or a fresh S3 prefix when the test file runs its servers over S3 (test/s3/cli.test.ts).
 */
export async function apiServerStorage(): Promise<Partial<StartServerOptions>> {
  return (await freshTestStorageOptions()) ?? { storageDir: await tempDir() };
}

export async function tempDir(prefix = 'kv-cli-'): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((dir) => fsp.rm(dir, { recursive: true, force: true })));
}

/** Random bytes that are the same on every run. */
export function pseudoRandomBytes(size: number, seed = 1): Buffer {
  const buffer = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buffer[i] = x & 0xff;
  }
  return buffer;
}
