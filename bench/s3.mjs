// Put-then-get of small records on the S3 backend, against the floor: the same operations sent
// straight to the S3 server with @aws-sdk/client-s3 (what a gateway can do at best). Runs a
// throwaway Ceph RADOS Gateway (scripts/ceph/rgw.mjs) unless S3_ENDPOINT (+ S3_ACCESS_KEY_ID,
// S3_SECRET_ACCESS_KEY) names another S3 service. Not a test: numbers vary with the machine.
//
//   node bench/s3.mjs [--ops 1000] [--concurrency 1,32] [--rounds 3]
//
// Targets: `s3 direct` (SDK PutObject + GetObject), `backend` (the S3 backend in this process,
// no HTTP), `server` (one `apify-kv serve --storage s3://...` process, over HTTP) and
// `2 servers` (two such processes over one bucket, requests alternating between them).
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { build } from 'esbuild';

import { startRgw } from '../scripts/ceph/rgw.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1,32' },
    rounds: { type: 'string', default: '3' },
    targets: { type: 'string', default: 's3 direct,backend,server,2 servers' },
  },
});
const OPS = Number(args.ops);
const ROUNDS = Number(args.rounds);
const LEVELS = args.concurrency.split(',').map(Number);
const TARGETS = args.targets.split(',');
const VALUE = Buffer.from(JSON.stringify({ hello: 'world', n: 42, list: [1, 2, 3], text: 'x'.repeat(64) }));

async function s3Service() {
  if (process.env.S3_ENDPOINT) {
    return {
      endpoint: process.env.S3_ENDPOINT,
      region: process.env.S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.S3_ACCESS_KEY_ID,
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY,
      startMillis: null,
      stop: async () => {},
    };
  }
  return startRgw();
}

const sdkClient = (service) =>
  new S3Client({
    endpoint: service.endpoint,
    region: service.region,
    forcePathStyle: true,
    credentials: { accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The servers' own S3 timeouts (src/storage/s3/config.ts): a request the gateway never
    // answers is retried, as the servers do, instead of hanging the run.
    requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000, throwOnRequestTimeout: true, socketTimeout: 10_000 },
  });

/** Runs `op(i)` for i in 0..OPS-1 with `concurrency` in flight; ops per second. */
async function measure(concurrency, op) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < OPS) await op(next++);
    }),
  );
  return OPS / ((performance.now() - started) / 1000);
}

function check(got, i) {
  if (!Buffer.from(got).equals(VALUE)) throw new Error(`put-then-get ${i}: read back something else`);
}

function directTarget(service, bucket) {
  const s3 = sdkClient(service);
  return {
    op: async (i, round) => {
      const Key = `direct/${round}/k${i}.json`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: VALUE, ContentType: 'application/json; charset=utf-8' }));
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      check(await res.Body.transformToByteArray(), i);
    },
    stop: async () => s3.destroy(),
  };
}

