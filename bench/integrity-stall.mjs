// How long the client blocks its own event loop around one large record: a `--mib` MiB body put
// and read back through the client, against the project's server (folder storage in a temp dir) in a
// process of its own, so that only the client's work runs in this process. For each way (integrity on or off, the
// consistency journal on as by default or off) it shows the wall time and the longest event-loop
// delay seen while the put and the get ran (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution):
// the longest time any timer, other request or progress callback of the process had to wait.
// Each way runs `--runs` times, alternating; the median is shown. Run `npm run build` first;
// `--dist DIR` measures another build (its `dist` folder) instead.
//
//   node bench/integrity-stall.mjs --mib 200 --runs 3
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { mib: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' }, dist: { type: 'string', default: path.join(here, '../dist') } },
});
const MIB = Number(args.mib);
const RUNS = Number(args.runs);
const { ApifyClient } = await import(pathToFileURL(path.join(path.resolve(args.dist), 'index.js')).href);

const dir = mkdtempSync(path.join(os.tmpdir(), 'kv-stall-bench-'));
const server = fork(path.join(here, 'server-process.mjs'), ['local', dir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const url = await new Promise((resolve) => server.once('message', (m) => resolve(m.url)));

/** Runs `work`, returning its wall time and the longest event-loop delay meanwhile, in ms. */
async function watched(work) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The monitor sees a block only between two of its ticks: one before the work, one after.
  const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
  await tick();
  const started = performance.now();
  await work();
  const wall = performance.now() - started;
  await tick();
  delay.disable();
  return { wall, stall: delay.max / 1e6 };
}

const WAYS = [
  { name: 'integrity on, journal on ', integrity: true, window: undefined },
  { name: 'integrity off, journal on', integrity: false, window: undefined },
  { name: 'integrity on, journal off', integrity: true, window: 0 },
  { name: 'integrity off, journal off', integrity: false, window: 0 },
];
try {
  const body = Buffer.alloc(MIB * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4096) body[i] = i & 255;
  const results = WAYS.map(() => ({ put: [], get: [] }));
  for (let run = 0; run < RUNS; run++) {
    for (const [index, way] of WAYS.entries()) {
      const client = new ApifyClient({ baseUrl: url, integrity: way.integrity, consistencyWindowMillis: way.window, timeoutSecs: 600 });
      const store = client.keyValueStore((await client.keyValueStores.getOrCreate(`stall-${index}`)).id);
      results[index].put.push(await watched(() => store.setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' })));
      results[index].get.push(await watched(() => store.getRecord('big', { buffer: true })));
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const show = (list) => `${(median(list.map((r) => r.wall)) / 1000).toFixed(2)} s, longest stall ${median(list.map((r) => r.stall)).toFixed(0)} ms`;
  console.log(`${MIB} MiB put and get through the client (${args.dist}) to the local server in another process, median of ${RUNS}; node ${process.version}; ${os.cpus().length} cores`);
  for (const [index, way] of WAYS.entries()) console.log(`  ${way.name}  put ${show(results[index].put)};  get ${show(results[index].get)}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
