// The file store at scale, against the floors one plain process sets on the same machine:
//   - first keys page of a 200,000-record store (files only, as Crawlee writes them) against
//     readdir + stat + sort of that folder, and the longest wait of a timer meanwhile;
//   - index memory per record;
//   - puts/s and fsyncs per put at 1 and 64 writers against write + fsync + rename.
// Runs on /dev/shm when it exists (the floors then measure CPU, not the disk).
//   node bench/store-scale.mjs [--records 200000] [--puts 2000]   (--records 0: puts only)
//   node bench/store-scale.mjs --dist /tmp/other/dist   (another build, to compare two)
import { existsSync, mkdirSync, writeFileSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const RECORDS = option('records', 200_000);
const DIST = args.includes('--dist') ? path.resolve(args[args.indexOf('--dist') + 1]) : path.join(import.meta.dirname, '..', 'dist');
const { FileStorage } = await import(pathToFileURL(path.join(DIST, 'server', 'index.js')).href);
const PUTS = option('puts', 2000);
const root = await fsp.mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'apify-kv-bench-'));
const LOCAL_USER = { id: 'local', username: 'local' };

/**
 * Counts fsyncs of file handles (files and folders) in this process, and all file-system calls
 * (each a round trip to the thread pool).
 */
const fsyncs = await (async () => {
  const probe = await fsp.open(root, 'r');
  const proto = Object.getPrototypeOf(probe);
  await probe.close();
  const counter = { count: 0, calls: 0 };
  for (const name of ['sync', 'datasync']) {
    const original = proto[name];
    proto[name] = function (...a) {
      counter.count++;
      return original.apply(this, a);
    };
  }
  // A handle's `close` is its own property, not the prototype's: counted as each handle opens.
  const open = fsp.open;
  fsp.open = async function (...a) {
    const handle = await open.apply(this, a);
    const close = handle.close;
    handle.close = () => {
      counter.calls++;
      return close.call(handle);
    };
    return handle;
  };
  for (const [target, names] of [
    [proto, ['sync', 'datasync', 'stat', 'write', 'read', 'writeFile', 'readFile']],
    [fsp, ['open', 'rename', 'lstat', 'stat', 'rm', 'unlink', 'mkdir', 'readFile', 'writeFile', 'readdir', 'opendir']],
  ]) {
    for (const name of names) {
      const original = target[name];
      target[name] = function (...a) {
        counter.calls++;
        return original.apply(this, a);
      };
    }
  }
  return counter;
})();

const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

