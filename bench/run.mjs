// `npm run bench`: the put-then-get benchmark (bench/small.mjs) against both servers, one after
// the other: the minimal in-memory server (what the clients themselves cost) and the project's
// local server on a file store (what a user sees); then the server section (bench/server.mjs:
// the server against a bare node:http server, with autocannon); then the file store at scale
// (bench/store-scale.mjs); then a batch job against a rate limit (bench/rate-limit.mjs: 10,000
// puts through each client, about 10 minutes); then the S3 backend when one can run. Extra arguments go to the
// small.mjs runs, e.g.
//   npm run bench -- --ops 3000 --concurrency 1,8,32
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extra = process.argv.slice(2);

function runScript(name, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, name), ...args], { stdio: 'inherit' });
    child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
}

for (const server of ['memory', 'local']) {
  console.log(`\n=== ${server} server ===`);
  const code = await runScript('small.mjs', ['--server', server, ...extra]);
  if (code !== 0) {
    console.error(`bench/small.mjs --server ${server} failed with exit code ${code}`);
    process.exit(code);
  }
}

console.log('\n=== server against bare node:http ===');
const serverCode = await runScript('server.mjs', []);
if (serverCode !== 0) {
  console.error(`bench/server.mjs failed with exit code ${serverCode}`);
  process.exit(serverCode);
}

console.log('\n=== file store at scale ===');
const scaleCode = await runScript('store-scale.mjs', []);
if (scaleCode !== 0) {
  console.error(`bench/store-scale.mjs failed with exit code ${scaleCode}`);
  process.exit(scaleCode);
}

console.log('\n=== rate limits and the retry budget ===');
const rateCode = await runScript('rate-limit.mjs', []);
if (rateCode !== 0) {
  console.error(`bench/rate-limit.mjs failed with exit code ${rateCode}`);
  process.exit(rateCode);
}

// The S3 backend, when an S3 service can run here (Ceph installed) or is named by S3_ENDPOINT.
const { findCephBinaries, INSTALL_HINT } = await import('../scripts/ceph/rgw.mjs');
if (process.env.S3_ENDPOINT || findCephBinaries()) {
  console.log('\n=== S3 backend ===');
  const code = await runScript('s3.mjs', []);
  if (code !== 0) process.exit(code);
} else {
  console.log(`\n=== S3 backend: not measured (no S3 service). Install Ceph: ${INSTALL_HINT} ===`);
}
