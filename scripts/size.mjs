// Prints the browser bundles' sizes (raw and gzipped, against their budget) and what installing
// this package brings into an empty project next to apify-client's figures. Run `npm run build`
// first. Offline by default (from node_modules); `--install` measures real `npm install`s.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

import { measureByInstall, measureOffline } from './install-size.mjs';

// 32 KiB, read strictly: 32,768 bytes gzipped: the client with the apify-client v2 surface, adaptive
// rate limiting and the retry budget.
const LIMIT = 32_768;
// The bulk methods' bundles, loaded beside the main one by pages that need them.
const BULK_LIMIT = 4_096;
// The integrity add-on's bundles (MD5 and the checks), loaded beside the main one by pages that want them.
const INTEGRITY_LIMIT = 2_048;
// The progress add-on's bundles (the XMLHttpRequest upload adapter), for pages that show upload progress.
const PROGRESS_LIMIT = 1_024;
const MB = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

let failed = false;
console.log('Browser bundles:');
const bundles = [
  ['dist/browser/apify-kv.min.js', LIMIT],
  ['dist/browser/apify-kv.esm.js', LIMIT],
  ['dist/browser/apify-kv-bulk.min.js', BULK_LIMIT],
  ['dist/browser/apify-kv-bulk.esm.js', BULK_LIMIT],
  ['dist/browser/apify-kv-integrity.min.js', INTEGRITY_LIMIT],
  ['dist/browser/apify-kv-integrity.esm.js', INTEGRITY_LIMIT],
  ['dist/browser/apify-kv-progress.min.js', PROGRESS_LIMIT],
  ['dist/browser/apify-kv-progress.esm.js', PROGRESS_LIMIT],
];
for (const [file, limit] of bundles) {
  const raw = readFileSync(file);
  const gz = gzipSync(raw, { level: 9 }).length;
  console.log(`  ${file}: ${raw.length} bytes, ${gz} bytes gzipped (budget ${limit})`);
  if (gz > limit) failed = true;
}

const byInstall = process.argv.includes('--install');
const peerVersion = JSON.parse(readFileSync('node_modules/apify-client/package.json', 'utf8')).version;
const { own, peer } = byInstall ? measureByInstall('.', peerVersion) : measureOffline('.');
console.log(`Install into an empty project (${byInstall ? 'npm install' : 'dependency trees in node_modules'}):`);
for (const row of [own, peer]) {
  console.log(`  ${row.name}${row.version ? `@${row.version}` : ''}: ${row.packages} packages, ${MB(row.bytes)} (${row.bytes} bytes)`);
}
if (own.packages >= peer.packages || own.bytes >= peer.bytes) {
  console.error('this package installs more than apify-client');
  failed = true;
}
if (failed) {
  console.error('a browser bundle is over its gzipped budget, or the install is not leaner than apify-client');
  process.exit(1);
}
