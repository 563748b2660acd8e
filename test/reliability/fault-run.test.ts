/**
 * Part 1 of the reliability suite: our client, with default retry settings, talks to the real
 * server through a proxy that injects faults into more than 20% of the requests (5xx, 429 with
 * Retry-After, resets before and after forwarding, truncated bodies, stalls past the client's
 * timeout). Sixteen workers run a mixed, seeded workload; each owns its keys, so an in-memory
 * model of acknowledged operations says exactly what the server must hold at the end.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApifyClient, type RecordValue } from '../../src/index.js';
import { seededRandom, startFaultProxy, type FaultProxy, type FaultRates } from './support/fault-proxy.js';
import {
  buildServerLauncher,
  bytesOf,
  deterministicBytes,
  makeTempDir,
  MiB,
  processStorageKind,
  removeDir,
  spawnServer,
  type ServerProcess,
} from './support/server-process.js';

const SEED = 5_2024;
const WORKERS = 16;
/**
 * 2,080 operations in all; 800 when the suite runs over S3 (test/s3/reliability.test.ts), where
 * each request costs S3 round trips to a gateway on the same cores and the fault mix is the same.
 */
const OPS_PER_WORKER = processStorageKind() === 's3' ? 50 : 130;
const KEYS_PER_WORKER = 12;
const STORE_NAMES = ['fault-run-a', 'fault-run-b', 'fault-run-c', 'fault-run-d'];
/** 23% of requests get a fault. Truncation needs a body, so a few picks of it come to nothing. */
const RATES: FaultRates = {
  status500: 0.03,
  status502: 0.03,
  status503: 0.03,
  rateLimit: 0.03,
  resetBeforeForward: 0.03,
  resetAfterForward: 0.03,
  truncateBody: 0.03,
  stall: 0.02,
};
const TIMEOUT_SECS = 2;

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const BINARY_TYPE = 'application/octet-stream';

interface Stored {
  bytes: Buffer;
  contentType: string;
  /** The value as it was given to putRecord, for checks of the parsed body. */
  value: RecordValue;
}

/** storeId -> key -> what the server must hold. */
type Model = Map<string, Map<string, Stored>>;

type OpKind = 'put' | 'get' | 'delete' | 'list' | 'exists';

let workDir: string;
let server: ServerProcess;
let proxy: FaultProxy;

beforeAll(async () => {
  workDir = await makeTempDir('kv-fault-run-');
  const launcher = await buildServerLauncher(workDir);
  server = await spawnServer(launcher, { storageDir: `${workDir}/storage` });
  proxy = await startFaultProxy({ target: server.url, seed: SEED, rates: RATES, retryAfterSecs: 1, stallMillis: 10_000 });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await server?.kill('SIGTERM');
  await removeDir(workDir);
});

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 ÄÖÜßéñ漢字😀\n\t"\\{}';

function randomText(random: () => number, length: number): string {
  const chars = Array.from(ALPHABET);
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(random() * chars.length)];
  return out;
}

/** A value to store: small JSON, text or binary, or now and then a text or binary body over 1 MiB. */
function makeValue(random: () => number, label: string): Stored {
  const large = random() < 0.05;
  const kind = random();
  if (large) {
    const size = MiB + Math.floor(random() * 1.5 * MiB);
    if (kind < 0.5) {
      const text = randomText(random, 64).repeat(Math.ceil(size / 64));
      return { value: text, bytes: Buffer.from(text), contentType: TEXT_TYPE };
    }
    const bytes = deterministicBytes(label, size);
    return { value: bytes, bytes, contentType: BINARY_TYPE };
  }
  if (kind < 0.4) {
    const value = {
      label,
      n: Math.floor(random() * 1e9),
      list: Array.from({ length: Math.floor(random() * 200) }, () => random()),
      text: randomText(random, Math.floor(random() * 100)),
      nested: { ok: random() < 0.5, nothing: null },
    };
    return { value, bytes: Buffer.from(JSON.stringify(value)), contentType: JSON_TYPE };
  }
  if (kind < 0.7) {
    const text = randomText(random, Math.floor(random() * 3000));
    return { value: text, bytes: Buffer.from(text), contentType: TEXT_TYPE };
  }
  const bytes = deterministicBytes(label, Math.floor(random() * 5000));
  return { value: bytes, bytes, contentType: BINARY_TYPE };
}

