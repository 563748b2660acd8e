/**
 * The index's algorithmic shape, checked cheaply: loading is one sorted pass that yields to
 * the event loop, the first page needs no stat of the other records, and 10x the keys costs
 * well under 20x the time (a per-key splice would cost ~100x).
 */
import { describe, expect, it } from 'vitest';

import { KeyIndex } from '../../src/storage/fs/key-index.js';
import { RecordIndex } from '../../src/storage/fs/record-index.js';
import { scanRecordFiles } from '../../src/storage/fs/record-scan.js';
import { recordsOver, seededRandom } from './support/records-over.js';
import { VolatileFs } from './support/volatile-fs.js';

const FOLDER = '/storage/key_value_stores/big';

/** A folder of `count` record files, as Crawlee writes them (no metadata), in random order. */
async function crawleeFolder(count: number): Promise<VolatileFs> {
  const fs = new VolatileFs();
  await fs.mkdirDurable(FOLDER);
  const random = seededRandom(count);
  const order = Array.from({ length: count }, (_, i) => [random(), i] as const).sort((a, b) => a[0] - b[0]);
  fs.addDurableFiles(FOLDER, order.map(([, i]) => [`key-${String(i).padStart(7, '0')}.json`, Buffer.from(`{"i":${i}}`)]));
  return fs;
}

/** CPU milliseconds of `fn`, the best of three runs (others' load does not count). */
async function cpuMillis(fn: () => Promise<void>): Promise<number> {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const start = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

/** Counts the file-system calls a `VolatileFs` serves. */
function countCalls(fs: VolatileFs): { readonly count: number } {
  const counter = { count: 0 };
  for (const name of ['open', 'readdir', 'lstat', 'readFile', 'rename', 'remove'] as const) {
    const original = fs[name].bind(fs) as (...args: unknown[]) => Promise<unknown>;
    (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      counter.count++;
      return original(...args);
    };
  }
  return counter;
}

describe('index at scale', () => {
  it('answers the first page of a big Crawlee folder with one listing and a stat per listed key', async () => {
    const fs = await crawleeFolder(10_000);
    const calls = countCalls(fs);
    const records = recordsOver(fs, FOLDER);
    const page = await records.list({ limit: 100 });
    expect(page.entries.map((entry) => entry.key)).toEqual(Array.from({ length: 100 }, (_, i) => `key-${String(i).padStart(7, '0')}`));
    expect(page.entries[3]!.size).toBe('{"i":3}'.length);
    expect(page.isTruncated).toBe(true);
    // One readdir and 100 stats; the other 9,900 sizes come in the background.
    expect(calls.count).toBeLessThanOrEqual(1 + 100 + 5);

    let total = -1;
    const sized = recordsOver(fs, FOLDER, (bytes) => (total = bytes));
    await sized.list({ limit: 1 });
    await sized.drain();
    expect(total).toBe(Array.from({ length: 10_000 }, (_, i) => `{"i":${i}}`.length).reduce((a, b) => a + b, 0));
  });

  it('yields to the event loop while loading', async () => {
    const fs = await crawleeFolder(20_000);
    const records = recordsOver(fs, FOLDER);
    let ticks = 0;
    let loaded = false;
    const tick = () => {
      if (loaded) return;
      ticks++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await records.list({ limit: 10 });
    loaded = true;
    // Other work ran many times meanwhile: the load is cut into slices.
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('loads 10x the keys in well under 20x the time', async () => {
    const small = await crawleeFolder(2_000);
    const large = await crawleeFolder(20_000);
    const load = (fs: VolatileFs) => async () => {
      const { rows } = await scanRecordFiles(fs, FOLDER);
      expect(new RecordIndex(rows).size).toBeGreaterThan(0);
    };
    const smallCost = await cpuMillis(load(small));
    const largeCost = await cpuMillis(load(large));
    expect(largeCost / Math.max(smallCost, 1)).toBeLessThan(20);
  });

  it('inserts and deletes in O(log n): 10x the keys, well under 20x the time', async () => {
    const churn = (count: number) => {
      const random = seededRandom(count);
      const keys = Array.from({ length: count }, (_, i) => `k${Math.floor(random() * 1e9).toString(36)}-${i}`);
      return async () => {
        const index = new KeyIndex<{ key: string }>();
        for (const key of keys) index.set({ key });
        for (const key of keys) index.delete(key);
        expect(index.size).toBe(0);
      };
    };
    const smallCost = await cpuMillis(churn(5_000));
    const largeCost = await cpuMillis(churn(50_000));
    expect(largeCost / Math.max(smallCost, 1)).toBeLessThan(20);
  });
});
