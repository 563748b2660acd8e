/** A second writing process on a storage folder (see fixtures/second-writer.ts), driven line by line. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { build } from 'esbuild';
import { afterAll, beforeAll } from 'vitest';

import { makeTempDir, removeDir } from '../helpers.js';

/** Bundles the writer into `dir`; returns the script's path. */
export async function buildSecondWriter(dir: string): Promise<string> {
  const script = path.join(dir, 'second-writer.mjs');
  await build({
    entryPoints: [path.join(import.meta.dirname, '..', 'fixtures', 'second-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: script,
    logLevel: 'silent',
    // Bundled CommonJS dependencies call require(): give the ES module one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return script;
}

/**
 * Builds the writer once for the enclosing suite (in `beforeAll`, into a temp folder removed in
 * `afterAll`). Returns the script's path as a getter: it is known once the tests run.
 */
export function useSecondWriter(): () => string {
  let dir: string | undefined;
  let script: string | undefined;
  beforeAll(async () => {
    dir = await makeTempDir();
    script = await buildSecondWriter(dir);
  });
  afterAll(async () => {
    if (dir) await removeDir(dir);
  });
  return () => {
    if (script === undefined) throw new Error('The second writer is built before the tests: ask for it inside one.');
    return script;
  };
}

export interface SecondWriter {
  /** Resolves with `ok` once the other process acknowledged the write, or with its error. */
  put(store: string, key: string, contentType: string, value: string): Promise<string>;
  /** Closes its storage and waits for it to exit. */
  quit(): Promise<void>;
}

export async function startSecondWriter(script: string, storageDir: string): Promise<SecondWriter> {
  const child = spawn(process.execPath, [script, storageDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waiting = new Map<string, (answer: string) => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'ready') ready();
      const [kind, key, value, ...rest] = line.split(' ');
      const done = waiting.get(`${key} ${value}`);
      waiting.delete(`${key} ${value}`);
      done?.(kind === 'ok' ? 'ok' : `error ${rest.join(' ')}`);
    }
  })();
  await Promise.race([
    isReady,
    exited.then((code) => {
      throw new Error(`The second writer exited (${code}) before it was ready: ${stderr}`);
    }),
  ]);
  return {
    put: (store, key, contentType, value) =>
      new Promise((resolve) => {
        waiting.set(`${key} ${value}`, resolve);
        child.stdin.write(`put ${store} ${key} ${contentType} ${value}\n`);
      }),
    quit: async () => {
      child.stdin.write('quit\n');
      const code = await exited;
      if (code !== 0) throw new Error(`The second writer exited with ${code}: ${stderr}`);
    },
  };
}
