/**
 * A seeded run of store and record changes through an instance whose S3 requests fail at
 * random (500, SlowDown, reset connections, answers lost after the write, stalls), checked
 * after every step through a second instance straight to the gateway: no orphan, duplicate or
 * blocked name, every call ended within a bound with a precise answer, and no acknowledged
 * record write lost (a record reads as its last acknowledged value, or as a later write that
 * failed but may have landed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StorageError } from '../../src/storage/errors.js';
import { StorageService } from '../../src/storage/service.js';
import { LOCAL_USER } from '../../src/storage/types.js';
import { readRecord } from '../support/backend-contract.js';
import { seededRandom } from '../reliability/support/fault-proxy.js';
import { startS3FaultProxy, type S3FaultAction, type S3FaultProxy } from '../support/s3-fault-proxy.js';
import { expectConsistent, expectPrecise, FAST, within } from '../support/s3-invariants.js';
import { useS3 } from '../support/s3-service.js';

const SEED = Number(process.env.FAULT_SEED ?? 19);
const STEPS = 30;
const NAMES = ['alpha', 'beta', 'gamma'];
const KEYS = ['k1', 'k2'];

const s3 = useS3();
let proxy: S3FaultProxy;

beforeAll(async () => {
  proxy = await startS3FaultProxy(s3.service.endpoint, SEED);
});
afterAll(async () => {
  proxy.release();
  await proxy.close();
});

describe('S3 fault run', () => {
  it(`keeps stores whole and acknowledged records (seed ${SEED}, ${STEPS} steps)`, async () => {
    const faulty = await s3.backend(undefined, { ...FAST, endpoint: proxy.url, metadataCacheMillis: 0 });
    const clean = await s3.backend(faulty.options.prefix, { metadataCacheMillis: 0 });
    const service = new StorageService(faulty);
    const random = seededRandom(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const kinds: S3FaultAction[] = ['status500', 'slowDown', 'reset', 'dropAnswer', 'stall'];
    for (const action of kinds) proxy.add({ action, times: Infinity, probability: action === 'stall' ? 0.01 : 0.04 });

    /** Per store id and key: the values a read may return (`null`: no record). */
    const possible = new Map<string, Map<string, Set<string | null>>>();
    const valuesOf = (id: string, key: string) => {
      let keys = possible.get(id);
      if (!keys) possible.set(id, (keys = new Map()));
      let values = keys.get(key);
      if (!values) keys.set(key, (values = new Set([null])));
      return values;
    };
    let answered = 0;
    let failed = 0;

    for (let step = 0; step < STEPS; step++) {
      const stores = await expectConsistent(clean);
      const op = random();
      let outcome: { value?: unknown; error?: unknown };
      if (op < 0.3 || stores.length === 0) {
        outcome = await within(service.getOrCreateStore({ name: pick(NAMES), user: LOCAL_USER }));
      } else if (op < 0.45) {
        const store = pick(stores);
        outcome = await within(service.updateStore(store.id, { name: pick(NAMES) }));
        if (outcome.error instanceof StorageError && outcome.error.code === 'name-not-unique') outcome = { value: 'taken' };
      } else if (op < 0.55) {
        const store = pick(stores);
        outcome = await within(service.deleteStore(store.id));
        if (!outcome.error) possible.delete(store.id);
      } else {
        const store = pick(stores);
        const key = pick(KEYS);
        const value = `${store.id}-${key}-${step}`;
        outcome = await within(service.putRecord(store.id, key, Buffer.from(value), { contentType: 'text/plain' }));
        const values = valuesOf(store.id, key);
        if (!outcome.error) values.clear();
        values.add(value);
      }
      if (outcome.error) {
        failed++;
        expectPrecise(outcome.error);
      } else {
        answered++;
      }
      // Records of every store that still exists read as one of their possible values.
      for (const store of await expectConsistent(clean)) {
        for (const key of KEYS) {
          const read = await readRecord(clean, store.id, key);
          const values = valuesOf(store.id, key);
          expect(values.has(read ? read.body.toString() : null), `store ${store.id} key ${key} at step ${step}`).toBe(true);
          // What was read is now the only value until the next write.
          values.clear();
          values.add(read ? read.body.toString() : null);
        }
      }
    }
    proxy.clear();
    // Faults did happen, and calls still got through.
    expect(proxy.requests.filter((r) => r.fault !== null).length).toBeGreaterThan(5);
    expect(answered).toBeGreaterThan(STEPS / 3);
    expect(failed).toBeGreaterThan(0);
    // Every name is free or held by one store: a clean instance can get-or-create each.
    const cleanService = new StorageService(clean);
    for (const name of NAMES) {
      const got = await within(cleanService.getOrCreateStore({ name, user: LOCAL_USER }));
      expect(got.error).toBeUndefined();
    }
    await expectConsistent(clean);
    await service.close();
    await cleanService.close();
  }, 180_000);
});
