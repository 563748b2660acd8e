// Put-then-get throughput of several HTTP clients against one server, measured in one run
// and reported as a ratio of raw `node:http` keep-alive requests. Not a test: numbers vary
// with the machine and its load; compare the ratios. Each client is measured `--rounds` times,
// the clients taking turns. A round's ratio compares a client with raw in the same round,
// so both saw about the same load; the median of the rounds' ratios is reported, so a burst of
// load elsewhere on the machine does not decide the outcome. The throughput shown is each
// client's best round.
//
//   npm run bench:small                     # against the real local server (file store)
//   node bench/small.mjs --server memory    # against a minimal in-memory server (client cost only)
//   node bench/small.mjs --ops 3000 --rounds 5 --concurrency 1,32
import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import { ApifyClient as OfficialClient } from 'apify-client';
import { ApifyClient } from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    server: { type: 'string', default: 'local' },
    ops: { type: 'string', default: '250' },
    rounds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '1,32' },
    clients: { type: 'string', default: 'raw,apify-kv-client,axios,apify-client' },
  },
});
const OPS = Number(args.ops);
const ROUNDS = Number(args.rounds);
const LEVELS = args.concurrency.split(',').map(Number);
const VALUE = { hello: 'world', n: 42, list: [1, 2, 3], text: 'x'.repeat(64) };

/** Starts the server in its own process so it does not share the client's event loop. */
async function startServerProcess(kind) {
  const storageDir = mkdtempSync(path.join(os.tmpdir(), 'apify-kv-bench-'));
  const child = fork(path.join(here, 'server-process.mjs'), [kind, storageDir], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const url = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.url));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(storageDir, { recursive: true, force: true });
    },
  };
}

function rawClient(baseUrl) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const { hostname, port } = new URL(baseUrl);
  const request = (method, p, body, headers) =>
    new Promise((resolve, reject) => {
      const req = http.request({ hostname, port, method, path: p, agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode < 300 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    put: (store, key, value) => {
      const body = JSON.stringify(value);
      return request('PUT', `/v2/key-value-stores/${store}/records/${key}`, body, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
    },
    get: async (store, key) => JSON.parse(await request('GET', `/v2/key-value-stores/${store}/records/${key}`)),
    close: () => agent.destroy(),
  };
}

function ourClient(baseUrl) {
  const client = new ApifyClient({ baseUrl });
  const kvs = client.keyValueStores;
  return {
    put: (storeId, key, body) => kvs.putRecord({ storeId, key, body }),
    get: async (storeId, key) => (await kvs.getRecord({ storeId, key })).body,
    close: () => {},
  };
}

function plainAxios(baseUrl) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const ax = axios.create({ baseURL: baseUrl, httpAgent: agent });
  return {
    put: (store, key, value) => ax.put(`/v2/key-value-stores/${store}/records/${key}`, value),
    get: async (store, key) => (await ax.get(`/v2/key-value-stores/${store}/records/${key}`)).data,
    close: () => agent.destroy(),
  };
}

function officialClient(baseUrl) {
  const client = new OfficialClient({ baseUrl });
  return {
    put: (store, key, value) => client.keyValueStore(store).setRecord({ key, value }),
    get: async (store, key) => (await client.keyValueStore(store).getRecord(key)).value,
    close: () => {},
  };
}

const CLIENTS = { raw: rawClient, 'apify-kv-client': ourClient, axios: plainAxios, 'apify-client': officialClient };

async function createStore(baseUrl, name) {
  const res = await fetch(`${baseUrl}/v2/key-value-stores?name=${name}`, { method: 'POST' });
  return (await res.json()).data.id;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `ops` put-then-get pairs with `concurrency` workers; returns pairs per second. */
async function measure(client, storeId, ops, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < ops) {
      const i = next++;
      const key = `k${i % 500}`;
      await client.put(storeId, key, { ...VALUE, i });
      const got = await client.get(storeId, key);
      if (got.i === undefined) throw new Error('bad read');
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ops / ((performance.now() - started) / 1000);
}

const server = await startServerProcess(args.server);
try {
  console.log(
    `server: ${args.server}; ${OPS} put-then-get pairs per measurement, ${ROUNDS} rounds (ratio: median of the rounds; pairs/s: best round); node ${process.version}; ${os.cpus().length} cores`,
  );
  for (const concurrency of LEVELS) {
    const runs = [];
    for (const name of args.clients.split(',')) {
      const client = CLIENTS[name](server.url);
      const storeId = await createStore(server.url, `bench-${name.replace(/[^a-z]/g, '')}-${concurrency}`);
      await measure(client, storeId, Math.min(200, OPS), concurrency); // warm-up
      runs.push({ name, client, storeId, rates: [] });
    }
    const raw = runs.find((run) => run.name === 'raw');
    for (let round = 0; round < ROUNDS; round++) {
      for (const run of runs) run.rates.push(await measure(run.client, run.storeId, OPS, concurrency));
    }
    console.log(`\nconcurrency ${concurrency}`);
    for (const { name, client, rates } of runs) {
      client.close();
      const ratio = raw ? ` ${median(rates.map((rate, round) => rate / raw.rates[round])).toFixed(2)}x raw` : '';
      console.log(`  ${name.padEnd(16)} ${Math.max(...rates).toFixed(0).padStart(7)} pairs/s${ratio}`);
    }
  }
} finally {
  await server.stop();
}