function describeStored(stored: Stored | null | undefined): string {
  return stored ? `${stored.contentType}, ${stored.bytes.length} bytes` : 'absent';
}

describe('fault run', () => {
  it(`finishes >= ${(WORKERS * OPS_PER_WORKER - 80).toLocaleString('en')} mixed operations through >= 20% injected faults with nothing lost`, async () => {
    const started = Date.now();
    const client = new ApifyClient({ baseUrl: proxy.url, timeoutSecs: TIMEOUT_SECS });

    const storeIds: string[] = [];
    for (const storeName of STORE_NAMES) storeIds.push((await client.keyValueStores.getOrCreateStore({ storeName })).id);

    const model: Model = new Map(storeIds.map((id) => [id, new Map()]));
    const ops: Record<OpKind, number> = { put: 0, get: 0, delete: 0, list: 0, exists: 0 };
    let largePuts = 0;
    const failures: string[] = [];
    const mismatches: string[] = [];
    /** Keys whose state is unknown after a failed write; not checked any more. */
    const uncertain = new Set<string>();

    const worker = async (w: number) => {
      const random = seededRandom(SEED * 1000 + w);
      const prefix = `w${String(w).padStart(2, '0')}-`;
      const keyOf = (k: number) => `${prefix}k${String(k).padStart(2, '0')}`;
      const storeOfKey = (k: number) => storeIds[k % storeIds.length]!;

      for (let n = 0; n < OPS_PER_WORKER; n++) {
        const k = Math.floor(random() * KEYS_PER_WORKER);
        const key = keyOf(k);
        const storeId = storeOfKey(k);
        const records = model.get(storeId)!;
        const id = `${storeId}/${key}`;
        const r = random();
        const kind: OpKind = r < 0.45 ? 'put' : r < 0.75 ? 'get' : r < 0.85 ? 'delete' : r < 0.93 ? 'list' : 'exists';
        ops[kind]++;
        try {
          if (kind === 'put') {
            const stored = makeValue(random, `${key}:${n}`);
            if (stored.bytes.length > MiB) largePuts++;
            try {
              await client.keyValueStores.putRecord({ storeId, key, body: stored.value, contentType: stored.contentType });
            } catch (error) {
              uncertain.add(id);
              throw error;
            }
            records.set(key, stored);
          } else if (kind === 'delete') {
            try {
              await client.keyValueStores.deleteRecord({ storeId, key });
            } catch (error) {
              uncertain.add(id);
              throw error;
            }
            records.delete(key);
          } else if (kind === 'get') {
            const raw = random() < 0.5;
            const got = raw
              ? await client.keyValueStores.getRecord({ storeId, key, disableBodyParser: true })
              : await client.keyValueStores.getRecord({ storeId, key });
            if (uncertain.has(id)) continue;
            const expected = records.get(key);
            let same: boolean;
            if (!got || !expected) same = !got && !expected;
            else if (got.contentType !== expected.contentType) same = false;
            else if (raw || Buffer.isBuffer(expected.value)) same = bytesOf(got.body as Buffer).equals(expected.bytes);
            else same = isDeepStrictEqual(got.body, expected.value);
            if (!same) {
              mismatches.push(`get ${id}: expected ${describeStored(expected)}, got ${got ? `${got.contentType}` : 'null'}`);
            }
          } else if (kind === 'exists') {
            const exists = await client.keyValueStores.recordExists({ storeId, key });
            if (!uncertain.has(id) && exists !== records.has(key)) {
              mismatches.push(`exists ${id}: expected ${records.has(key)}, got ${exists}`);
            }
          } else {
            // This worker's keys in some store, with their sizes, in key order.
            const listStore = storeIds[Math.floor(random() * storeIds.length)]!;
            const checked = (k: string) => !uncertain.has(`${listStore}/${k}`);
            const page = await client.keyValueStores.listKeys({ storeId: listStore, prefix });
            const listed = page.items.filter((item) => checked(item.key)).map((item) => `${item.key}:${item.size}`);
            const expected = [...model.get(listStore)!]
              .filter(([k]) => k.startsWith(prefix) && checked(k))
              .map(([k, stored]) => `${k}:${stored.bytes.length}`)
              .sort();
            if (!isDeepStrictEqual(listed, expected)) {
              mismatches.push(`list ${listStore} ${prefix}: expected ${expected.join(',')}, got ${listed.join(',')}`);
            }
          }
        } catch (error) {
          // What the proxy saw of this key's requests says which fault (or the server) ended them.
          const seen = proxy.eventsFor(`/records/${encodeURIComponent(key)}`).join('; ');
          failures.push(`${kind} ${id}: ${(error as Error).message} [proxy: ${seen}]`);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const runMillis = Date.now() - started;

    // The final state, read straight from the server (no proxy, no faults).
    const direct = new ApifyClient({ baseUrl: server.url, maxRetries: 0 });
    const finalProblems: string[] = [];
    let verifiedRecords = 0;
    for (const storeId of storeIds) {
      const records = model.get(storeId)!;
      const listed = new Map<string, number>();
      for await (const item of direct.keyValueStores.iterateKeys({ storeId })) listed.set(item.key, item.size);
      const touched = new Set([...listed.keys(), ...records.keys()]);
      for (const key of touched) {
        if (uncertain.has(`${storeId}/${key}`)) continue;
        const expected = records.get(key);
        const record = await direct.keyValueStores.getRecord({ storeId, key, disableBodyParser: true });
        const got = record && { contentType: record.contentType, body: bytesOf(record.body) };
        if (!expected) {
          if (got || listed.has(key)) finalProblems.push(`${storeId}/${key}: deleted but still present`);
          continue;
        }
        verifiedRecords++;
        if (!got) finalProblems.push(`${storeId}/${key}: acknowledged write missing`);
        else if (got.contentType !== expected.contentType || !got.body.equals(expected.bytes)) {
          finalProblems.push(`${storeId}/${key}: body differs (expected ${describeStored(expected)}, got ${got.contentType}, ${got.body.length} bytes)`);
        } else if (listed.get(key) !== expected.bytes.length) {
          finalProblems.push(`${storeId}/${key}: listed size ${listed.get(key)} != ${expected.bytes.length}`);
        }
      }
    }

    const operations = Object.values(ops).reduce((a, b) => a + b, 0) + STORE_NAMES.length;
    const faults = Object.values(proxy.counts.faults).reduce((a, b) => a + b, 0);
    const retries = proxy.counts.requests - operations;
    console.log(
      [
        'fault run:',
        `  operations: ${operations} (${Object.entries(ops).map(([k, v]) => `${k} ${v}`).join(', ')}, store creations ${STORE_NAMES.length}; ${largePuts} puts over 1 MiB)`,
        `  requests at the proxy: ${proxy.counts.requests}, forwarded to the server: ${proxy.counts.forwarded}, failed there: ${proxy.counts.upstreamFailures}; left by the client before the answer: ${proxy.counts.clientLeftEarly}`,
        `  faults injected: ${faults} (${((100 * faults) / proxy.counts.requests).toFixed(1)}% of requests): ${Object.entries(proxy.counts.faults).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `  retries (requests - operations): ${retries}`,
        `  failed operations: ${failures.length}, wrong reads: ${mismatches.length}, final-state problems: ${finalProblems.length}`,
        `  records verified byte-exact at the end: ${verifiedRecords}`,
        `  duration: ${(runMillis / 1000).toFixed(1)} s`,
      ].join('\n'),
    );

    expect(operations).toBeGreaterThanOrEqual(WORKERS * OPS_PER_WORKER - 80);
    expect(largePuts).toBeGreaterThan(0);
    expect(faults / proxy.counts.requests).toBeGreaterThanOrEqual(0.2);
    for (const [kind, count] of Object.entries(proxy.counts.faults)) expect(count, kind).toBeGreaterThan(0);
    // Every fault leaves the client without a usable answer, so it must try again; the one
    // exception is a cut-short error body (a 404 still reads as "not found").
    expect(retries).toBeGreaterThanOrEqual(faults - proxy.counts.faults.truncateBody);
    expect(failures).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(finalProblems).toEqual([]);
    expect(verifiedRecords).toBeGreaterThan(50);
    expect(server.alive()).toBe(true);
  }, 240_000);
});
