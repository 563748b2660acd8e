// A throwaway single-node Ceph RADOS Gateway (S3) for tests and benchmarks, from Debian's
// packages (radosgw, ceph-mon, ceph-osd, ceph-common). One monitor, one in-memory OSD
// (memstore, capped), one gateway on 127.0.0.1, all under one short temp folder.
//
//   node scripts/ceph/rgw.mjs start     starts one and prints its S3_* variables (stays up)
//   node scripts/ceph/rgw.mjs check     exits 0 when the Ceph binaries are installed
//
// From code: `const rgw = await startRgw(); ...; await rgw.stop();`. Every wait is bounded;
// a failure names the step and shows the tail of the log that explains it. Daemons run in
// their own session and are stopped with SIGKILL (SIGTERM makes memstore save itself, ~6 s).
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CEPH_BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'];
export const INSTALL_HINT =
  'apt-get update && apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common';
const BIN_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'];

/** The Ceph programs' paths, or `null` when one is missing. */
export function findCephBinaries() {
  const found = {};
  for (const name of CEPH_BINARIES) {
    const dir = BIN_DIRS.find((d) => existsSync(path.join(d, name)));
    if (!dir) return null;
    found[name] = path.join(dir, name);
  }
  return found;
}

/** A port that was free a moment ago (the OS picks it, as port 0 does). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function tail(file, lines = 30) {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/** Runs a Ceph tool to completion with a time limit; rejects with its output on failure. */
function run(bin, args, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const why = error.killed ? `timed out after ${timeoutMs} ms` : `exit code ${error.code}`;
        reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${why}\n${stderr || stdout}`));
      } else resolve(stdout);
    });
  });
}

function cephConf({ dir, fsid, monPort, memstoreBytes }) {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monPort}]
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
run dir = ${dir}/run
admin socket = ${dir}/run/$name.$pid.asok
log file = ${dir}/log/$name.log
pid file = ${dir}/run/$name.pid
mon data = ${dir}/mon
osd data = ${dir}/osd
keyring = ${dir}/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
paxos propose interval = 0.05
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
osd min pg log entries = 50
osd max pg log entries = 100
osd pg log trim min = 10
osd memory target = 268435456
osd op num shards = 1
osd op num threads per shard = 2
rgw frontends = beast endpoint=127.0.0.1:PORT_PLACEHOLDER tcp_nodelay=1
rgw dns name = 127.0.0.1
rgw thread pool size = 64
debug ms = 0
`;
}

/** Polls `check` until it returns true; throws after `timeoutMs`. */
async function waitFor(what, check, timeoutMs, logFile) {
  if (process.env.RGW_DEBUG) console.error(`waiting: ${what}`);
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  const cause = lastError ? `\nLast error: ${lastError.message}` : '';
  throw new Error(`${what} did not happen within ${timeoutMs} ms.${cause}\n--- ${logFile} (tail) ---\n${await tail(logFile)}`);
}

