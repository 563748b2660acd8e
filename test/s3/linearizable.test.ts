/**
 * Records are linearizable per key across server instances over one bucket and prefix:
 * concurrent puts (unique values, content types of different file extensions), gets and
 * deletes through three servers, the history checked per key (Wing & Gong / Lowe). Also with
 * one server a process of its own, SIGKILLed and restarted mid-run (its in-flight writes:
 * unknown outcome).
 *
 * The workload runs in rounds: every worker makes a few random requests, then, with no write
 * in flight, every key is read through every server. Those settled reads must all see the
 * key's last write, so any per-server memory of a key's object that went stale (another
 * server wrote the key under another content type, or deleted it) shows as a violation
 * whatever the timing, while the overlapping requests inside a round catch writes and
 * deletes that undo each other.
 */
import { describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from '../../src/server/index.js';
import { seededRandom } from '../reliability/support/fault-proxy.js';
import { buildServerLauncher, makeTempDir, removeDir, spawnServer, type ServerProcess } from '../reliability/support/server-process.js';
import { checkHistory, History, type CheckResult } from '../support/linearizability.js';
import { deleteRecord, getRecord, putRecord, storeNamed } from '../support/record-http.js';
import { prefixForStorageDir, serveTestServersOverS3 } from '../support/s3-service.js';

const s3 = serveTestServersOverS3();

const KEYS = ['a', 'b', 'c', 'd'];
/** Three content types stored under three extensions (json, bin, txt) in a `{KEY}.{EXT}` layout. */
const CONTENT_TYPES = ['application/json; charset=utf-8', 'application/octet-stream', 'text/plain; charset=utf-8'];
const WORKERS = 12;
/** Random requests per worker in a round, before the settled reads. */
const REQUESTS_PER_ROUND = 4;
/** Rounds of a run; past `MAX_MILLIS` a run stops early, but not before `MIN_ROUNDS`. */
const ROUNDS = 24;
const MIN_ROUNDS = 10;
const MAX_MILLIS = 25_000;

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

interface Run {
  history: History;
  rounds: number;
  /** Settled reads: made with no write in flight. */
  settledReads: number;
  seed: number;
}

/**
 * Rounds of random requests on a few keys, each through a server picked at random among
 * `urls()` (the ones up at that moment), then every key read through every server. A server
 * mostly writes its own content type and now and then another's, so servers keep disagreeing
 * about which extension a key has; values are unique, and a value read is its body and
 * content type together.
 */
async function runRounds(
  storeId: string,
  urls: () => string[],
  onRound: (round: number, history: History) => void = () => {},
): Promise<Run> {
  const seed = Date.now() % 1_000_000;
  const history = new History();
  const started = Date.now();
  let settledReads = 0;
  let round = 0;
  for (; round < ROUNDS && (round < MIN_ROUNDS || Date.now() - started < MAX_MILLIS); round++) {
    onRound(round, history);
    // Every other round, all workers on one key: writes of different content types through
    // different servers pile up on it, which is where writes that undo each other show.
    const hotKey = round % 2 === 1 ? KEYS[(round >> 1) % KEYS.length]! : null;
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, worker) => {
        const random = seededRandom(seed * 1000 + round * WORKERS + worker);
        for (let n = 0; n < REQUESTS_PER_ROUND; n++) {
          const key = hotKey ?? KEYS[Math.floor(random() * KEYS.length)]!;
          const up = urls();
          if (up.length === 0) continue;
          const server = Math.floor(random() * up.length);
          const base = up[server]!;
          const dice = random();
          if (dice < 0.55) {
            const own = server % CONTENT_TYPES.length;
            const type = random() < 0.7 ? own : (own + 1 + Math.floor(random() * (CONTENT_TYPES.length - 1))) % CONTENT_TYPES.length;
            const contentType = CONTENT_TYPES[type]!;
            const body = `w${worker}-${round}-${n}`;
            await history.put(key, `${body}|${contentType}`, () => putRecord(base, storeId, key, body, contentType));
          } else if (dice < 0.9) {
            await history.get(key, () => getRecord(base, storeId, key));
          } else {
            await history.delete(key, () => deleteRecord(base, storeId, key));
          }
        }
      }),
    );
    // No write in flight: every server must now answer every key with its last write.
    const up = urls();
    await Promise.all(KEYS.flatMap((key) => up.map((base) => history.get(key, () => getRecord(base, storeId, key)))));
    settledReads += KEYS.length * up.length;
  }
  return { history, rounds: round, settledReads, seed };
}

