/**
 * Linearizability of the folder backend, Jepsen style: concurrent clients put, get and delete
 * a few keys with unique values and changing content types through the real server; every
 * key's history is checked with the Wing & Gong / Lowe checker (a read must agree on body and
 * content type). Then the server together with other writers on its folder: a second process
 * of ours and Crawlee's memory storage.
 */
import { promises as fsp } from 'node:fs';

import { MemoryStorage } from '@crawlee/memory-storage';
import { describe, expect, it } from 'vitest';

import { startSecondWriter, useSecondWriter } from '../storage/support/second-writer.js';
import { createStore, kvs, putRecord, raw, startTestServer, type TestServer } from '../server/helpers.js';
import { checkHistory, History } from '../support/linearizability.js';

/** Content types of one extension (so only the sidecar tells them apart) and of others. */
const TYPES = ['text/plain; charset=utf-8', 'text/plain; charset=x-test', 'application/json', 'application/x-thing'];
/** How long after the last acknowledged write the server must show every other writer's records. */
const CONVERGENCE_BOUND_MILLIS = 3000;

const encode = (body: string, contentType: string) => `${body}|${contentType}`;

async function getValue(server: TestServer, id: string, key: string): Promise<string | null> {
  const res = await raw(server, 'GET', `${kvs}/${id}/records/${key}`);
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
  return encode(res.text, String(res.headers['content-type']));
}

describe('one server, many clients', () => {
  it('is linearizable per key (body and content type together)', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'lin');
    const keys = ['a', 'b', 'c'];
    const history = new History();
    let next = 0;
    const client = async (c: number) => {
      for (let i = 0; i < 30; i++) {
        const key = keys[(c + i * 7) % keys.length]!;
        const roll = (c * 31 + i * 17) % 10;
        if (roll < 5) {
          const body = `v${next++}-c${c}`;
          const contentType = TYPES[(c + i) % TYPES.length]!;
          await history.put(key, encode(body, contentType), async () => {
            const res = await putRecord(server, id, key, body, contentType);
            if (res.status !== 201) throw new Error(`PUT answered ${res.status}`);
          });
        } else if (roll < 6) {
          await history.delete(key, async () => {
            const res = await raw(server, 'DELETE', `${kvs}/${id}/records/${key}`);
            if (res.status !== 204 && res.status !== 404) throw new Error(`DELETE answered ${res.status}`);
          });
        } else {
          await history.get(key, () => getValue(server, id, key));
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));
    expect(history.ops.filter((op) => op.ret === Infinity)).toEqual([]);
    expect(history.ops.length).toBe(240);
    expect(checkHistory(history.ops)).toEqual({ ok: true });
  });
});

describe('the server, a second process and Crawlee writing one folder', () => {
  const secondWriter = useSecondWriter();

  it(`loses nothing acknowledged, and the server shows every write within ${CONVERGENCE_BOUND_MILLIS} ms`, async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'together');
    // The server's own keys: linearizable while the others write next to them.
    const history = new History();
    const serverKeys = ['s1', 's2'];
    let next = 0;
    const serverClient = async (c: number) => {
      for (let i = 0; i < 20; i++) {
        const key = serverKeys[(c + i) % serverKeys.length]!;
        if ((c + i) % 3 === 0) {
          await history.get(key, () => getValue(server, id, key));
        } else {
          const body = `v${next++}`;
          const contentType = TYPES[(c + i) % TYPES.length]!;
          await history.put(key, encode(body, contentType), async () => {
            const res = await putRecord(server, id, key, body, contentType);
            if (res.status !== 201) throw new Error(`PUT answered ${res.status}`);
          });
        }
      }
    };

    // A second process of ours (as `apify-kv put --storage-dir` or an SDK script).
    const other = await startSecondWriter(secondWriter(), server.storageDir);
    const otherAcked = new Map<string, string>();
    const otherWrites = (async () => {
      for (let i = 0; i < 15; i++) {
        const key = `p${i % 3}`;
        const value = `other-${i}`;
        expect(await other.put('together', key, 'text/plain', value)).toBe('ok');
        otherAcked.set(key, value);
      }
      await other.quit();
    })();

    // Crawlee, in this process, without metadata files (its default).
    const crawlee = new MemoryStorage({ localDataDirectory: server.storageDir, persistStorage: true, writeMetadata: false });
    const crawleeStore = crawlee.keyValueStore((await crawlee.keyValueStores().getOrCreate('together')).id);
    const crawleeAcked = new Map<string, string>();
    const crawleeWrites = (async () => {
      for (let i = 0; i < 15; i++) {
        const key = `k${i % 3}`;
        const value = `crawlee-${i}`;
        await crawleeStore.setRecord({ key, value, contentType: 'text/plain' });
        crawleeAcked.set(key, value);
      }
      // Crawlee writes its files in the background: acknowledged once they are on disk.
      await crawlee.teardown();
    })();

    await Promise.all([...Array.from({ length: 4 }, (_, c) => serverClient(c)), otherWrites, crawleeWrites]);
    const allAcked = performance.now();
    expect(checkHistory(history.ops)).toEqual({ ok: true });

    // Every other writer's last acknowledged write, through the server, within the bound.
    const expected = new Map([...otherAcked, ...crawleeAcked]);
    expect(expected.size).toBe(6);
    let converged = -1;
    while (performance.now() - allAcked < CONVERGENCE_BOUND_MILLIS * 2) {
      const seen = await Promise.all([...expected].map(async ([key]) => (await getValue(server, id, key))?.split('|')[0]));
      if (seen.every((body, i) => body === [...expected.values()][i])) {
        converged = performance.now() - allAcked;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(converged, 'the server never showed every acknowledged write').toBeGreaterThanOrEqual(0);
    expect(converged).toBeLessThanOrEqual(CONVERGENCE_BOUND_MILLIS);
    // And the folder holds them all (nothing of theirs deleted).
    const names = await fsp.readdir(`${server.storageDir}/key_value_stores/together`);
    for (const key of expected.keys()) expect(names.some((name) => name.startsWith(`${key}.`))).toBe(true);
  });
});