function httpAnswers(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('close', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * Starts monitor, OSD and gateway and creates an S3 user. Resolves to
 * `{ endpoint, accessKeyId, secretAccessKey, region, dir, startMillis, stop() }`.
 * Options: `timeoutMs` for the whole start (default 120 s), `memstoreBytes` (default 512 MiB).
 */
export async function startRgw(options = {}) {
  const bins = findCephBinaries();
  if (!bins) throw new Error(`Ceph is not installed. Install it with:\n  ${INSTALL_HINT}`);
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const budget = () => Math.max(1000, started + timeoutMs - Date.now());
  // Short: admin sockets live here and socket paths are limited to 107 characters.
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rgw-'));
  const children = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const child of children) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // The children are unref'd, so their 'exit' events hold no handle: poll (bounded) instead.
    const deadline = Date.now() + 5000;
    while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(10);
    if (!process.env.RGW_KEEP_DIR) await fsp.rm(dir, { recursive: true, force: true });
  };

  // Daemons run in the foreground (-f) in their own session, so one SIGKILL to the group stops each.
  const daemon = (bin, args, logName) => {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    const errFile = path.join(dir, 'log', `${logName}.stderr`);
    child.stderr.on('data', (chunk) => fsp.appendFile(errFile, chunk).catch(() => {}));
    child.unref();
    child.stderr.unref?.();
    children.push(child);
    return child;
  };
  // Stops the daemons if this process goes away without calling stop().
  const onExit = () => {
    for (const child of children) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', onExit);

  try {
    await Promise.all(['run', 'log', 'mon', 'osd'].map((d) => fsp.mkdir(path.join(dir, d))));
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const fsid = randomUUID();
    const conf = path.join(dir, 'ceph.conf');
    const memstoreBytes = options.memstoreBytes ?? 512 * 1024 * 1024;
    await fsp.writeFile(conf, cephConf({ dir, fsid, monPort, memstoreBytes }).replace('PORT_PLACEHOLDER', String(rgwPort)));
    const c = ['-c', conf];
    const log = (name) => path.join(dir, 'log', `${name}.log`);

    // Monitor.
    const monmap = path.join(dir, 'monmap');
    await run(bins.monmaptool, ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, monmap]);
    await run(bins['ceph-mon'], [...c, '--mkfs', '-i', 'a', '--monmap', monmap]);
    const mon = daemon(bins['ceph-mon'], [...c, '-f', '-i', 'a'], 'mon.a');
    const ceph = (args, ms = 15_000) => run(bins.ceph, [...c, '--connect-timeout', '10', ...args], ms);
    await waitFor('The Ceph monitor answering', async () => {
      if (mon.exitCode !== null) throw new Error(`ceph-mon exited with code ${mon.exitCode}`);
      await ceph(['mon', 'stat'], 5000);
      return true;
    }, budget(), log('mon.a'));

    // One OSD on memstore.
    const osdUuid = randomUUID();
    const osdId = (await ceph(['osd', 'new', osdUuid])).trim();
    await run(bins['ceph-osd'], [...c, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid], 30_000);
    const osd = daemon(bins['ceph-osd'], [...c, '-f', '-i', osdId], `osd.${osdId}`);
    await waitFor('The Ceph OSD coming up', async () => {
      if (osd.exitCode !== null) throw new Error(`ceph-osd exited with code ${osd.exitCode}`);
      const stat = JSON.parse(await ceph(['osd', 'stat', '-f', 'json'], 5000));
      return (stat.num_up_osds ?? stat.osdmap?.num_up_osds) >= 1;
    }, budget(), log(`osd.${osdId}`));

    // Gateway and an S3 user.
    const rgw = daemon(bins.radosgw, [...c, '-f', '-n', 'client.admin'], 'client.admin');
    await waitFor('The RADOS Gateway answering HTTP', async () => {
      if (rgw.exitCode !== null) throw new Error(`radosgw exited with code ${rgw.exitCode}`);
      return httpAnswers(rgwPort);
    }, budget(), log('client.admin'));
    const accessKeyId = `T${randomBytes(9).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(24).toString('base64url');
    await run(bins['radosgw-admin'], [
      ...c, '-n', 'client.admin', 'user', 'create', '--uid', 'test', '--display-name', 'test',
      '--access-key', accessKeyId, '--secret-key', secretAccessKey,
    ], budget());

    return {
      endpoint: `http://127.0.0.1:${rgwPort}`,
      region: 'us-east-1',
      accessKeyId,
      secretAccessKey,
      dir,
      startMillis: Date.now() - started,
      pids: children.map((ch) => ch.pid),
      async stop() {
        process.removeListener('exit', onExit);
        await stop();
      },
    };
  } catch (error) {
    process.removeListener('exit', onExit);
    await stop();
    throw error;
  }
}

// Command line.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === 'check') {
    process.exit(findCephBinaries() ? 0 : 1);
  } else if (command === 'start') {
    const rgw = await startRgw().catch((error) => {
      console.error(error.message);
      process.exit(1);
    });
    console.log(`S3_ENDPOINT=${rgw.endpoint}`);
    console.log(`S3_ACCESS_KEY_ID=${rgw.accessKeyId}`);
    console.log(`S3_SECRET_ACCESS_KEY=${rgw.secretAccessKey}`);
    console.log(`S3_REGION=${rgw.region}`);
    console.error(`RADOS Gateway up in ${rgw.startMillis} ms under ${rgw.dir}; Ctrl-C stops it.`);
    const quit = () => rgw.stop().then(() => process.exit(0));
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    setInterval(() => {}, 1 << 30);
  } else {
    console.error('Usage: node scripts/ceph/rgw.mjs start|check');
    process.exit(2);
  }
}
