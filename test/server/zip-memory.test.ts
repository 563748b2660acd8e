/**
 * The ZIP download of a big store keeps memory flat: what stays per record until the end is
 * its small central-directory record, so heap plus buffer memory grows by a few MiB at most
 * while 20,000 records (20 MiB of archive) stream to a client that reads slowly. A writer that
 * kept the archive, or the bodies, until the end would grow by 20 MiB and fail.
 *
 * The records are written straight into the folder, as Crawlee writes them (no API round trip
 * per record), with bodies that are not compressed (image/png), so the archive is the bodies'
 * size. The store's index, what each record's first read learns, and the process's bounded
 * cache of small bodies are all filled before measuring by reading every record once in
 * process: only what the download itself keeps is measured.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

import { describe, expect, it } from 'vitest';

import { RACY_MILLIS } from '../../src/storage/fs/record-cache.js';
import { sleep, startTestServer, tempDir } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const RECORDS = Number(process.env.ZIP_MEMORY_RECORDS ?? 20_000);
const BODY_BYTES = 1024;
const MiB = 1024 * 1024;
/** 8 MiB at 20,000 records (scaled with the count), well under the 20 MiB archive. */
const BOUND = (8 * MiB * RECORDS) / 20_000;

/** Heap in use plus memory held by Buffers and ArrayBuffers, after collecting garbage. */
function memoryAfterGc(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('ZIP download memory', () => {
  it(`streams ${RECORDS} records with heap and buffers growing by under ${(BOUND / MiB).toFixed(0)} MiB`, async () => {
    const storageDir = await tempDir();
    const folder = path.join(storageDir, 'key_value_stores', 'big');
    await fsp.mkdir(folder, { recursive: true });
    const names = Array.from({ length: RECORDS }, (_, i) => `record-${String(i).padStart(6, '0')}.png`);
    await inBatches(names, 64, (name) => fsp.writeFile(path.join(folder, name), randomBytes(BODY_BYTES)));
    // Files changed within the last moments are never cached (see record-cache.ts): let them settle.
    await sleep(RACY_MILLIS + 200);

    const server = await startTestServer({ storageDir });
    const storeId = (await server.storage.getStore('big'))!.id;
    let keys: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await server.storage.listKeys(storeId, { exclusiveStartKey: after, limit: 1000 });
      keys = keys.concat(page.items.map((item) => item.key));
      if (page.nextExclusiveStartKey === null) break;
      after = page.nextExclusiveStartKey;
    }
    expect(keys.length).toBe(RECORDS);
    await inBatches(keys, 32, (key) => server.storage.getRecord(storeId, key));
    keys = [];

    const before = memoryAfterGc();
    let peak = 0;
    let bytes = 0;
    let signature = 0;
    let samples = 0;
    // Only the last bytes are kept, for the end-of-central-directory record.
    let tail = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: '/v2/key-value-stores/big/records' }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        let nextSample = 0;
        res.on('data', (chunk: Buffer) => {
          if (bytes === 0) signature = chunk.readUInt32LE(0);
          bytes += chunk.length;
          tail = Buffer.concat([tail, chunk]).subarray(-64);
          tail = Buffer.from(tail);
          // A slow-ish reader: pause now and then, measuring meanwhile.
          if (bytes >= nextSample) {
            nextSample = bytes + MiB;
            res.pause();
            peak = Math.max(peak, memoryAfterGc() - before);
            samples++;
            setTimeout(() => res.resume(), 2);
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      }).on('error', reject);
    });
    const growth = Math.max(peak, memoryAfterGc() - before);

    expect(signature).toBe(0x04034b50);
    // Every body went out, stored as it is.
    expect(bytes).toBeGreaterThan(RECORDS * BODY_BYTES);
    const end = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    expect(end).toBeGreaterThanOrEqual(0);
    expect(tail.readUInt16LE(end + 10)).toBe(RECORDS);
    expect(samples).toBeGreaterThanOrEqual(10);
    console.log(`records ${RECORDS}, ${bytes} bytes, ${samples} samples, growth ${(growth / MiB).toFixed(2)} MiB`);
    expect(growth).toBeLessThan(BOUND);
  }, 170_000);
});
