// The server's request rate against a bare node:http server over the same files (see
// bench/server-target.mjs for what "bare" does per request). Both run in processes of their own;
// autocannon drives them from this one, one case at a time, ours and bare back to back in the
// same run, so the ratio holds even when the machine is busy with other work.
//
//   npm run build && node bench/server.mjs
//   node bench/server.mjs --duration 8 --rounds 3 --cases get-1k,head-1k
//   node bench/server.mjs --profile        # both run with --cpu-prof (profiles in $TMPDIR/apify-kv-server-profiles/)
//   node bench/server.mjs --dist /tmp/other/dist   # ours from another build, to compare two
//
// Storage is on /dev/shm when there is one (the disk is not what is measured). Not a test: the
// targets are shown, not asserted.
import { fork } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '1' },
    cases: { type: 'string' },
    profile: { type: 'boolean', default: false },
    dist: { type: 'string', default: path.join(here, '..', 'dist') },
  },
});
const DURATION = Number(args.duration);
const PROFILE_DIR = path.join(os.tmpdir(), 'apify-kv-server-profiles');
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const KEY_COUNT = 1200;
/** Each case's time per server is split into this many turns. */
const SLICES = 4;
/** The slot of http-parser-js (autocannon's parser) for the headers-complete callback. */
const HEADERS_COMPLETE = 2;

/** Each case: the request, and the target ratio (ours / bare) the issue sets, if any. */
const CASES = [
  { id: 'get-1k', title: 'GET record 1 KiB', method: 'GET', path: (s) => `/v2/key-value-stores/${s}/records/small`, target: 0.7 },
  { id: 'get-1m', title: 'GET record 1 MiB', method: 'GET', path: (s) => `/v2/key-value-stores/${s}/records/large`, target: 0.85 },
  { id: 'head-1k', title: 'HEAD record 1 KiB', method: 'HEAD', path: (s) => `/v2/key-value-stores/${s}/records/small`, target: 0.7 },
  { id: 'keys', title: 'GET keys (1,000)', method: 'GET', path: (s) => `/v2/key-value-stores/${s}/keys` },
  { id: 'store', title: 'GET store', method: 'GET', path: (s) => `/v2/key-value-stores/${s}` },
  { id: 'put-1k', title: 'PUT record 1 KiB', method: 'PUT', path: (s) => `/v2/key-value-stores/${s}/records/p`, put: true },
].filter((c) => !args.cases || args.cases.split(',').includes(c.id));

const SMALL_JSON = Buffer.from(JSON.stringify({ text: 'x'.repeat(1024 - 12) }));
const LARGE = Buffer.alloc(1024 * 1024, 7);

function start(kind, storageDir, storeFolder) {
  const execArgv = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILE_DIR, kind)}`] : [];
  const child = fork(path.join(here, 'server-target.mjs'), [kind, storageDir, storeFolder, path.resolve(args.dist)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ url: m.url, child }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

/** CPU time (µs) the server process has used so far. */
function cpuOf({ child }) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m && typeof m.cpu === 'number') {
        child.off('message', onMessage);
        resolve(m.cpu);
      }
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

function stop({ child }) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

async function request(url, method, body, type) {
  const res = await fetch(url, { method, body, headers: body ? { 'content-type': type } : {} });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** Makes the store with the records the cases read, through our server. */
async function seed(url) {
  const store = (await request(`${url}/v2/key-value-stores?name=bench`, 'POST')).data;
  const base = `${url}/v2/key-value-stores/${store.id}/records`;
  await request(`${base}/small`, 'PUT', SMALL_JSON, 'application/json; charset=utf-8');
  await request(`${base}/large`, 'PUT', LARGE, 'application/octet-stream');
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => `key-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(keys.slice(i, i + 32).map((k) => request(`${base}/${k}`, 'PUT', Buffer.from(`{"n":${i}}`), 'application/json; charset=utf-8')));
  }
  return store;
}

function run(url, c, storeRef, duration) {
  let n = 0;
  const options = {
    url: url + c.path(storeRef),
    connections: CONNECTIONS,
    duration,
    method: c.method,
  };
  if (c.method === 'HEAD') {
    // autocannon's parser would wait for a body after a HEAD answer; tell it there is none.
    // (autocannon sets its callback after calling setupClient, hence the accessor.)
    options.setupClient = (client) => {
      let onHeaders;
      Object.defineProperty(client.parser, HEADERS_COMPLETE, {
        set: (fn) => (onHeaders = fn),
        get: () => (...info) => {
          onHeaders(...info);
          return 1;
        },
      });
    };
  }
  if (c.put) {
    options.headers = { 'content-type': 'application/json; charset=utf-8' };
    options.body = SMALL_JSON;
    // Keys from a bounded set, so concurrent PUTs rarely share one and the store stays small.
    options.requests = [{ setupRequest: (req) => ({ ...req, path: `${req.path}-${n++ % 4096}` }) }];
  }
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * One case against one server, as `SLICES` short runs taking turns with the other server's (so
 * a burst of load from elsewhere hits both alike): requests/s over all slices, the median of
 * the slices' p50 and p99, and the server's CPU time per request.
 */