/** The checker's verdict in words: the key, why, and the operations around it (times in ms from the start). */
function explain(result: CheckResult, seed: number): string {
  if (result.ok) return 'linearizable';
  const lines = result.around.map((op) => {
    const ret = op.ret === Infinity ? 'unknown' : op.ret.toFixed(1);
    const what = op.kind === 'delete' ? 'delete' : `${op.kind} ${op.value === null ? '(none)' : op.value}`;
    return `  ${op.call.toFixed(1)}..${ret}  ${what}`;
  });
  return [`key ${result.key} is not linearizable (seed ${seed}): ${result.reason}; around it (call..return ms):`, ...lines, ''].join('\n');
}

/** The run holds a real history: enough rounds, writes, reads and content types read back. */
function expectRealHistory(run: Run): void {
  const counts = run.history.counts();
  expect(run.rounds).toBeGreaterThanOrEqual(MIN_ROUNDS);
  expect(counts.put).toBeGreaterThanOrEqual(MIN_ROUNDS * WORKERS);
  expect(counts.delete).toBeGreaterThan(0);
  expect(counts.get).toBeGreaterThanOrEqual(run.settledReads);
  const typesRead = new Set(run.history.ops.filter((op) => op.kind === 'get' && op.value !== null).map((op) => op.value!.split('|')[1]));
  expect([...typesRead].sort()).toEqual([...CONTENT_TYPES].sort());
}

describe('S3 records: linearizable per key across server instances', { timeout: 120_000 }, () => {
  it('three servers over one prefix: concurrent puts (changing content types), gets and deletes', async () => {
    const storageDir = `lin-${Date.now()}`;
    const servers = [await inProcessServer(storageDir), await inProcessServer(storageDir), await inProcessServer(storageDir)];
    try {
      const storeId = await storeNamed(servers[0]!.url, 'linear');
      const run = await runRounds(storeId, () => servers.map((s) => s.url));
      const result = checkHistory(run.history.ops);
      expect(result.ok, explain(result, run.seed)).toBe(true);
      expectRealHistory(run);
      expect(run.history.counts().unknown).toBe(0);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('one of them a process SIGKILLed and restarted mid-run', async () => {
    const dir = await makeTempDir('kv-s3-lin-');
    const storageDir = `lin-kill-${Date.now()}`;
    const inProcess = [await inProcessServer(storageDir), await inProcessServer(storageDir)];
    const spawned: ServerProcess[] = [];
    const spawn = async (launcher: string) => {
      const proc = await spawnServer(launcher, { storageDir });
      spawned.push(proc);
      return proc;
    };
    try {
      const launcher = await buildServerLauncher(dir);
      let child: ServerProcess | null = await spawn(launcher);
      const storeId = await storeNamed(inProcess[0]!.url, 'linear-kill');
      const up = () => [...inProcess.map((s) => s.url), ...(child ? [child.url] : [])];
      let chaos: Promise<void> = Promise.resolve();
      const run = await runRounds(storeId, up, (round, history) => {
        // A third into the run, once this round's requests are under way: the process is
        // killed and a new one started; rounds go on meanwhile with the servers that are up.
        if (round !== Math.floor(MIN_ROUNDS / 3)) return;
        const victim = child!;
        const before = history.ops.length;
        chaos = (async () => {
          for (let waits = 0; history.ops.length < before + WORKERS / 2 && waits < 2000; waits++) {
            await new Promise((r) => setTimeout(r, 5));
          }
          await victim.kill('SIGKILL');
          child = null;
          child = await spawn(launcher);
        })();
      });
      await chaos;
      const result = checkHistory(run.history.ops);
      expect(result.ok, explain(result, run.seed)).toBe(true);
      expectRealHistory(run);
    } finally {
      await Promise.all(spawned.map((p) => p.kill('SIGKILL')));
      await Promise.all(inProcess.map((s) => s.close()));
      await removeDir(dir);
    }
  });
});
