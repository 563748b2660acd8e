/**
 * Part 2 of the reliability suite: the server simulates an eventually consistent backend (reads
 * may see the previous state of a record for up to 300 ms after a write). A workload that reads
 * right after its own writes, updates and deletes must never see stale data through a client
 * with its consistency handling on, and must see stale data with it off (which shows the test
 * measures something). A second client that did not write waits for new records with `waitMillis`.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import { buildServerLauncher, makeTempDir, removeDir, spawnServer, type ServerProcess } from './support/server-process.js';

const LAG_MILLIS = 300;
const WORKERS = 12;
const KEYS_PER_WORKER = 5;

let workDir: string;
let server: ServerProcess;

beforeAll(async () => {
  workDir = await makeTempDir('kv-consistency-');
  const launcher = await buildServerLauncher(workDir);
  server = await spawnServer(launcher, { storageDir: `${workDir}/storage`, consistencyLagMillis: LAG_MILLIS });
}, 60_000);

afterAll(async () => {
  await server?.kill('SIGTERM');
  await removeDir(workDir);
});

interface WorkloadResult {
  reads: number;
  stale: string[];
  millis: number;
}

/**
 * For each key: create, read; update, read; delete, read; create again, read; with existence
 * checks in between. Every read is compared with what the same client just wrote.
 */
async function readAfterWriteWorkload(client: ApifyClient, storeId: string): Promise<WorkloadResult> {
  const started = Date.now();
  const stale: string[] = [];
  let reads = 0;
  const kvs = client.keyValueStores;

  const expectRecord = async (key: string, expected: unknown) => {
    reads++;
    const got = await kvs.getRecord({ storeId, key });
    if (!isDeepStrictEqual(got?.body ?? null, expected)) {
      stale.push(`${key}: expected ${JSON.stringify(expected)}, read ${JSON.stringify(got?.body ?? null)}`);
    }
  };
  const expectExists = async (key: string, expected: boolean) => {
    reads++;
    const exists = await kvs.recordExists({ storeId, key });
    if (exists !== expected) stale.push(`${key}: expected exists=${expected}, got ${exists}`);
  };

  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let k = 0; k < KEYS_PER_WORKER; k++) {
        const key = `w${w}-k${k}`;
        const version = (v: number) => ({ key, version: v, padding: 'x'.repeat(50 * v) });
        await kvs.putRecord({ storeId, key, body: version(1) });
        await expectRecord(key, version(1));
        await expectExists(key, true);
        await kvs.putRecord({ storeId, key, body: version(2) });
        await expectRecord(key, version(2));
        await kvs.deleteRecord({ storeId, key });
        await expectRecord(key, null);
        await expectExists(key, false);
        await kvs.putRecord({ storeId, key, body: version(3) });
        await expectRecord(key, version(3));
      }
    }),
  );
  return { reads, stale, millis: Date.now() - started };
}

describe('eventual consistency', () => {
  it('a client with consistency handling on never reads stale data after its own writes', async () => {
    const client = new ApifyClient({ baseUrl: server.url });
    const store = await client.keyValueStores.getOrCreateStore({ storeName: 'consistency-on' });
    const result = await readAfterWriteWorkload(client, store.id);
    console.log(
      `consistency on (lag up to ${LAG_MILLIS} ms): ${result.reads} reads, ${result.stale.length} stale, ${(result.millis / 1000).toFixed(1)} s`,
    );
    expect(result.reads).toBe(WORKERS * KEYS_PER_WORKER * 6);
    expect(result.stale).toEqual([]);
  }, 60_000);

  it('the same workload with consistencyWindowMillis: 0 does see stale data', async () => {
    const client = new ApifyClient({ baseUrl: server.url, consistencyWindowMillis: 0 });
    const store = await client.keyValueStores.getOrCreateStore({ storeName: 'consistency-off' });
    const result = await readAfterWriteWorkload(client, store.id);
    console.log(
      `consistency off (lag up to ${LAG_MILLIS} ms): ${result.reads} reads, ${result.stale.length} stale, ${(result.millis / 1000).toFixed(1)} s`,
    );
    expect(result.reads).toBe(WORKERS * KEYS_PER_WORKER * 6);
    // Reads sent right after each write, with a random lag in [0, 300 ms): many come back stale.
    expect(result.stale.length).toBeGreaterThan(0);
  }, 60_000);

  it('a client that did not write sees new records when it reads with waitMillis', async () => {
    const writer = new ApifyClient({ baseUrl: server.url });
    const reader = new ApifyClient({ baseUrl: server.url });
    const store = await writer.keyValueStores.getOrCreateStore({ storeName: 'consistency-reader' });
    const storeId = store.id;
    const keys = Array.from({ length: 40 }, (_, i) => `new-${i}`);

    let missedWithoutWait = 0;
    const seen: Array<{ key: string; body: unknown; waited: number }> = [];
    // Four at a time, so each read follows its write closely.
    for (let i = 0; i < keys.length; i += 4) {
      await Promise.all(
        keys.slice(i, i + 4).map(async (key) => {
          await writer.keyValueStores.putRecord({ storeId, key, body: { key } });
          // Without waitMillis the reader is not delayed, so it may well miss the new record.
          if ((await reader.keyValueStores.getRecord({ storeId, key })) === null) missedWithoutWait++;
          const started = Date.now();
          const got = await reader.keyValueStores.getRecord({ storeId, key, waitMillis: 5_000 });
          seen.push({ key, body: got?.body ?? null, waited: Date.now() - started });
        }),
      );
    }
    const waited = seen.map((s) => s.waited);
    console.log(
      `second client: ${missedWithoutWait}/${keys.length} missed without waitMillis; with waitMillis all read after at most ${Math.max(...waited)} ms`,
    );
    expect(missedWithoutWait).toBeGreaterThan(0);
    expect(seen).toHaveLength(keys.length);
    for (const { key, body } of seen) expect(body, key).toEqual({ key });
  }, 60_000);
});
