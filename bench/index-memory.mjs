// Index memory of the file store at scale: a store folder of N empty record files (as Crawlee
// writes them: no sidecars; the scan needs names only), opened by a fresh `FileStorage`:
//   - the heap (and array buffers, where packed indexes live) at its highest while the index
//     loads, sampled at every turn of the event loop, and after the load, settled;
//   - the same for two such stores opened at once;
//   - the first page of keys, timed.
// The second store is a symbolic link to the first folder (opened read-only, nothing is written).
// The folders are made under the OS temp dir and removed at the end (`--keep` keeps them for
// another run; `--dir D` reuses them). Run with `nice`: making 5 M files takes long on a slow
// disk (~30 min at 3,000 creates/s).
//   node bench/index-memory.mjs [--keys 5000000] [--budget-mib 512] [--dir D] [--keep]
import { existsSync, mkdirSync, closeSync, openSync, promises as fsp, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

import { FileStorage } from '../dist/server/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const KEYS = Number(option('keys', 5_000_000));
const BUDGET_MIB = option('budget-mib', undefined);
const KEEP = args.includes('--keep');
const root = option('dir', undefined) ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'apify-kv-index-memory-')));
const storageDir = path.join(root, 'storage');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/** Makes `count` empty record files in `folder`, in an order that is not the key order. */
function makeStore(folder, count) {
  // Beside the folder, not in it (a file in it would be a record).
  const done = `${folder}.complete`;
  if (existsSync(done)) return;
  mkdirSync(folder, { recursive: true });
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const n = (i * 7919) % count;
    closeSync(openSync(path.join(folder, `page-${String(n).padStart(8, '0')}.json`), 'w'));
    if (i % 500_000 === 499_999) console.log(`  ${(i + 1).toLocaleString('en-US')} files (${(ms(started) / 1000).toFixed(0)} s)`);
  }
  closeSync(openSync(done, 'w'));
}

/** Samples heap and array buffers at every turn of the event loop until `stop()`. */
function samplePeaks() {
  const peak = { heap: 0, buffers: 0, rss: 0 };
  let running = true;
  const sample = () => {
    const usage = process.memoryUsage();
    peak.heap = Math.max(peak.heap, usage.heapUsed);
    peak.buffers = Math.max(peak.buffers, usage.arrayBuffers);
    peak.rss = Math.max(peak.rss, usage.rss);
    if (running) setImmediate(sample);
  };
  sample();
  return () => {
    running = false;
    return peak;
  };
}

function settled() {
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, buffers: usage.arrayBuffers, rss: usage.rss };
}

/** Opens the stores named `names` at once; reports peaks while loading and what stays after. */
async function open(names) {
  const storage = new FileStorage({
    storageDir,
    sweepIntervalMillis: 0,
    watch: false,
    // Nothing written: no metadata file, no background sizing at open; each index loads at its first listing.
    readOnly: true,
    ...(BUDGET_MIB !== undefined ? { indexBudgetBytes: Number(BUDGET_MIB) * 1024 * 1024 } : {}),
  });
  const before = settled();
  const stop = samplePeaks();
  const start = process.hrtime.bigint();
  await storage.open();
  const pages = await Promise.all(
    names.map(async (name) => {
      const store = await storage.getStore(name);
      const page = await storage.listKeys(store.id, { limit: 1000 });
      if (page.items.length !== 1000 || page.items[0].key !== 'page-00000000') throw new Error(`wrong first page: ${page.items.length} ${page.items[0]?.key}`);
      return { store, millis: ms(start) };
    }),
  );
  const peak = stop();
  const after = settled();
  console.log(`\n--- ${names.length} store(s) of ${KEYS.toLocaleString('en-US')} keys opened at once ---`);
  for (const [i, { millis }] of pages.entries()) console.log(`first page of ${names[i]}: ${(millis / 1000).toFixed(1)} s`);
  console.log(`heap:          peak +${mib(peak.heap - before.heap)}, after +${mib(after.heap - before.heap)} (${((after.heap - before.heap) / KEYS / names.length).toFixed(1)} B/key)`);
  console.log(`array buffers: peak +${mib(peak.buffers - before.buffers)}, after +${mib(after.buffers - before.buffers)}`);
  console.log(`rss:           peak ${mib(peak.rss)}, after ${mib(after.rss)}`);
  await storage.close();
}

try {
  console.log(`making ${KEYS.toLocaleString('en-US')} empty record files per store under ${root}`);
  const stores = path.join(storageDir, 'key_value_stores');
  makeStore(path.join(stores, 'one'), KEYS);
  await open(['one']);
  // The second store is the same folder under a second name (a link costs no inodes): two
  // stores, two indexes of KEYS keys each.
  if (!existsSync(path.join(stores, 'two'))) symlinkSync('one', path.join(stores, 'two'));
  await open(['one', 'two']);
} finally {
  if (!KEEP) await fsp.rm(root, { recursive: true, force: true });
}