try {
  // ---- opening a big store (skipped with --records 0) ---------------------------------
  if (RECORDS > 0) {
    const storageDir = path.join(root, 'storage');
    const folder = path.join(storageDir, 'key_value_stores', 'big');
    mkdirSync(folder, { recursive: true });
    const body = (i) => `{"record":${i},"url":"https://example.com/page/${i}"}`;
    // Crawlee writes in crawl order, not key order: shuffle the names.
    for (let i = 0; i < RECORDS; i++) {
      const n = (i * 7919) % RECORDS;
      writeFileSync(path.join(folder, `page-${String(n).padStart(7, '0')}.json`), body(n));
    }

    /** Measures the longest gap between ticks of a 1 ms timer until `stop()`. */
    const watchWaits = () => {
      let longest = 0;
      let ticking = true;
      let last = process.hrtime.bigint();
      const tick = () => {
        const now = process.hrtime.bigint();
        longest = Math.max(longest, Number(now - last) / 1e6);
        last = now;
        if (ticking) setTimeout(tick, 1);
      };
      setTimeout(tick, 1);
      return () => {
        ticking = false;
        return longest;
      };
    };

    // The floor: one process listing, statting (64 at a time) and sorting the folder.
    const stopFloorWatch = watchWaits();
    const floorStart = process.hrtime.bigint();
    const names = await fsp.readdir(folder);
    for (let i = 0; i < names.length; i += 64) {
      await Promise.all(names.slice(i, i + 64).map((name) => fsp.lstat(path.join(folder, name))));
    }
    names.sort();
    const floor = ms(floorStart);
    const floorWait = stopFloorWatch();

    // The engine: open, and the first page, while a timer measures how long others wait.
    gc();
    // The packed index lives in array buffers, outside the heap: both are counted.
    const held = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const heapBefore = held();
    const stopWatch = watchWaits();
    const start = process.hrtime.bigint();
    const storage = new FileStorage({ storageDir, sweepIntervalMillis: 0 });
    await storage.open();
    const store = await storage.getStore('big');
    const page = await storage.listKeys(store.id, { limit: 1000 });
    const firstPage = ms(start);
    if (page.items.length !== 1000 || page.items[0].key !== 'page-0000000') throw new Error('wrong first page');
    // Until every size is known (background), still measuring others' waits.
    await storage.close();
    const fullLoad = ms(start);
    const longestWait = stopWatch();

    // Index memory: the heap with a loaded index of RECORDS entries, against the heap before.
    const again = new FileStorage({ storageDir, sweepIntervalMillis: 0 });
    await again.open();
    await again.listKeys(store.id, { limit: 1 });
    gc();
    const perRecord = (held() - heapBefore) / RECORDS;
    await again.close();

    console.log(`\n=== opening a store of ${RECORDS.toLocaleString('en-US')} files (${root.startsWith('/dev/shm') ? '/dev/shm' : 'temp dir'}) ===`);
    console.log(`readdir + stat + sort (the floor): ${floor.toFixed(0)} ms (a 1 ms timer waited up to ${floorWait.toFixed(0)} ms meanwhile)`);
    console.log(`first keys page: ${firstPage.toFixed(0)} ms = ${(firstPage / floor).toFixed(2)}x the floor`);
    console.log(`all sizes known (background): ${fullLoad.toFixed(0)} ms`);
    console.log(`longest wait of a 1 ms timer meanwhile: ${longestWait.toFixed(0)} ms`);
    console.log(`index memory: ~${perRecord.toFixed(0)} bytes per record (heap and array buffers, after GC)`);
    await fsp.rm(folder, { recursive: true, force: true });
  }

  // ---- puts ---------------------------------------------------------------------------
  const bodies = Array.from({ length: 64 }, (_, i) => Buffer.alloc(2048, 97 + (i % 26)));
  console.log(`\n=== puts of 2 KiB bodies (${PUTS} per run) ===`);
  for (const writers of [1, 64]) {
    // The floor: write + fsync + rename of the same bodies, same concurrency.
    const floorDir = path.join(root, `floor-${writers}`);
    await fsp.mkdir(floorDir, { recursive: true });
    let next = 0;
    let begin = process.hrtime.bigint();
    await Promise.all(Array.from({ length: writers }, async () => {
      while (next < PUTS) {
        const i = next++;
        const temp = path.join(floorDir, `.t${i}`);
        const handle = await fsp.open(temp, 'w');
        await handle.writeFile(bodies[i % 64]);
        await handle.sync();
        await handle.close();
        await fsp.rename(temp, path.join(floorDir, `k${i % 500}.bin`));
      }
    }));
    const floorRate = PUTS / (ms(begin) / 1000);

    const putDir = path.join(root, `puts-${writers}`);
    const s = new FileStorage({ storageDir: putDir, sweepIntervalMillis: 0 });
    await s.open();
    const { store: target } = await s.getOrCreateStore({ name: 'puts', user: LOCAL_USER });
    next = 0;
    const syncsBefore = fsyncs.count;
    const callsBefore = fsyncs.calls;
    const cpuBefore = process.cpuUsage();
    begin = process.hrtime.bigint();
    await Promise.all(Array.from({ length: writers }, async () => {
      while (next < PUTS) {
        const i = next++;
        await s.putRecord(target.id, `k${i % 500}`, bodies[i % 64], { contentType: 'application/octet-stream' });
      }
    }));
    const rate = PUTS / (ms(begin) / 1000);
    // CPU time of this process per put (the thread pool's included): on a busy machine it
    // moves far less than the rate does, so two builds compare by it.
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPerPut = (cpu.user + cpu.system) / PUTS;
    const perPut = (fsyncs.count - syncsBefore) / PUTS;
    const callsPerPut = (fsyncs.calls - callsBefore) / PUTS;
    await s.close();
    console.log(`${String(writers).padStart(2)} writer(s): ${rate.toFixed(0)} puts/s, ${cpuPerPut.toFixed(0)} µs CPU/put, ${perPut.toFixed(2)} fsyncs/put, ${callsPerPut.toFixed(1)} fs calls/put; write+fsync+rename: ${floorRate.toFixed(0)}/s (${(rate / floorRate).toFixed(2)}x)`);
  }
} finally {
  await fsp.rm(root, { recursive: true, force: true });
}
