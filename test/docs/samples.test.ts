/**
 * Docs that do not rot: every TypeScript and JavaScript block of the README and of docs/ is
 * type-checked against the built package (imported by its name, as a user would), blocks
 * marked `runnable` are run against a local server on port 0, and shell blocks marked
 * `runnable` are run with `apify-kv` on the PATH. The address `http://127.0.0.1:8010` in a
 * runnable block stands for that server.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from '../../src/server/index.js';
import { BIN, ensureBuilt, ROOT } from '../cli/helpers.js';
import { codeBlocks, docFiles, JAVASCRIPT, SHELL, TYPESCRIPT, type CodeBlock } from './code-blocks.js';

const blocks = docFiles(ROOT).flatMap((file) => codeBlocks(ROOT, file));
const checked = blocks.filter((block) => TYPESCRIPT.has(block.lang) || JAVASCRIPT.has(block.lang));
const runnableShell = blocks.filter((block) => SHELL.has(block.lang) && block.runnable);

// Inside the repository, so `apify-kv-client` resolves to this package's build by its own name.
const SAMPLES = path.join(ROOT, '.tmp', `doc-samples-${process.pid}`);
const LOCAL_URL = 'http://127.0.0.1:8010';

const label = (block: CodeBlock) => `${block.file}:${block.line}`;
const sampleName = (block: CodeBlock) => `${block.file.replace(/[^a-z0-9]+/gi, '_')}_${block.line}${JAVASCRIPT.has(block.lang) ? '.mjs' : '.ts'}`;

/** Type errors per sample file, from one compilation of all of them. */
let errors = new Map<string, string[]>();

beforeAll(() => {
  ensureBuilt();
  rmSync(SAMPLES, { recursive: true, force: true });
  mkdirSync(SAMPLES, { recursive: true });
  const files = checked.map((block) => {
    const file = path.join(SAMPLES, sampleName(block));
    // `export {}` keeps each sample a module of its own (top-level await, no shared names).
    writeFileSync(file, `${block.code}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: ['node'],
    strict: true,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    skipLibCheck: true,
  });
  errors = new Map(files.map((file) => [file, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName;
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!file || !errors.has(path.resolve(file))) throw new Error(`samples do not compile: ${message}`);
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    errors.get(path.resolve(file))!.push(`line ${line + 1} of the block: ${message}`);
  }
}, 120_000);

let server: RunningServer;
let work: string;
beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'apify-kv-doc-run-'));
  server = await startServer({ port: 0, storageDir: path.join(work, 'server-storage') });
});
afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
  rmSync(SAMPLES, { recursive: true, force: true });
});

function run(command: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, timeout: 60_000, env: { PATH: `${path.join(work, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`, HOME: cwd, ...extraEnv } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

/** A fresh working folder for one runnable block, with `apify-kv` on the PATH. */
function blockDir(block: CodeBlock): string {
  const bin = path.join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'apify-kv'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(path.join(bin, 'apify-kv'), 0o755);
  const dir = path.join(work, sampleName(block).replace(/\./g, '_'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('code samples in the README and docs/', () => {
  it('there are samples to check, and some are run', () => {
    expect(checked.length).toBeGreaterThan(10);
    expect(checked.filter((block) => block.runnable).length).toBeGreaterThan(3);
    expect(runnableShell.length).toBeGreaterThan(0);
  });

  for (const block of checked) {
    it(`${label(block)} type-checks against the built package`, () => {
      expect(errors.get(path.join(SAMPLES, sampleName(block)))).toEqual([]);
    });
  }

  for (const block of checked.filter((b) => b.runnable)) {
    it(`${label(block)} runs against a local server`, async () => {
      const source = block.code.replaceAll(LOCAL_URL, server.url);
      const js = TYPESCRIPT.has(block.lang)
        ? ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText
        : source;
      const file = path.join(SAMPLES, `run-${sampleName(block).replace(/\.ts$/, '.mjs')}`);
      writeFileSync(file, js);
      const result = await run(process.execPath, [file], blockDir(block));
      expect(result.code, result.err).toBe(0);
      expect(result.err).toBe('');
    }, 60_000);
  }

  for (const block of runnableShell) {
    it(`${label(block)} runs in bash`, async () => {
      const script = `set -euo pipefail\n${block.code.replaceAll(LOCAL_URL, server.url)}`;
      const result = await run('bash', ['-c', script], blockDir(block));
      // Commands print notices on stderr; only the exit code tells failure.
      expect(result.code, result.err).toBe(0);
    }, 60_000);
  }
});
