/**
 * Records are linearizable per key across server instances over one bucket and prefix:
 * concurrent puts (unique values, changing content types), gets and deletes through two
 * servers, the history checked per key (Wing & Gong / Lowe). Also with one server a process
 * of its own, SIGKILLed and restarted mid-run (its in-flight writes: unknown outcome).
 */
import { describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from '../../src/server/index.js';
import { buildServerLauncher, makeTempDir, removeDir, spawnServer, type ServerProcess } from '../reliability/support/server-process.js';
import { checkHistory, History } from '../support/linearizability.js';
import { deleteRecord, getRecord, putRecord, storeNamed } from '../support/record-http.js';
import { prefixForStorageDir, serveTestServersOverS3 } from '../support/s3-service.js';

const s3 = serveTestServersOverS3();

const KEYS = ['a', 'b'];
const CONTENT_TYPES = ['application/json; charset=utf-8', 'application/octet-stream'];
const WORKERS = 10;
const RUN_MILLIS = 6000;
const MIN_OPS = 25;

async function inProcessServer(storageDir: string): Promise<RunningServer> {
  const { service, bucket } = s3;
  return startServer({
    host: '127.0.0.1',
    port: 0,
    storage: `s3://${bucket}/${prefixForStorageDir(storageDir)}`,
    s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    logger: { warn: () => {}, error: () => {} },
  });
}

/**
 * Workers doing put / get / delete on a few keys, each request through a server picked at
 * random among `urls()` (the ones up at that moment), until `RUN_MILLIS` have passed. Values
 * are unique; a value read is its body and content type together.
 */
async function runWorkers(storeId: string, urls: () => string[]): Promise<History> {
  const history = new History();
  const end = Date.now() + RUN_MILLIS;
  // Each worker also does at least MIN_OPS operations, however slow a busy machine makes them
  // (within a hard bound), so the history always holds enough of each kind to mean something.
  const hardEnd = end + 60_000;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      for (let n = 0; (Date.now() < end || n < MIN_OPS) && Date.now() < hardEnd; n++) {
        const key = KEYS[Math.floor(Math.random() * KEYS.length)]!;
        const up = urls();
        if (up.length === 0) {
          // Every server is down for a moment (a restart): wait for one, and do not count this turn.
          await new Promise((resolve) => setTimeout(resolve, 20));
          n--;
          continue;
        }
        const server = Math.floor(Math.random() * up.length);
        const base = up[server]!;
        const dice = Math.random();
        if (dice < 0.75) {
          // Mostly the content type this server writes, now and then the other's, and puts more
          // often than reads: the worst case for any per-instance memory of a key's object.
          const contentType = CONTENT_TYPES[(server + (n % 4 === 3 ? 1 : 0)) % CONTENT_TYPES.length]!;
          const body = `w${worker}-${n}`;
          await history.put(key, `${body}|${contentType}`, () => putRecord(base, storeId, key, body, contentType));
        } else if (dice < 0.95) {
          await history.get(key, () => getRecord(base, storeId, key));
        } else {
          await history.delete(key, () => deleteRecord(base, storeId, key));
        }
      }
    }),
  );
  return history;
}

describe('S3 records: linearizable per key across server instances', { timeout: 120_000 }, () => {
  it('two servers over one prefix: concurrent puts (changing content types), gets and deletes', async () => {
    const storageDir = `lin-${Date.now()}`;
    const servers = [await inProcessServer(storageDir), await inProcessServer(storageDir)];
    try {
      const storeId = await storeNamed(servers[0]!.url, 'linear');
      const history = await runWorkers(storeId, () => servers.map((s) => s.url));
      expect(checkHistory(history.ops)).toEqual({ ok: true });
      const counts = history.counts();
      expect(counts.put).toBeGreaterThan(30);
      expect(counts.get).toBeGreaterThan(15);
      expect(counts.unknown).toBe(0);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('one of them a process SIGKILLed and restarted mid-run', async () => {
    const dir = await makeTempDir('kv-s3-lin-');
    const storageDir = `lin-kill-${Date.now()}`;
    const inProcess = await inProcessServer(storageDir);
    const spawned: ServerProcess[] = [];
    const spawn = async (launcher: string) => {
      const proc = await spawnServer(launcher, { storageDir });
      spawned.push(proc);
      return proc;
    };
    try {
      const launcher = await buildServerLauncher(dir);
      let child: ServerProcess | null = await spawn(launcher);
      const storeId = await storeNamed(inProcess.url, 'linear-kill');
      const up = () => (child ? [inProcess.url, child.url] : [inProcess.url]);
      const started = Date.now();
      const chaos = (async () => {
        // Wait until well into the run, then kill the process and start it again.
        while (Date.now() - started < RUN_MILLIS / 3) await new Promise((r) => setTimeout(r, 50));
        const victim = child!;
        await victim.kill('SIGKILL');
        child = null;
        child = await spawn(launcher);
      })();
      const history = await runWorkers(storeId, up);
      await chaos;
      expect(checkHistory(history.ops)).toEqual({ ok: true });
      const counts = history.counts();
      expect(counts.put).toBeGreaterThan(30);
      expect(counts.get).toBeGreaterThan(15);
    } finally {
      await Promise.all(spawned.map((p) => p.kill('SIGKILL')));
      await inProcess.close();
      await removeDir(dir);
    }
  });
});
