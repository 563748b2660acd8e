/** Runs an example as a user would: its own process, a clean environment, an empty working folder. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BIN, ROOT } from '../cli/helpers.js';

export const EXAMPLES = path.join(ROOT, 'examples');

export interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** A temp folder with an `apify-kv` on its PATH (the built binary), as after `npm install -g`. */
export function workDir(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'apify-kv-example-'));
  const bin = path.join(dir, '.bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'apify-kv'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(path.join(bin, 'apify-kv'), 0o755);
  const pathVar = [bin, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
  return { dir, env: { PATH: pathVar, HOME: dir } };
}

export function start(command: string, args: string[], options: { cwd: string; env: Record<string, string> }): ChildProcess {
  return spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function run(command: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = start(command, args, options);
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
