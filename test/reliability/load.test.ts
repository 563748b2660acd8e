/**
 * Part 3 of the reliability suite: 64 clients, each with its own keep-alive connection, hammer
 * the server (a separate process, so its memory can be measured) for a bounded time. No request
 * may fail (retries are off, so none can hide), every read must match what its client wrote, and
 * the server's resident memory must stay bounded. Latency percentiles are printed.
 */
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApifyClient, type RecordValue } from '../../src/index.js';
import { seededRandom } from './support/fault-proxy.js';
import {
  buildServerLauncher,
  formatMiB,
  makeTempDir,
  MiB,
  percentile,
  processStorageKind,
  removeDir,
  spawnServer,
  type ServerProcess,
} from './support/server-process.js';

const CONNECTIONS = 64;
const LOAD_MILLIS = 20_000;
/**
 * Requests each client must at least have made. Over S3 (test/s3/reliability.test.ts) every
 * request waits on S3 round trips to a gateway sharing the same cores, so fewer fit in the time.
 */
const MIN_REQUESTS_PER_CLIENT = processStorageKind() === 's3' ? 5 : 10;
const KEYS_PER_WORKER = 20;
const STORES = 4;
const SEED = 3_2024;
/** Growth of the server's RSS from start to end that still counts as bounded. */
const MAX_RSS_GROWTH = 150 * MiB;

let workDir: string;
let server: ServerProcess;

beforeAll(async () => {
  workDir = await makeTempDir('kv-load-');
  const launcher = await buildServerLauncher(workDir);
  server = await spawnServer(launcher, { storageDir: `${workDir}/storage` });
}, 60_000);

afterAll(async () => {
  await server?.kill('SIGTERM');
  await removeDir(workDir);
});

type OpKind = 'put' | 'get' | 'list' | 'delete' | 'exists';

function bodyFor(random: () => number, key: string, n: number): RecordValue {
  if (random() < 0.5) return { key, n, items: Array.from({ length: Math.floor(random() * 100) }, (_, i) => i * n) };
  return `${key}:${n}:`.padEnd(100 + Math.floor(random() * 8000), 'x');
}

describe('load', () => {
  it(`serves ${CONNECTIONS} concurrent connections for ${LOAD_MILLIS / 1000} s without errors, in bounded memory`, async () => {
    const setup = new ApifyClient({ baseUrl: server.url });
    const storeIds: string[] = [];
    for (let s = 0; s < STORES; s++) storeIds.push((await setup.keyValueStores.getOrCreateStore({ storeName: `load-${s}` })).id);

    const rssStart = await server.rssBytes();
    let rssPeak = rssStart;
    let socketsPeak = 0;
    const sampler = setInterval(() => {
      server.rssBytes().then(
        (rss) => (rssPeak = Math.max(rssPeak, rss)),
        () => {},
      );
      server.openSockets().then(
        (count) => (socketsPeak = Math.max(socketsPeak, count ?? 0)),
        () => {},
      );
    }, 500);

    const latencies: Record<OpKind, number[]> = { put: [], get: [], list: [], delete: [], exists: [] };
    const errors: string[] = [];
    const wrongReads: string[] = [];
    const started = performance.now();
    const deadline = started + LOAD_MILLIS;

    const worker = async (w: number) => {
      // Retries off: an error under load must show up, not be absorbed.
      const client = new ApifyClient({ baseUrl: server.url, maxRetries: 0, timeoutSecs: 30 });
      const kvs = client.keyValueStores;
      const random = seededRandom(SEED * 100 + w);
      const storeId = storeIds[w % STORES]!;
      const prefix = `w${String(w).padStart(2, '0')}-`;
      const model = new Map<string, unknown>();
      for (let n = 0; performance.now() < deadline; n++) {
        const key = `${prefix}${Math.floor(random() * KEYS_PER_WORKER)}`;
        const r = random();
        const kind: OpKind = r < 0.35 ? 'put' : r < 0.75 ? 'get' : r < 0.85 ? 'list' : r < 0.95 ? 'delete' : 'exists';
        const t0 = performance.now();
        try {
          if (kind === 'put') {
            const body = bodyFor(random, key, n);
            await kvs.putRecord({ storeId, key, body });
            model.set(key, body);
          } else if (kind === 'get') {
            const got = await kvs.getRecord({ storeId, key });
            if (!isDeepStrictEqual(got?.body ?? null, model.get(key) ?? null)) wrongReads.push(key);
          } else if (kind === 'list') {
            const page = await kvs.listKeys({ storeId, prefix });
            const listed = page.items.map((item) => item.key);
            if (!isDeepStrictEqual(listed, [...model.keys()].sort())) wrongReads.push(`list ${prefix}`);
          } else if (kind === 'delete') {
            await kvs.deleteRecord({ storeId, key });
            model.delete(key);
          } else {
            if ((await kvs.recordExists({ storeId, key })) !== model.has(key)) wrongReads.push(`exists ${key}`);
          }
          latencies[kind].push(performance.now() - t0);
        } catch (error) {
          errors.push(`${kind} ${key}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
    const elapsed = performance.now() - started;
    clearInterval(sampler);
    const rssEnd = await server.rssBytes();
    rssPeak = Math.max(rssPeak, rssEnd);

    const all = Object.values(latencies).flat();
    const fmt = (values: number[]) =>
      `p50 ${percentile(values, 50).toFixed(1)} ms, p95 ${percentile(values, 95).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms`;
    console.log(
      [
        `load: ${CONNECTIONS} clients for ${(elapsed / 1000).toFixed(1)} s; most sockets open at the server: ${socketsPeak}`,
        `  operations: ${all.length} (${((all.length * 1000) / elapsed).toFixed(0)}/s): ${Object.entries(latencies).map(([k, v]) => `${k} ${v.length}`).join(', ')}`,
        `  errors: ${errors.length}, wrong reads: ${wrongReads.length}`,
        `  latency, all: ${fmt(all)}`,
        ...Object.entries(latencies).map(([k, v]) => `  latency, ${k}: ${fmt(v)}`),
        `  server RSS: start ${formatMiB(rssStart)}, peak ${formatMiB(rssPeak)}, end ${formatMiB(rssEnd)}`,
      ].join('\n'),
    );

    expect(errors).toEqual([]);
    expect(wrongReads).toEqual([]);
    expect(all.length).toBeGreaterThan(CONNECTIONS * MIN_REQUESTS_PER_CLIENT);
    // 64 keep-alive connections (plus the listening socket) were open at once.
    if (process.platform === 'linux') expect(socketsPeak).toBeGreaterThanOrEqual(CONNECTIONS);
    expect(rssEnd).toBeLessThan(rssStart + MAX_RSS_GROWTH);
    expect(server.alive()).toBe(true);
  }, LOAD_MILLIS + 60_000);
});
