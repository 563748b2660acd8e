// Where the client's time per request goes: CPU time of one request (put-then-get pairs against
// the minimal in-memory server, in a process of its own) for four ways of sending it, each adding
// one layer to the one before:
//
//   raw      node:http with a keep-alive agent, nothing else
//   adapter  the client's lean adapter, called directly with a request prepared as the client does
//   axios    the same adapter behind axios and axios-retry, set up as the client sets them up
//   axios-md5  the axios layer doing the integrity checks' own work by hand: the MD5 of each body,
//            Content-MD5 on the put, the ETag compared (the floor of any client that checks)
//   no-md5   ApifyClient with integrity: false: argument checks, bodies, the consistency journal,
//            then all of the above
//   client   ApifyClient as users get it: the same plus the MD5 checks of end-to-end integrity
//            (Content-MD5 on puts, the ETag of each get checked)
//
// Not a test: the figures vary with the machine. The layers take turns for `--rounds` rounds, in
// a new random order each round; each figure is the median over the rounds (CPU time:
// process.cpuUsage of this process). A new order each round: a layer is not always the one that
// collects the garbage of the same layer before it. The client's ratios to the axios floor are
// also taken round by round (the layers of one round ran under the same load) and their median
// shown: on a busy machine that is the steadier figure.
//
// `--layers axios,no-md5,client` runs only those layers. `--baseline DIR` adds the client of
// another build (its `dist` folder) as `base-off` and `base`, to measure a change against the
// build before it in one run. With a baseline loaded, every client layer's ratio to axios comes out
// a few points higher than without (two copies of the client in one process slow the code they
// share): compare the builds with the `client / base` line, and take ratios to axios from runs
// without a baseline. (Measured so, this build looked about a tenth cheaper than the one before it;
// each alone in its process, the two cost the same: the baseline figure is only a hint.)
//
// The bound: the client's own cost within 10% of its floor. Without integrity checks the floor is
// `axios` (`no-md5 / axios`); with them (the default) it is `axios-md5` (`client / axios-md5`):
// hashing every body is the price of the checks, not of the client.
//
//   npm run bench:cost
//   node bench/request-cost.mjs --concurrency 1 --rounds 25 --ops 250
//   node bench/request-cost.mjs --layers axios,no-md5,client --baseline /tmp/dist-before
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import axios from 'axios';
import axiosRetry from 'axios-retry';
import { build } from 'tsup';
import { ApifyClient } from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '250' },
    rounds: { type: 'string', default: '25' },
    concurrency: { type: 'string', default: '32' },
    layers: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const OPS = Number(args.ops);
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const VALUE = { hello: 'world', n: 42, list: [1, 2, 3], text: 'x'.repeat(64) };

/**
 * The lean adapter is internal to the package: it is compiled from its source for this run, into
 * node_modules/.cache so that its imports (axios) resolve.
 */
async function loadAdapter() {
  const outDir = path.join(here, '../node_modules/.cache/apify-kv-bench');
  await build({
    config: false,
    entry: { 'node-adapter': path.join(here, '../src/client/platform/node-adapter.ts') },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir,
    outExtension: () => ({ js: '.mjs' }),
    silent: true,
  });
  return import(pathToFileURL(path.join(outDir, 'node-adapter.mjs')).href);
}

