/**
 * Bulk record operations against the real local server: results per item, bounded concurrency
 * (counted by an adapter wrapped around the lean Node adapter), stopOnError, abort, and how far
 * ahead of the results items are pulled from a very large input.
 */
import type { AxiosAdapter } from 'axios';
import { describe, expect, it } from 'vitest';
import { ApifyClient, isApifyArgumentError, type BulkRecordInput, type BulkResult } from '../../src/index.js';
import { runBulk } from '../../src/client/resources/bulk.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { startTestServer } from '../server/helpers.js';

/** An adapter that counts the requests in flight, and can hold them until released (or aborted). */
function countingAdapter() {
  const state = { inFlight: 0, max: 0, started: 0, aborted: 0, held: false, release: () => {} };
  let gate = Promise.resolve();
  const hold = () => {
    state.held = true;
    gate = new Promise<void>((resolve) => (state.release = resolve));
  };
  const adapter: AxiosAdapter = async (config) => {
    state.inFlight++;
    state.started++;
    state.max = Math.max(state.max, state.inFlight);
    try {
      if (state.held) {
        const signal = config.signal as AbortSignal | undefined;
        await Promise.race([
          gate,
          new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true })),
        ]);
      }
      return await nodeAdapter(config);
    } catch (error) {
      if ((config.signal as AbortSignal | undefined)?.aborted) state.aborted++;
      throw error;
    } finally {
      state.inFlight--;
    }
  };
  return { adapter, state, hold };
}

async function setUp() {
  const server = await startTestServer();
  const counting = countingAdapter();
  const client = new ApifyClient({ baseUrl: server.url, adapter: counting.adapter, maxRetries: 0 });
  const { id } = await client.keyValueStores.getOrCreate('bulk');
  return { client, store: client.keyValueStore(id), storeId: id, counting };
}

/** Polls a condition, within a bound. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

async function collect<T>(results: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const r of results) all.push(r);
  return all;
}

/** A generator of `count` records that counts how many were pulled and whether it was closed. */
function counted(count: number, first?: BulkRecordInput) {
  const stats = { pulled: 0, closed: false };
  function* items(): Generator<BulkRecordInput> {
    try {
      for (let i = 0; i < count; i++) {
        stats.pulled++;
        yield i === 0 && first ? first : { key: `k-${i}`, value: { i } };
      }
    } finally {
      stats.closed = true;
    }
  }
  return { items: items(), stats };
}

describe('bulk operations on the store client', () => {
  it('puts, gets and deletes 200 records at concurrency 8 with a correct result for each', async () => {
    const { store, counting } = await setUp();
    const keys = Array.from({ length: 200 }, (_, i) => `rec-${i}`);
    const puts = await collect(store.putRecords(keys.map((key, i) => ({ key, value: { i, key } })), { concurrency: 8 }));
    expect(puts.filter((r) => r.ok).map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(counting.state.max).toBeLessThanOrEqual(8);
    expect(counting.state.max).toBeGreaterThan(1);

    counting.state.max = 0;
    const gets = await collect(store.getRecords(keys, { concurrency: 8 }));
    expect(gets).toHaveLength(200);
    for (const r of gets) {
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.record?.value).toEqual({ i: keys.indexOf(r.key), key: r.key });
    }
    expect(counting.state.max).toBeLessThanOrEqual(8);

    const deletes = await collect(store.deleteRecords(keys, { concurrency: 8 }));
    expect(deletes.every((r) => r.ok)).toBe(true);
    expect(deletes).toHaveLength(200);
    const after = await collect(store.getRecords(keys.slice(0, 20)));
    expect(after.every((r) => r.ok && r.record === undefined)).toBe(true);
  });

  it('reports one failing item as an error result and stores all the others', async () => {
    const { store } = await setUp();
    const items = Array.from({ length: 50 }, (_, i) => ({ key: i === 17 ? 'not a valid key!' : `ok-${i}`, value: `v${i}` }));
    const results = await collect(store.putRecords(items, { concurrency: 4 }));
    const failed = results.filter((r): r is Extract<BulkResult, { ok: false }> => !r.ok);
    expect(failed.map((r) => r.key)).toEqual(['not a valid key!']);
    expect(isApifyArgumentError(failed[0]!.error)).toBe(true);
    expect(results.filter((r) => r.ok)).toHaveLength(49);
    expect((await store.getRecord('ok-49'))?.value).toBe('v49');
  });

  it('stops taking items after a failure with stopOnError', async () => {
    const { store } = await setUp();
    const { items, stats } = counted(1000, { key: 'bad key', value: 1 });
    const results = await collect(store.putRecords(items, { concurrency: 2, stopOnError: true }));
    expect(results.filter((r) => !r.ok).map((r) => r.key)).toEqual(['bad key']);
    expect(stats.pulled).toBeLessThanOrEqual(3);
    expect(results.length).toBeLessThanOrEqual(3);
    expect(stats.closed).toBe(true);
    // Without stopOnError the same input runs to the end.
    const all = counted(30, { key: 'bad key', value: 1 });
    expect(await collect(store.putRecords(all.items, { concurrency: 2 }))).toHaveLength(30);
  });

  it('on abort takes no new item, aborts the calls in flight and throws the reason', async () => {
    const { store, counting } = await setUp();
    const { items, stats } = counted(1000);
    counting.hold();
    const controller = new AbortController();
    const reason = new Error('stop now');
    const run = collect(store.putRecords(items, { concurrency: 8, signal: controller.signal }));
    await until(() => counting.state.inFlight === 8, '8 requests in flight');
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(counting.state.aborted).toBe(8);
    expect(counting.state.inFlight).toBe(0);
    expect(stats.pulled).toBe(8);
    expect(stats.closed).toBe(true);
  });

  it('pulls only a few items ahead of the results from a 100,000-item generator, and closes it on break', async () => {
    const { store, counting } = await setUp();
    const { items, stats } = counted(100_000);
    let seen = 0;
    let maxAhead = 0;
    for await (const r of store.putRecords(items, { concurrency: 8 })) {
      expect(r.ok).toBe(true);
      seen++;
      maxAhead = Math.max(maxAhead, stats.pulled - seen);
      if (seen === 300) break;
    }
    expect(maxAhead).toBeLessThanOrEqual(8 + 1);
    expect(stats.pulled).toBeLessThanOrEqual(300 + 8);
    expect(stats.closed).toBe(true);
    expect(counting.state.inFlight).toBe(0);
    expect(counting.state.max).toBeLessThanOrEqual(8);
  });

  it('refuses a bad concurrency or input at the call', async () => {
    const { store } = await setUp();
    expect(isApifyArgumentError(caughtSync(() => store.putRecords([], { concurrency: 0 })))).toBe(true);
    expect(isApifyArgumentError(caughtSync(() => store.getRecords(42 as never)))).toBe(true);
    expect(isApifyArgumentError(caughtSync(() => store.deleteRecords([], { concurency: 2 } as never)))).toBe(true);
  });
});

function caughtSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('bulk operations on the flat keyValueStores API', () => {
  it('puts, gets and deletes records of a named store', async () => {
    const { client, storeId } = await setUp();
    const flat = client.keyValueStores;
    const keys = Array.from({ length: 30 }, (_, i) => `flat-${i}`);
    const puts = await collect(flat.putRecords(keys.map((key) => ({ key, body: key.toUpperCase(), contentType: 'text/plain' })), { storeId }));
    expect(puts.every((r) => r.ok)).toBe(true);
    const gets = await collect(flat.getRecords(keys, { storeId, concurrency: 3 }));
    expect(gets.map((r) => (r.ok ? r.record?.body : r.error)).sort()).toEqual(keys.map((k) => k.toUpperCase()).sort());
    expect((await collect(flat.deleteRecords(keys, { storeId }))).every((r) => r.ok)).toBe(true);
    expect(await flat.getRecord({ storeId, key: 'flat-0' })).toBeNull();
  });
});

describe('runBulk', () => {
  it('runs 100,000 items with at most `concurrency` in flight and bounded pull-ahead', async () => {
    let pulled = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    function* keys() {
      for (let i = 0; i < 100_000; i++) {
        pulled++;
        yield `k${i}`;
      }
    }
    const work = async (key: string) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // A turn of the event loop, as I/O takes; then out of order: some items take a few more turns.
      await new Promise((resolve) => setImmediate(resolve));
      for (let t = Number(key.slice(1)) % 3; t > 0; t--) await Promise.resolve();
      inFlight--;
      return { n: key.length };
    };
    let seen = 0;
    let maxAhead = 0;
    for await (const r of runBulk('test', keys(), String, work, { concurrency: 16 })) {
      if (!r.ok) throw r.error;
      seen++;
      maxAhead = Math.max(maxAhead, pulled - seen);
    }
    expect(seen).toBe(100_000);
    expect(maxInFlight).toBe(16);
    expect(maxAhead).toBeLessThanOrEqual(16 + 1);
  });

  it('takes an async iterable, and a failing input ends the loop with its error after aborting the calls in flight', async () => {
    async function* keys() {
      for (let i = 0; i < 5; i++) yield `a${i}`;
      throw new Error('input broke');
    }
    const aborted: string[] = [];
    const work = (key: string, call: { signal?: AbortSignal }) =>
      new Promise<object>((resolve, reject) => {
        // `a0`..`a2` finish; `a3` and `a4` hang until aborted.
        if (Number(key.slice(1)) < 3) return void setImmediate(() => resolve({}));
        call.signal?.addEventListener('abort', () => {
          aborted.push(key);
          reject(call.signal!.reason);
        });
      });
    const seen: string[] = [];
    const run = (async () => {
      for await (const r of runBulk('test', keys(), String, work, { concurrency: 3 })) seen.push(r.key);
    })();
    await expect(run).rejects.toThrow('input broke');
    expect(seen.sort()).toEqual(['a0', 'a1', 'a2']);
    expect(aborted.sort()).toEqual(['a3', 'a4']);
  });
});
