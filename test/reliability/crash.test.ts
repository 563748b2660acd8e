/**
 * Part 4 of the reliability suite: the server process is killed with SIGKILL while our client
 * writes large (2-5 MiB) and small records concurrently, then restarted on the same folder,
 * several times over. After each restart: every acknowledged write is there byte for byte,
 * every unacknowledged one is either absent, or the old version, or complete (never torn), no
 * temp file lists as a key, and the store's metadata is valid and agrees with its records.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import {
  buildServerLauncher,
  bytesOf,
  deterministicBytes,
  makeTempDir,
  MiB,
  removeDir,
  sleep,
  spawnServer,
  type ServerProcess,
} from './support/server-process.js';

const ROUNDS = 3;
const LARGE_WRITERS = 3;
const SMALL_WRITERS = 6;
/** Acknowledged writes to wait for before the kill, per round. */
const ACKS_BEFORE_KILL = [12, 30, 20];
const STORE_NAME = 'crash-safety';

let workDir: string;
let launcher: string;
const running = new Set<ServerProcess>();

beforeAll(async () => {
  workDir = await makeTempDir('kv-crash-');
  launcher = await buildServerLauncher(workDir);
}, 60_000);

afterAll(async () => {
  for (const server of running) await server.kill();
  await removeDir(workDir);
});

async function start(storageDir: string): Promise<ServerProcess> {
  const server = await spawnServer(launcher, { storageDir });
  running.add(server);
  void server.exited.then(() => running.delete(server));
  return server;
}

/** The exact body and content type of one version of a key. Large keys get 2-5 MiB. */
function versionOf(key: string, version: number): { bytes: Buffer; contentType: string } {
  const label = `${key}:${version}`;
  if (key.startsWith('big-')) {
    const size = 2 * MiB + (deterministicBytes(label, 4).readUInt32BE(0) % (3 * MiB));
    const bytes = deterministicBytes(label, size);
    bytes.write(`${label}|`, 0); // the head names the version; the rest is keyed noise
    return { bytes, contentType: 'application/octet-stream' };
  }
  if (version % 2 === 0) {
    const json = JSON.stringify({ key, version, filler: deterministicBytes(label, 300 + (version % 7) * 500).toString('base64') });
    return { bytes: Buffer.from(json), contentType: 'application/json; charset=utf-8' };
  }
  return { bytes: Buffer.from(`${label}\n${'text '.repeat(20 + (version % 11) * 300)}`), contentType: 'text/plain; charset=utf-8' };
}

/** What we know of a key: the last acknowledged version, and versions tried since then. */
interface KeyState {
  acked: number | null;
  unacked: Set<number>;
}

