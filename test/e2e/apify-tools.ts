/**
 * What the Apify CLI and Apify SDK tests share: the built `apify-kv serve --token T` as a process
 * of its own, and node programs run with a bounded time, a clean environment and the loopback
 * guard (test/support/loopback-guard.mjs) preloaded.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BIN, ROOT } from '../cli/helpers.js';
import { guardEnv } from '../support/loopback-guard.js';

export interface ServeProcess {
  url: string;
  stop(): Promise<void>;
}

/** `apify-kv serve --port 0 --storage-dir DIR --token TOKEN`, up once it prints its address. */
export async function startServe(storageDir: string, token: string, guardLog: string): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--storage-dir', storageDir, '--token', token, '--log-level', 'warn'], {
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...guardEnv(guardLog) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  // A loaded machine can take a while to load the server; a minute is the bound.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (match) return { url: match[1]!, stop };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  await exited;
  throw new Error(`apify-kv serve did not start: ${out} ${err}`);
}

export interface NodeRun {
  code: number | null;
  out: string;
  err: string;
  /** Wall-clock time of the run. */
  ms: number;
}

/**
 * Runs `node ARGS` with only PATH, the given variables and the guard's in its environment (so
 * nothing of the outer environment, a token or an API URL, can change the target), stdin empty,
 * killed after `timeoutMs`.
 */
export function runNode(args: string[], options: { env: Record<string, string>; guardLog: string; cwd: string; timeoutMs: number }): Promise<NodeRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env, ...guardEnv(options.guardLog) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      if (signal === 'SIGKILL') reject(new Error(`node ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${out}\n${err}`));
      else resolve({ code, out, err, ms });
    });
  });
}

export function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Strips terminal colours from a tool's output. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/**
 * The variables the shell block under `heading` in docs/compatibility.md exports (its
 * `export NAME=...` lines), so a test can use exactly what the guide tells users to set.
 */
export async function documentedVariables(heading: string): Promise<string[]> {
  const text = await fsp.readFile(path.join(ROOT, 'docs/compatibility.md'), 'utf8');
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`docs/compatibility.md has no heading "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))?.[1] ?? '';
  return [...block.matchAll(/^export (\w+)=/gm)].map((match) => match[1]!).sort();
}
