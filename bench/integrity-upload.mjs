// What end-to-end integrity costs on one large upload: a 200 MiB record put through the client to
// the project's server (folder storage in a temp dir, loopback), with the checks on (the client
// hashes the body for Content-MD5 and checks the ETag; the folder storage, which hashes every body
// for its ETag, checks the digest with that MD5) and
// with `integrity: false`. Each way runs `--runs` times, alternating; the median wall time is shown.
// Run `npm run build` first.
//
//   node bench/integrity-upload.mjs --mib 200 --runs 3
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApifyClient } from '../dist/index.js';
import { startServer } from '../dist/server/index.js';

const { values: args } = parseArgs({ options: { mib: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' } } });
const MIB = Number(args.mib);
const RUNS = Number(args.runs);

const dir = mkdtempSync(path.join(os.tmpdir(), 'kv-integrity-bench-'));
const server = await startServer({ host: '127.0.0.1', port: 0, storageDir: dir, logger: { warn() {}, error() {} } });
try {
  const body = Buffer.alloc(MIB * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4096) body[i] = i & 255;
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const times = { on: [], off: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const mode of ['off', 'on']) {
      const client = new ApifyClient({ baseUrl: server.url, integrity: mode === 'on', timeoutSecs: 600 });
      const { id } = await client.keyValueStores.getOrCreate(`bench-${mode}`);
      const started = performance.now();
      await client.keyValueStore(id).setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' });
      times[mode].push(performance.now() - started);
    }
  }
  const on = median(times.on);
  const off = median(times.off);
  console.log(`${MIB} MiB upload through the client to the local server (loopback, folder storage), median of ${RUNS}; node ${process.version}; ${os.cpus().length} cores`);
  console.log(`  integrity off  ${(off / 1000).toFixed(2)} s  (${(MIB / (off / 1000)).toFixed(0)} MiB/s)`);
  console.log(`  integrity on   ${(on / 1000).toFixed(2)} s  (${(MIB / (on / 1000)).toFixed(0)} MiB/s), +${(((on - off) / off) * 100).toFixed(1)}%`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
