/**
 * Index memory, deterministic (no timing): a child process with a heap cap scaled from the
 * target (a 5 M-key store opens within 1 GiB of heap) loads the index of 300,000 keys, then of
 * two such stores at once. Too much memory per key crashes it (the old index of an object per
 * key needed ~2.4 GiB of heap for 5 M keys, ~150 MiB here); the packed index's memory per key,
 * heap and array buffers together, is checked against the same target.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir, removeDir } from './helpers.js';

const KEYS = 300_000;
/** 1 GiB for 5 M keys, scaled to KEYS. */
const HEAP_CAP_MIB = Math.ceil((1024 * KEYS) / 5_000_000) + 4;
/** Bytes a key may take at the highest while loading, heap and buffers together (1 GiB / 5 M). */
const PEAK_BYTES_PER_KEY = (1024 * 1024 * 1024) / 5_000_000;

let workDir: string;
let script: string;

beforeAll(async () => {
  workDir = await makeTempDir();
  script = path.join(workDir, 'index-memory-load.cjs');
  await build({
    entryPoints: [path.join(import.meta.dirname, 'fixtures', 'index-memory-load.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: script,
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await removeDir(workDir);
});

interface Usage {
  heap: number;
  buffers: number;
}

function load(stores: number): Promise<{ code: number | null; stderr: string; result?: { before: Usage; peak: Usage; after: Usage; first: string[] } }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MIB}`, '--expose-gc', script, String(KEYS), String(stores)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stderr: stderr.slice(-2000), result: stdout ? JSON.parse(stdout) : undefined }));
  });
}

describe('index memory', () => {
  for (const stores of [1, 2]) {
    it(`loads ${stores} store(s) of ${KEYS.toLocaleString('en-US')} keys within a ${HEAP_CAP_MIB} MiB heap and ${PEAK_BYTES_PER_KEY.toFixed(0)} bytes a key`, async () => {
      const { code, stderr, result } = await load(stores);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const { before, peak, after, first } = result!;
      expect(first).toEqual(['page-00000000', 'page-00000001', 'page-00000002']);
      const perKey = (usage: Usage) => (usage.heap + usage.buffers - before.heap - before.buffers) / (KEYS * stores);
      expect(perKey(peak)).toBeLessThan(PEAK_BYTES_PER_KEY);
      // Held after the load: the packed rows (key bytes and ~15 bytes), little else.
      expect(perKey(after)).toBeLessThan(48);
    }, 60_000);
  }
});
