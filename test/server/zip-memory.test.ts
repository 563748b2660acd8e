/**
 * The ZIP download of a big store keeps the heap flat: what stays per record until the end is
 * its small central-directory record, so the heap grows by a few MiB at most while 10,000
 * records stream to a client that reads slowly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

import { describe, expect, it } from 'vitest';

import { raw, startTestServer, tempDir } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** 10,000 by default to keep the run short; the bound scales with the count (8 MiB at 20,000). */
const RECORDS = Number(process.env.ZIP_MEMORY_RECORDS ?? 10_000);
const BOUND = (8 * 1024 * 1024 * RECORDS) / 20_000;
const MiB = 1024 * 1024;

function heapAfterGc(): number {
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size;
}

describe('ZIP download memory', () => {
  it(`streams ${RECORDS} records with the heap growing by under ${(BOUND / 1024 / 1024).toFixed(0)} MiB`, async () => {
    const storageDir = await tempDir();
    const folder = path.join(storageDir, 'key_value_stores', 'big');
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < RECORDS; i++) {
      writeFileSync(path.join(folder, `record-${String(i).padStart(6, '0')}.json`), `{"record":${i},"text":"${'x'.repeat(200)}"}`);
    }
    const server = await startTestServer({ storageDir });
    // The store's key index and record metadata (a few hundred bytes per record) and the
    // process's bounded cache of small bodies (32 MiB) are filled by any first read: a first
    // download fills them, so the second measures only what a download itself keeps.
    const first = await raw(server, 'GET', '/v2/key-value-stores/big/records');
    expect(first.status).toBe(200);

    const before = heapAfterGc();
    let peak = 0;
    let bytes = 0;
    let signature = 0;
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: '/v2/key-value-stores/big/records' }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        let nextSample = 0;
        res.on('data', (chunk: Buffer) => {
          if (bytes === 0) signature = chunk.readUInt32LE(0);
          bytes += chunk.length;
          // A slow-ish reader: pause now and then, sampling the heap meanwhile.
          if (bytes >= nextSample) {
            nextSample = bytes + 512 * 1024;
            res.pause();
            peak = Math.max(peak, heapAfterGc() - before);
            setTimeout(() => res.resume(), 2);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      }).on('error', reject);
    });
    const growth = Math.max(peak, heapAfterGc() - before);

    expect(signature).toBe(0x04034b50);
    // Every record's body went out (bodies are ~220 bytes; deflated, still more than a header each).
    expect(bytes).toBeGreaterThan(RECORDS * 80);
    console.log(`records ${RECORDS}, ${bytes} bytes, heap growth ${(growth / MiB).toFixed(2)} MiB`);
    expect(growth).toBeLessThan(BOUND);
  }, 170_000);
});
