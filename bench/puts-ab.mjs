// The folder write path of two builds, A against B, in one process: batches of puts take turns
// (A, B, B, A, ...), so a busy machine slows both alike. Prints, per build and concurrency, the
// median over batches of puts/s and of this process's CPU time per put (thread pool included).
//   node bench/puts-ab.mjs --a /tmp/before/dist [--b dist] [--batches 12] [--puts 500] [--writers 1,64]
// Runs on /dev/shm when it exists (the disk is not what is measured).
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: path.join(import.meta.dirname, '..', 'dist') },
    batches: { type: 'string', default: '12' },
    puts: { type: 'string', default: '500' },
    writers: { type: 'string', default: '1,64' },
  },
});
if (!args.a) throw new Error('Usage: node bench/puts-ab.mjs --a <dist> [--b <dist>] (two builds of the package)');
const BATCHES = Number(args.batches);
const PUTS = Number(args.puts);
const LOCAL_USER = { id: 'local', username: 'local' };
const root = await fsp.mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'apify-kv-puts-ab-'));
const bodies = Array.from({ length: 64 }, (_, i) => Buffer.alloc(2048, 97 + (i % 26)));
const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

/** One build's storage on a folder of its own, with a store to put into. */
async function openBuild(name, dist) {
  const { FileStorage } = await import(pathToFileURL(path.join(path.resolve(dist), 'server', 'index.js')).href);
  const storage = new FileStorage({ storageDir: path.join(root, name), sweepIntervalMillis: 0 });
  await storage.open();
  const { store } = await storage.getOrCreateStore({ name: 'puts', user: LOCAL_USER });
  return { name, dist, storage, storeId: store.id };
}

/** `PUTS` puts over 500 keys by `writers` at once: puts/s and µs of CPU per put. */
async function batch({ storage, storeId }, writers) {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: writers }, async () => {
    while (next < PUTS) {
      const i = next++;
      await storage.putRecord(storeId, `k${i % 500}`, bodies[i % 64], { contentType: 'application/octet-stream' });
    }
  }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { rate: PUTS / seconds, cpu: (cpu.user + cpu.system) / PUTS };
}

const builds = [await openBuild('a', args.a), await openBuild('b', args.b)];
try {
  console.log(`puts of 2 KiB bodies, ${BATCHES} batches of ${PUTS} per build, taking turns; medians. a: ${args.a}  b: ${args.b}`);
  for (const writers of args.writers.split(',').map(Number)) {
    const results = { a: [], b: [] };
    for (const build of builds) await batch(build, writers); // warm-up
    for (let i = 0; i < BATCHES; i++) {
      for (const build of i % 2 === 0 ? builds : [...builds].reverse()) results[build.name].push(await batch(build, writers));
    }
    const summary = (name) => ({ rate: median(results[name].map((r) => r.rate)), cpu: median(results[name].map((r) => r.cpu)) });
    const [a, b] = [summary('a'), summary('b')];
    console.log(
      `${String(writers).padStart(2)} writer(s): a ${a.rate.toFixed(0)} puts/s ${a.cpu.toFixed(0)} µs CPU/put | ` +
        `b ${b.rate.toFixed(0)} puts/s ${b.cpu.toFixed(0)} µs CPU/put | b/a: rate ${(b.rate / a.rate).toFixed(3)}, CPU ${(b.cpu / a.cpu).toFixed(3)}`,
    );
  }
} finally {
  for (const { storage } of builds) await storage.close();
  await fsp.rm(root, { recursive: true, force: true });
}