async function measure(server, c, storeRef, slice) {
  const cpuBefore = await cpuOf(server);
  const result = await run(server.url, c, storeRef, slice);
  const cpu = (await cpuOf(server)) - cpuBefore;
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpu,
    bad: result.non2xx + result.errors + result.timeouts,
  };
}

function combine(slices) {
  const requests = slices.reduce((n, s) => n + s.requests, 0);
  return {
    rps: requests / slices.reduce((n, s) => n + s.seconds, 0),
    p50: median(slices.map((s) => s.p50)),
    p99: median(slices.map((s) => s.p99)),
    cpuPerRequest: slices.reduce((n, s) => n + s.cpu, 0) / Math.max(1, requests),
    bad: slices.reduce((n, s) => n + s.bad, 0),
  };
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

const root = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const storageDir = await fsp.mkdtemp(path.join(root, 'kv-bench-server-'));
let ours;
let bare;
try {
  ours = await start('ours', storageDir, '');
  const store = await seed(ours.url);
  bare = await start('bare', storageDir, store.name);
  // Files changed within the last 2 s are read from disk each time (see record-cache.ts): let
  // the seeded ones age, as records usually have by the time they are read.
  await new Promise((r) => setTimeout(r, 2500));
  console.log(`server: ${CONNECTIONS} connections, ${DURATION} s per case and server in ${SLICES} turns, ${ROUNDS} round(s), storage on ${root}`);
  console.log('case                 | ours req/s  p50  p99  cpu/req | bare req/s  p50  p99  cpu/req | ratio (target) | p99 ratio (<= 2)');
  const rows = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      // A short warm-up of each, then slices taking turns: ours, bare, bare, ours, ...
      await run(ours.url, c, store.id, 1);
      await run(bare.url, c, store.id, 1);
      const slices = { ours: [], bare: [] };
      const slice = Math.max(1, Math.round(DURATION / SLICES));
      for (let i = 0; i < SLICES; i++) {
        const order = i % 2 === 0 ? ['ours', 'bare'] : ['bare', 'ours'];
        for (const who of order) slices[who].push(await measure(who === 'ours' ? ours : bare, c, store.id, slice));
      }
      const got = { ours: combine(slices.ours), bare: combine(slices.bare) };
      const ratio = got.ours.rps / got.bare.rps;
      const p99Ratio = got.ours.p99 / Math.max(1, got.bare.p99);
      const cpuRatio = got.ours.cpuPerRequest / got.bare.cpuPerRequest;
      rows.push({ c, ratio, p99Ratio, cpuRatio });
      const flag = c.target ? `${fmt(ratio, 2)} (${c.target}) ${ratio >= c.target ? 'ok' : 'BELOW'}` : fmt(ratio, 2);
      const bad = got.ours.bad || got.bare.bad ? `  [failed requests: ours ${got.ours.bad}, bare ${got.bare.bad}]` : '';
      const side = (g) =>
        `${fmt(g.rps).padStart(10)} ${fmt(g.p50).padStart(4)} ${fmt(g.p99).padStart(4)} ${`${fmt(g.cpuPerRequest)} µs`.padStart(8)}`;
      console.log(`${c.title.padEnd(20)} | ${side(got.ours)} | ${side(got.bare)} | ${flag.padEnd(14)} | ${fmt(p99Ratio, 2)}${bad}`);
    }
  }
  if (ROUNDS > 1) {
    console.log('ratio over rounds (min-max):');
    for (const c of CASES) {
      const mine = rows.filter((r) => r.c === c);
      const r = mine.map((x) => x.ratio);
      const p = mine.map((x) => x.p99Ratio);
      const u = mine.map((x) => x.cpuRatio);
      console.log(
        `  ${c.title.padEnd(20)} ${fmt(Math.min(...r), 2)}-${fmt(Math.max(...r), 2)}x, p99 ${fmt(Math.min(...p), 2)}-${fmt(Math.max(...p), 2)}x, ` +
          `cpu/req ${fmt(Math.min(...u), 2)}-${fmt(Math.max(...u), 2)}x`,
      );
    }
  }
  console.log('(latency in ms; cpu/req = the server process\'s CPU time per request; ratio = ours / bare requests per second)');
} finally {
  if (bare) await stop(bare);
  if (ours) await stop(ours);
  await fsp.rm(storageDir, { recursive: true, force: true });
}