describe('crash safety', () => {
  it(`keeps every acknowledged write through ${ROUNDS} kill -9 and restart cycles`, async () => {
    const storageDir = path.join(workDir, 'storage');
    const keys = new Map<string, KeyState>();
    let storeId = '';
    let nextVersion = 1;
    const report: string[] = [];

    /** Restarts the server and checks everything we know against what it serves. */
    const verify = async (server: ServerProcess, round: number) => {
      const client = new ApifyClient({ baseUrl: server.url, maxRetries: 0, timeoutSecs: 30 });
      const kvs = client.keyValueStores;
      const store = await kvs.getOrCreateStore({ storeName: STORE_NAME });
      expect(store.id).toBe(storeId);
      let intact = 0;
      let recoveredUnacked = 0;
      const present = new Map<string, number>();
      for (const [key, state] of keys) {
        const record = await kvs.getRecord({ storeId, key, disableBodyParser: true });
        const got = record && { contentType: record.contentType, body: bytesOf(record.body) };
        if (!got) {
          expect(state.acked, `${key}: acknowledged version ${state.acked} is missing after restart ${round}`).toBeNull();
          state.unacked.clear();
          continue;
        }
        const candidates = [...(state.acked === null ? [] : [state.acked]), ...state.unacked];
        const match = candidates.find((v) => {
          const expected = versionOf(key, v);
          return expected.contentType === got.contentType && expected.bytes.equals(got.body);
        });
        expect(match, `${key}: body (${got.body.length} bytes) is none of versions ${candidates.join(', ')}`).toBeDefined();
        if (match === state.acked) intact++;
        else recoveredUnacked++;
        state.acked = match!;
        state.unacked.clear();
        present.set(key, got.body.length);
      }

      // The listing shows exactly the records that read back, with their sizes: no temp files.
      const listed = new Map<string, number>();
      for await (const item of kvs.iterateKeys({ storeId })) listed.set(item.key, item.size);
      expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(present));

      const info = await kvs.getStore({ storeId });
      expect(info?.id).toBe(storeId);
      expect(info?.name).toBe(STORE_NAME);
      expect(info?.stats?.storageBytes).toBe([...present.values()].reduce((a, b) => a + b, 0));

      // On disk: the temp folder holds nothing that survived recovery, and every file belongs to a key.
      const storeDir = path.join(storageDir, 'key_value_stores', STORE_NAME);
      const files = await fsp.readdir(storeDir);
      const leftovers = files.filter((f) => f !== '__metadata__.json' && f !== '.tmp' && !present.has(f.replace(/\.__metadata__\.json$|\.[a-z]+$/, '')));
      expect(leftovers).toEqual([]);
      const temps = await fsp.readdir(path.join(storeDir, '.tmp')).catch(() => []);
      expect(temps).toEqual([]);
      report.push(`  after restart ${round}: ${intact} acknowledged intact, ${recoveredUnacked} unacknowledged found complete, ${keys.size - present.size} absent, ${present.size} listed`);
    };

    for (let round = 1; round <= ROUNDS; round++) {
      const server = await start(storageDir);
      if (round === 1) {
        storeId = (await new ApifyClient({ baseUrl: server.url }).keyValueStores.getOrCreateStore({ storeName: STORE_NAME })).id;
      } else {
        await verify(server, round - 1);
      }

      // Retries off: a write cut by the kill must fail, not wait for the server to come back.
      const client = new ApifyClient({ baseUrl: server.url, maxRetries: 0, timeoutSecs: 30 });
      let stop = false;
      let acks = 0;
      let largeInFlight = 0;
      let largeAcked = 0;
      let failed = 0;
      const writer = async (name: string, large: boolean) => {
        for (let n = 0; !stop; n++) {
          // Mostly rewrites of a few keys (updates), now and then a brand-new key.
          const key = n % 4 === 3 ? `${name}-r${round}-n${n}` : `${name}-${(n + round) % 3}`;
          const version = nextVersion++;
          const state = keys.get(key) ?? { acked: null, unacked: new Set<number>() };
          keys.set(key, state);
          state.unacked.add(version);
          const { bytes, contentType } = versionOf(key, version);
          if (large) largeInFlight++;
          try {
            await client.keyValueStores.putRecord({ storeId, key, body: bytes, contentType });
            // Each key has one writer, whose writes are sequential: this is now the latest version.
            state.unacked.delete(version);
            state.acked = version;
            acks++;
            if (large) largeAcked++;
          } catch {
            failed++;
            return; // the kill cut this write: it stays unacknowledged
          } finally {
            if (large) largeInFlight--;
          }
        }
      };
      const writers = [
        ...Array.from({ length: LARGE_WRITERS }, (_, w) => writer(`big-${w}`, true)),
        ...Array.from({ length: SMALL_WRITERS }, (_, w) => writer(`small-${w}`, false)),
      ];
      // Kill once enough writes, large ones among them, are acknowledged and a large body is on its way.
      const target = ACKS_BEFORE_KILL[round - 1]!;
      const deadline = Date.now() + 30_000;
      while ((acks < target || largeAcked < 2 || largeInFlight === 0) && Date.now() < deadline) await sleep(5);
      await sleep(Math.floor(Math.random() * 50));
      await server.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      expect(acks).toBeGreaterThanOrEqual(target);
      expect(largeAcked).toBeGreaterThanOrEqual(2);
      report.push(`  round ${round}: ${acks} writes acknowledged (${largeAcked} large), ${failed} cut by the kill`);
    }

    const last = await start(storageDir);
    await verify(last, ROUNDS);
    await last.kill('SIGTERM');
    console.log(['crash safety:', ...report].join('\n'));
  }, 150_000);
});
