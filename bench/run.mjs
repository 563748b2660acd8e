// `npm run bench`: the put-then-get benchmark (bench/small.mjs) against both servers, one after
// the other: the minimal in-memory server (what the clients themselves cost) and the project's
// local server on a file store (what a user sees); then the file store at scale
// (bench/store-scale.mjs). Extra arguments go to the small.mjs runs, e.g.
//   npm run bench -- --ops 3000 --concurrency 1,8,32
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'small.mjs');
const extra = process.argv.slice(2);

for (const server of ['memory', 'local']) {
  console.log(`\n=== ${server} server ===`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [script, '--server', server, ...extra], { stdio: 'inherit' });
    child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
  if (code !== 0) {
    console.error(`bench/small.mjs --server ${server} failed with exit code ${code}`);
    process.exit(code);
  }
}

console.log('\n=== file store at scale ===');
const scale = await new Promise((resolve) => {
  const child = spawn(process.execPath, [path.join(path.dirname(script), 'store-scale.mjs')], { stdio: 'inherit' });
  child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
});
if (scale !== 0) {
  console.error(`bench/store-scale.mjs failed with exit code ${scale}`);
  process.exit(scale);
}