const { nodeAdapter } = await loadAdapter();
const server = fork(path.join(here, 'server-process.mjs'), ['memory', os.tmpdir()], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const baseUrl = await new Promise((resolve) => server.once('message', (m) => resolve(m.url)));

try {
  const created = await fetch(`${baseUrl}/v2/key-value-stores?name=cost`, { method: 'POST' });
  const storeId = (await created.json()).data.id;
  const recordUrl = (key) => `${baseUrl}/v2/key-value-stores/${storeId}/records/${key}`;
  const { hostname, port, host } = new URL(baseUrl);

  const agent = new http.Agent({ keepAlive: true });
  const rawRequest = (method, key, body, headers) =>
    new Promise((resolve, reject) => {
      const req = http.request({ hostname, port, method, path: new URL(recordUrl(key)).pathname, agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const raw = {
    put: (key, value) => {
      const body = JSON.stringify(value);
      return rawRequest('PUT', key, body, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
    },
    get: async (key) => JSON.parse(await rawRequest('GET', key)),
  };

  // A request as the client prepares it for its adapter (see PreparedRequest in platform/types.ts).
  const baseHeaders = { 'User-Agent': 'apify-kv-client', 'Accept-Encoding': 'gzip, deflate, br' };
  const prepared = (value) => ({
    shortPath: true,
    headers: value === undefined ? { ...baseHeaders } : { ...baseHeaders, 'Content-Type': 'application/json; charset=utf-8' },
    data: value === undefined ? undefined : Buffer.from(JSON.stringify(value)),
    timeoutMillis: 30_000,
    stream: false,
    signal: undefined,
  });
  const viaAdapter = {
    put: (key, value) => nodeAdapter({ method: 'PUT', url: recordUrl(key), call: prepared(value) }),
    get: async (key) => JSON.parse((await nodeAdapter({ method: 'GET', url: recordUrl(key), call: prepared() })).data),
  };

  // axios and axios-retry as the client sets them up (http/http-client.ts).
  const instance = axios.create();
  for (const key of Object.keys(instance.defaults)) delete instance.defaults[key];
  const { requestInterceptorId } = axiosRetry(instance, {
    retries: Infinity,
    retryCondition: () => false,
    retryDelay: () => 0,
    shouldResetTimeout: true,
  });
  instance.interceptors.request.eject(requestInterceptorId);
  const viaAxios = {
    put: (key, value) => instance.request({ method: 'PUT', url: recordUrl(key), adapter: nodeAdapter, call: prepared(value) }),
    get: async (key) =>
      JSON.parse((await instance.request({ method: 'GET', url: recordUrl(key), adapter: nodeAdapter, call: prepared() })).data),
  };

  // The floor of a client that checks bodies: the axios layer doing by hand what the integrity
  // checks must do at the least (one MD5 of each body, Content-MD5 on the put, the ETag compared).
  const md5 = (bytes) => crypto.hash('md5', bytes, 'hex');
  const viaAxiosChecked = {
    put: async (key, value) => {
      const call = prepared(value);
      const digest = md5(call.data);
      call.headers['Content-MD5'] = Buffer.from(digest, 'hex').toString('base64');
      const response = await instance.request({ method: 'PUT', url: recordUrl(key), adapter: nodeAdapter, call });
      if (response.headers.etag !== `"${digest}"`) throw new Error('the ETag is not the MD5 sent');
    },
    get: async (key) => {
      const response = await instance.request({ method: 'GET', url: recordUrl(key), adapter: nodeAdapter, call: prepared() });
      if (response.headers.etag !== `"${md5(response.data)}"`) throw new Error('the body is not what its ETag names');
      return JSON.parse(response.data);
    },
  };

  // The client as users get it (end-to-end integrity checks on), and with `integrity: false`.
  const clientLayer = (options, Client = ApifyClient) => {
    const kvs = new Client({ baseUrl, ...options }).keyValueStores;
    return {
      put: (key, body) => kvs.putRecord({ storeId, key, body }),
      get: async (key) => (await kvs.getRecord({ storeId, key })).body,
    };
  };

  let layers = {
    raw,
    adapter: viaAdapter,
    axios: viaAxios,
    'axios-md5': viaAxiosChecked,
    'no-md5': clientLayer({ integrity: false }),
    client: clientLayer({}),
  };
  if (args.baseline) {
    const { ApifyClient: BaseClient } = await import(pathToFileURL(path.resolve(args.baseline, 'index.js')).href);
    layers['base-off'] = clientLayer({ integrity: false }, BaseClient);
    layers.base = clientLayer({}, BaseClient);
  }
  if (args.layers) {
    const wanted = args.layers.split(',');
    if (args.baseline) wanted.push('base-off', 'base');
    layers = Object.fromEntries(Object.entries(layers).filter(([name]) => wanted.includes(name)));
  }
  const first = Object.keys(layers)[0];

  /** Runs `ops` put-then-get pairs; returns CPU microseconds per request and pairs per second. */
  async function measure(layer) {
    let next = 0;
    const worker = async () => {
      while (next < OPS) {
        const i = next++;
        const key = `k${i % 500}`;
        await layer.put(key, { ...VALUE, i });
        if ((await layer.get(key)).i !== i) throw new Error('read back something else');
      }
    };
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const cpu = process.cpuUsage(cpuBefore);
    return { micros: (cpu.user + cpu.system) / (OPS * 2), rate: OPS / ((performance.now() - started) / 1000) };
  }

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };

  for (const layer of Object.values(layers)) await measure(layer); // warm-up
  const results = Object.fromEntries(Object.keys(layers).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Fisher-Yates: a turn's position (what ran just before it) is not the same every round.
    const order = Object.keys(layers);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const name of order) results[name].push(await measure(layers[name]));
  }

  console.log(
    `CPU time per request, ${OPS} put-then-get pairs per round, ${ROUNDS} rounds, concurrency ${CONCURRENCY}; node ${process.version}; ${os.cpus().length} cores; ${host}`,
  );
  let previous;
  for (const [name, rounds] of Object.entries(results)) {
    const micros = median(rounds.map((r) => r.micros));
    const ratio = median(rounds.map((r, i) => r.rate / results[first][i].rate));
    const added = previous === undefined ? '' : ` (${micros - previous >= 0 ? '+' : ''}${(micros - previous).toFixed(1)})`;
    console.log(`  ${name.padEnd(8)} ${micros.toFixed(1).padStart(7)} µs${added.padEnd(10)} throughput ${ratio.toFixed(2)}x ${first}`);
    previous = micros;
  }
  // The client's own cost measured against the axios floor (the bound: within 10%): the
  // ratio of the medians, and the median of each round's ratio.
  if (results.axios) {
    const cost = (name) => median(results[name].map((r) => r.micros));
    const paired = (name) => median(results[name].map((r, i) => r.micros / results.axios[i].micros));
    for (const name of ['client', 'no-md5', 'base', 'base-off'].filter((n) => results[n])) {
      console.log(`  ${name} / axios: ${(cost(name) / cost('axios')).toFixed(3)}x (median of rounds ${paired(name).toFixed(3)}x)`);
    }
  }
  // The client with its checks against the floor of checking clients (the checks' own work done by hand on axios).
  if (results['axios-md5']) {
    const cost = (name) => median(results[name].map((r) => r.micros));
    const paired = (name) => median(results[name].map((r, i) => r.micros / results['axios-md5'][i].micros));
    for (const name of ['client', 'base'].filter((n) => results[n])) {
      console.log(`  ${name} / axios-md5: ${(cost(name) / cost('axios-md5')).toFixed(3)}x (median of rounds ${paired(name).toFixed(3)}x)`);
    }
  }
  // This build against the baseline, round by round.
  for (const [name, base] of [['client', 'base'], ['no-md5', 'base-off']].filter(([n, b]) => results[n] && results[b])) {
    const ratio = median(results[name].map((r, i) => r.micros / results[base][i].micros));
    console.log(`  ${name} / ${base}: ${ratio.toFixed(3)}x (median of rounds)`);
  }
  console.log(`  load average: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  server.kill('SIGTERM');
}
