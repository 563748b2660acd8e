/**
 * The bars of push and pull follow the client's progress callbacks: in process against the real
 * server (the byte counts each file reports), and through the built binary on a pseudo-terminal
 * (`script`), where the bar must end at 100% with every byte counted.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatBytes, type Progress } from '../../src/cli/progress.js';
import { pull } from '../../src/cli/sync/pull.js';
import { push } from '../../src/cli/sync/push.js';
import type { SyncOptions } from '../../src/cli/sync/common.js';
import { ApifyClient } from '../../src/index.js';
import { CloudBackend } from '../../src/sdk/cloud-backend.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { apiServerStorage, BIN, ensureBuilt, pseudoRandomBytes, removeTempDirs, tempDir } from './helpers.js';

const TOKEN = 'cli-progress-token-0a1b2c3d4e5f';
const MiB = 1024 * 1024;
/** Files of the folder pushed: two large enough to be counted in steps, one empty. */
const FILES: Record<string, Buffer> = {
  'a.bin': pseudoRandomBytes(3 * MiB, 1),
  'b.bin': pseudoRandomBytes(MiB + 17, 2),
  'empty.txt': Buffer.alloc(0),
};
const TOTAL = Object.values(FILES).reduce((sum, body) => sum + body.length, 0);

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  ensureBuilt();
  server = await startServer({ host: '127.0.0.1', port: 0, ...(await apiServerStorage()), token: TOKEN, logger: { warn: () => {}, error: () => {} } });
  dir = await tempDir();
  for (const [name, body] of Object.entries(FILES)) await fsp.writeFile(path.join(dir, name), body);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** A Progress that records what push or pull tell it. */
function recordingProgress() {
  const moved = new Map<string, number[]>();
  const items = new Map<string, number | undefined>();
  let started: [number, number] | undefined;
  const progress: Progress = {
    start: (count, bytes) => void (started = [count, bytes]),
    moved: (name, loaded) => void moved.set(name, [...(moved.get(name) ?? []), loaded]),
    item: (_line, name, bytes) => void items.set(name, bytes),
    dropped: () => undefined,
    stop: () => undefined,
  };
  return { progress, moved, items, started: () => started };
}

function syncOptions(progress: Progress): SyncOptions {
  const ignore = () => undefined;
  return {
    concurrency: 2,
    dryRun: false,
    delete: false,
    prefix: '',
    filters: [],
    progress,
    output: { json: false, quiet: true, result: ignore, notice: ignore, problem: ignore, printJson: ignore },
  };
}

/** Each file's counts rise to its size. */
function expectCounted(moved: Map<string, number[]>, name: string, size: number): void {
  const counts = moved.get(name) ?? [];
  expect(counts.length, name).toBeGreaterThan(1);
  for (let i = 1; i < counts.length; i++) expect(counts[i]!, name).toBeGreaterThan(counts[i - 1]!);
  expect(counts.at(-1), name).toBe(size);
}

describe('push and pull progress through the API', () => {
  it('counts each file in steps up to its size, on the way up and on the way down', async () => {
    const backend = new CloudBackend(new ApifyClient({ baseUrl: server.url, token: TOKEN }), server.url);
    const { store } = await backend.getOrCreateStore('progress-in-process');

    const up = recordingProgress();
    const pushed = await push(backend, store, dir, syncOptions(up.progress));
    expect(pushed.failed).toEqual([]);
    expect(up.started()).toEqual([3, TOTAL]);
    expectCounted(up.moved, 'a.bin', FILES['a.bin']!.length);
    expectCounted(up.moved, 'b.bin', FILES['b.bin']!.length);
    expect(Object.fromEntries(up.items)).toEqual({ 'a.bin': FILES['a.bin']!.length, 'b.bin': FILES['b.bin']!.length, 'empty.txt': 0 });

    const down = recordingProgress();
    const target = await tempDir();
    const pulled = await pull(backend, store, target, syncOptions(down.progress));
    expect(pulled.failed).toEqual([]);
    expect(down.started()).toEqual([3, TOTAL]);
    expectCounted(down.moved, 'a.bin', FILES['a.bin']!.length);
    expectCounted(down.moved, 'b.bin', FILES['b.bin']!.length);
    expect((await fsp.readFile(path.join(target, 'a.bin'))).equals(FILES['a.bin']!)).toBe(true);
  });
});

/** Runs the binary on a pseudo-terminal; returns what the terminal showed (bars included). */
function runOnTerminal(args: string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), APIFY_TOKEN: TOKEN, TERM: 'xterm', COLUMNS: '200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen: Buffer.concat(out).toString('utf8') }));
  });
}

describe('the bar on a terminal', () => {
  it('push and pull end at 100% with every byte counted', { timeout: 120_000 }, async () => {
    const whole = `100% | ${formatBytes(TOTAL)}/${formatBytes(TOTAL)} | 3/3`;
    const pushed = await runOnTerminal(['push', 'progress-bar', dir, '--api-url', server.url]);
    expect(pushed.code, pushed.screen).toBe(0);
    expect(pushed.screen).toContain(`push [`);
    expect(pushed.screen).toContain(whole);

    const pulled = await runOnTerminal(['pull', 'progress-bar', await tempDir(), '--api-url', server.url]);
    expect(pulled.code, pulled.screen).toBe(0);
    expect(pulled.screen).toContain(`pull [`);
    expect(pulled.screen).toContain(whole);
  });
});
