// A batch job against the platform's rate limit, simulated locally: a server taking N requests
// per second per store (`--rate-limit`), W workers putting small records into one store. Compares
// our client with adaptive rate limiting, our client without it, and the official apify-client:
// wall time, throughput as a share of the limit, 429s received, failures.
//
//   node bench/rate-limit.mjs [--puts 10000] [--workers 64] [--limit 60]
//
// Records are kept in memory-backed storage (/dev/shm where there is one), so that the disk's
// fsyncs are not what limits the job.
//
// Then an outage: the API answers 503 to everything for 10 s while each of the W workers puts one
// record; counts the requests sent during the outage with the retry budget and without it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApifyClient as OfficialClient } from 'apify-client';
import { ApifyClient } from '../dist/index.js';
import { startServer } from '../dist/server/index.js';

const { values } = parseArgs({
  options: { puts: { type: 'string', default: '10000' }, workers: { type: 'string', default: '64' }, limit: { type: 'string', default: '60' } },
});
const PUTS = Number(values.puts);
const WORKERS = Number(values.workers);
const LIMIT = Number(values.limit);

/** Counts every request and every 429 a server answers, by wrapping its handler. */
function counting(server) {
  const counts = { requests: 0, throttled: 0 };
  const [listener] = server.server.listeners('request');
  server.server.removeAllListeners('request');
  server.server.on('request', (req, res) => {
    counts.requests++;
    res.on('finish', () => {
      if (res.statusCode === 429) counts.throttled++;
    });
    listener(req, res);
  });
  return counts;
}

const scratch = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

async function runJob(name, put) {
  const dir = mkdtempSync(path.join(scratch, 'kv-bench-rate-'));
  const server = await startServer({ host: '127.0.0.1', port: 0, storageDir: dir, rateLimitPerSecond: LIMIT });
  const counts = counting(server);
  const storeId = await put.setUp(server.url);
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < PUTS) {
        const i = next++;
        await put.one(storeId, `k-${i}`, { i }).catch(() => failures++);
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  const rate = PUTS / secs;
  console.log(
    `${name.padEnd(28)} ${secs.toFixed(1).padStart(6)} s  ${rate.toFixed(1).padStart(6)} puts/s (${((rate / LIMIT) * 100).toFixed(0)}% of the limit)  ` +
      `429s ${counts.throttled}/${counts.requests} (${((counts.throttled / counts.requests) * 100).toFixed(1)}%)  failures ${failures}`,
  );
}

function ours(rateLimit) {
  let client;
  return {
    async setUp(url) {
      client = new ApifyClient({ baseUrl: url, rateLimit, maxRetries: 20 });
      return (await client.keyValueStores.getOrCreateStore({ storeName: 'job' })).id;
    },
    one: (storeId, key, value) => client.keyValueStores.putRecord({ storeId, key, body: value }),
  };
}

function official() {
  let client;
  return {
    async setUp(url) {
      client = new OfficialClient({ baseUrl: url, maxRetries: 20 });
      return (await client.keyValueStores().getOrCreate('job')).id;
    },
    one: (storeId, key, value) => client.keyValueStore(storeId).setRecord({ key, value }),
  };
}

console.log(`${PUTS} puts, ${WORKERS} workers, server limit ${LIMIT} requests/s per store`);
await runJob('ours, adaptive', ours('adaptive'));
await runJob('ours, no rate limiting', ours('off'));
await runJob('apify-client', official());

// The outage: a server that refuses connections for 10 s, then comes back.
async function outage(retryBudget) {
  let refusing = true;
  let sentDuringOutage = 0;
  const dir = mkdtempSync(path.join(scratch, 'kv-bench-outage-'));
  const backend = await startServer({ host: '127.0.0.1', port: 0, storageDir: dir });
  // A front that answers 503 while "down" (connection-level refusal would need the port back).
  const front = http.createServer((req, res) => {
    if (refusing) {
      sentDuringOutage++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"type":"server-error","message":"down"}}');
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: backend.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${front.address().port}`;
  const client = new ApifyClient({ baseUrl: url, retryBudget, maxRetries: 8, maxDelayBetweenRetriesMillis: 2000 });
  refusing = false;
  const store = await client.keyValueStores.getOrCreateStore({ storeName: 'outage' });
  refusing = true;
  sentDuringOutage = 0;
  const ends = setTimeout(() => (refusing = false), 10_000);
  let failures = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, (_, i) =>
      client.keyValueStores.putRecord({ storeId: store.id, key: `k-${i}`, body: { i } }).catch(() => failures++),
    ),
  );
  clearTimeout(ends);
  front.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  const mode = retryBudget === false ? 'no retry budget' : 'retry budget (default)';
  console.log(`outage 10 s, ${WORKERS} puts, ${mode}: ${sentDuringOutage} requests during the outage, ${failures} puts failed`);
}

await outage(undefined);
await outage(false);
