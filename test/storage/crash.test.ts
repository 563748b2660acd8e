/**
 * Kills a writing process with SIGKILL at random moments and checks that every
 * acknowledged operation survived, bodies are whole and match their content types,
 * metadata files are valid JSON, and no temp file shows up as a key.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStorage } from '../../src/storage/index.js';
import { bodyFor, isDelete, keyFor } from './fixtures/crash-plan.js';
import { listFiles, makeTempDir, openStorage, readAll, removeDir } from './helpers.js';

const KEYS = 8;
let workDir: string;
let script: string;

beforeAll(async () => {
  workDir = await makeTempDir();
  script = path.join(workDir, 'crash-writer.cjs');
  // Bundled to plain JavaScript so a bare `node` can run it.
  await build({
    entryPoints: [path.join(import.meta.dirname, 'fixtures', 'crash-writer.ts')],
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

/** Runs the writer until it has acknowledged `acks` operations, then SIGKILLs it. */
async function runAndKill(storageDir: string, startVersions: number[], acks: number) {
  const child = spawn(process.execPath, [script, storageDir, String(KEYS), JSON.stringify(startVersions)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const acked = [...startVersions];
  let storeId = '';
  let count = 0;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'ready') storeId = a!;
    if (kind === 'ack') {
      acked[Number(a)] = Number(b);
      if (++count === acks) child.kill('SIGKILL');
    }
  }
  await exited;
  expect(stderr).toBe('');
  expect(count).toBeGreaterThanOrEqual(acks);
  return { storeId, acked };
}

async function checkStore(storage: FileStorage, storeId: string, acked: number[]) {
  const versions: number[] = [];
  for (let i = 0; i < KEYS; i++) {
    const key = keyFor(i);
    const last = acked[i] ?? 0;
    const record = await storage.getRecord(storeId, key);
    // The acknowledged state, or the one write that was in flight when the process died.
    let version: number;
    if (!record) {
      version = isDelete(last + 1) ? last + 1 : last;
      expect(last === 0 || isDelete(version), `${key} is missing but version ${last} was acknowledged`).toBe(true);
    } else {
      const data = await readAll(record.openStream());
      const head = JSON.parse(data.subarray(0, data.indexOf('}') + 1).toString());
      version = head.version;
      expect([last, last + 1]).toContain(version);
      expect(head.key).toBe(key);
      expect(data.equals(bodyFor(key, version))).toBe(true);
      expect(record.contentType).toBe(head.contentType);
      expect(record.size).toBe(data.length);
      expect(record.etag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);
    }
    versions.push(version);
  }
  const listed = await storage.listKeys(storeId);
  const keys = Array.from({ length: KEYS }, (_, i) => keyFor(i));
  expect(listed.items.every((item) => keys.includes(item.key))).toBe(true);
  return versions;
}

async function checkFiles(storageDir: string) {
  const files = await listFiles(path.join(storageDir, 'key_value_stores'));
  for (const file of files.filter((f) => f.endsWith('.json') && f.includes('__metadata__'))) {
    JSON.parse(await fsp.readFile(path.join(storageDir, 'key_value_stores', file), 'utf8'));
  }
  // After recovery the temp folder is empty and every file belongs to a key.
  expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
}

describe('crash safety', () => {
  it('keeps every acknowledged write through repeated kill -9', async () => {
    const storageDir = path.join(workDir, 'storage');
    let versions: number[] = [];
    for (const acks of [5, 37, 80, 150, 23]) {
      const { storeId, acked } = await runAndKill(storageDir, versions, acks);
      const storage = await openStorage(storageDir);
      try {
        versions = await checkStore(storage, storeId, acked);
        const info = (await storage.getStore(storeId))!;
        const listed = await storage.listKeys(storeId);
        expect(info.stats.storageBytes).toBe(listed.items.reduce((sum, item) => sum + item.size, 0));
      } finally {
        await storage.close();
      }
      await checkFiles(storageDir);
    }
  }, 120_000);
});