/** The S3 backend bundled from the sources (no build of its own in dist/). */
async function backendTarget(service, bucket) {
  // Inside the package, so the bundle's imports of the AWS SDK resolve from node_modules.
  const file = path.join(here, '../node_modules/.cache/apify-kv-bench/s3-backend.mjs');
  await build({
    entryPoints: [path.join(here, '../src/storage/s3/index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: file,
    logLevel: 'silent',
  });
  const { S3Backend } = await import(pathToFileURL(file).href);
  const backend = new S3Backend({ bucket, prefix: 'backend', ...service, forcePathStyle: true });
  await backend.open();
  const { randomUUID } = await import('node:crypto');
  const id = randomUUID().replace(/-/g, '').slice(0, 17);
  const now = new Date();
  await backend.catalog.create({
    id, name: null, userId: 'local-user', username: 'local', createdAt: now, modifiedAt: now, accessedAt: now,
    generalAccess: 'FOLLOW_USER_SETTING', stats: { readCount: 0, writeCount: 0, deleteCount: 0, listCount: 0, storageBytes: 0 },
  });
  const records = backend.records(id);
  return {
    op: async (i, round) => {
      const key = `r${round}-k${i}`;
      await records.put(key, { stream: (await import('node:stream')).Readable.from([VALUE]) }, 'application/json; charset=utf-8');
      const record = await records.get(key);
      const chunks = [];
      for await (const c of record.openStream()) chunks.push(c);
      check(Buffer.concat(chunks), i);
    },
    stop: () => backend.close(),
  };
}

/** `count` server processes over one bucket and prefix; requests alternate between them. */
async function serverTarget(service, bucket, count) {
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: service.endpoint,
    AWS_REGION: service.region,
    AWS_ACCESS_KEY_ID: service.accessKeyId,
    AWS_SECRET_ACCESS_KEY: service.secretAccessKey,
    AWS_S3_FORCE_PATH_STYLE: 'true',
  };
  const children = [];
  const urls = [];
  for (let n = 0; n < count; n++) {
    const child = fork(path.join(here, 's3-server.mjs'), [`s3://${bucket}/servers`], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    urls.push(await new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m.url));
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    }));
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // A keep-alive socket the server closed while idle fails the first request on it: retry that once.
  const request = (url, method, p, body) =>
    send(url, method, p, body).catch((error) => (error.code === 'ECONNRESET' ? send(url, method, p, body) : Promise.reject(error)));
  const send = (url, method, p, body) =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const req = http.request({ hostname, port, method, path: p, agent, headers: body ? { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length } : {} }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode >= 300 ? reject(new Error(`${method} ${p}: ${res.statusCode} ${Buffer.concat(chunks)}`)) : resolve(Buffer.concat(chunks))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const created = JSON.parse(await request(urls[0], 'POST', `/v2/key-value-stores?name=bench-${Date.now()}`));
  const storeId = created.data.id;
  return {
    op: async (i, round) => {
      const p = `/v2/key-value-stores/${storeId}/records/r${round}-k${i}`;
      await request(urls[i % count], 'PUT', p, VALUE);
      check(await request(urls[(i + 1) % count], 'GET', p), i);
    },
    stop: async () => {
      agent.destroy();
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const service = await s3Service();
try {
  if (service.startMillis !== null) console.log(`Ceph RADOS Gateway started in ${service.startMillis} ms at ${service.endpoint}`);
  const bucket = `bench-${Date.now()}`;
  const admin = sdkClient(service);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  const targets = [];
  for (const name of TARGETS) {
    if (name === 's3 direct') targets.push([name, directTarget(service, bucket)]);
    else if (name === 'backend') targets.push([name, await backendTarget(service, bucket)]);
    else if (name === 'server') targets.push([name, await serverTarget(service, bucket, 1)]);
    else if (name === '2 servers') targets.push([name, await serverTarget(service, bucket, 2)]);
    else throw new Error(`Unknown target ${name}`);
  }
  console.log(`put-then-get of a ${VALUE.length}-byte JSON record, ${OPS} per round, median of ${ROUNDS} rounds (pairs/s; ratio to s3 direct in the same round)`);
  for (const concurrency of LEVELS) {
    const results = new Map(targets.map(([name]) => [name, { rates: [], ratios: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      let direct;
      for (const [name, target] of targets) {
        const rate = await measure(concurrency, (i) => target.op(i, `${concurrency}-${round}`));
        if (name === 's3 direct') direct = rate;
        results.get(name).rates.push(rate);
        if (direct) results.get(name).ratios.push(rate / direct);
      }
    }
    console.log(`\nconcurrency ${concurrency}`);
    for (const [name, { rates, ratios }] of results) {
      const ratio = ratios.length ? `${median(ratios).toFixed(2)}x` : '-';
      console.log(`  ${name.padEnd(12)} ${median(rates).toFixed(0).padStart(6)} pairs/s   ${ratio}`);
    }
  }
  for (const [, target] of targets) await target.stop();
} finally {
  await service.stop();
}
