/** The server over S3: the official client's flow, and two servers sharing one bucket. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApifyClient } from 'apify-client';
import { describe, expect, it } from 'vitest';

import { ApifyClient as KvClient } from '../../src/index.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { createBucket, useS3 } from '../support/s3-service.js';

const s3 = useS3();
const here = path.dirname(fileURLToPath(import.meta.url));

async function s3Server(url: string): Promise<RunningServer> {
  const { service } = s3;
  return startServer({
    host: '127.0.0.1',
    port: 0,
    storage: url,
    s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    logger: { warn: () => {}, error: () => {} },
  });
}

describe('the server over S3', { timeout: 120_000 }, () => {
  it('runs the official apify-client flow', async () => {
    const server = await s3Server(`s3://${s3.bucket}/official`);
    try {
      const client = new ApifyClient({ baseUrl: server.url, maxRetries: 1, minDelayBetweenRetriesMillis: 10 });
      const store = await client.keyValueStores().getOrCreate('official-flow');
      expect((await client.keyValueStores().getOrCreate('official-flow')).id).toBe(store.id);
      const kv = client.keyValueStore(store.id);
      const big = { text: 'x'.repeat(4000), list: [1, 2, 3] };
      await kv.setRecord({ key: 'big-json', value: big });
      const got = await kv.getRecord('big-json');
      expect(got?.value).toEqual(big);
      expect(got?.contentType).toBe('application/json; charset=utf-8');
      await kv.setRecord({ key: 'text', value: 'hello' });
      expect((await kv.getRecord('text'))?.value).toBe('hello');
      const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
      await kv.setRecord({ key: 'image.png', value: binary as never, contentType: 'image/png' });
      expect(((await kv.getRecord('image.png', { buffer: true }))!.value as Buffer).equals(binary)).toBe(true);
      for (let i = 0; i < 5; i++) await kv.setRecord({ key: `k${i}`, value: { i } });
      const keys: string[] = [];
      let exclusiveStartKey: string | undefined;
      for (let page = 0; page < 20; page++) {
        const list = await kv.listKeys({ limit: 3, exclusiveStartKey });
        keys.push(...list.items.map((i) => i.key));
        if (!list.isTruncated) break;
        exclusiveStartKey = list.nextExclusiveStartKey!;
      }
      expect(keys).toEqual(['big-json', 'image.png', 'k0', 'k1', 'k2', 'k3', 'k4', 'text']);
      await kv.deleteRecord('text');
      expect(await kv.getRecord('text')).toBeUndefined();
      await kv.update({ name: 'renamed-flow' });
      expect((await client.keyValueStores().getOrCreate('renamed-flow')).id).toBe(store.id);
      await kv.delete();
      expect(await kv.get()).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('serves one bucket from two servers: one store per name, writes of one read through the other', async () => {
    const url = `s3://${s3.bucket}/pair`;
    const [a, b] = [await s3Server(url), await s3Server(url)];
    try {
      const ca = new ApifyClient({ baseUrl: a.url, maxRetries: 1 });
      const cb = new ApifyClient({ baseUrl: b.url, maxRetries: 1 });
      for (let round = 0; round < 3; round++) {
        const stores = await Promise.all([ca, cb, ca, cb].map((c) => c.keyValueStores().getOrCreate(`shared-${round}`)));
        expect(new Set(stores.map((s) => s.id)).size).toBe(1);
      }
      const id = (await ca.keyValueStores().getOrCreate('shared-0')).id;
      await ca.keyValueStore(id).setRecord({ key: 'from-a', value: { a: 1 } });
      expect((await cb.keyValueStore(id).getRecord('from-a'))?.value).toEqual({ a: 1 });
      await cb.keyValueStore(id).setRecord({ key: 'from-a', value: 'changed by b' });
      expect((await ca.keyValueStore(id).getRecord('from-a'))?.value).toBe('changed by b');
      expect((await cb.keyValueStore(id).listKeys()).items.map((i) => i.key)).toEqual(['from-a']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('hands out a presigned S3 PUT as the direct-upload URL, capped in time; the record then reads through the server', async () => {
    const server = await s3Server(`s3://${s3.bucket}/upload`);
    try {
      const client = new ApifyClient({ baseUrl: server.url, maxRetries: 0 });
      const store = await client.keyValueStores().getOrCreate('uploads');
      await client.keyValueStore(store.id).setRecord({ key: 'big', value: { old: true } });
      const res = await fetch(`${server.url}/v2/key-value-stores/${store.id}/records/big/direct-upload-url`);
      expect(res.status).toBe(200);
      const { signedUrl } = (await res.json()).data as { signedUrl: string };
      expect(signedUrl.startsWith(`${s3.service.endpoint}/${s3.bucket}/upload/key_value_stores/${store.id}/records/big?`)).toBe(true);
      const expires = Number(new URL(signedUrl).searchParams.get('X-Amz-Expires'));
      expect(expires).toBeGreaterThan(0);
      expect(expires).toBeLessThanOrEqual(900);
      // Past the 9 MiB limit of a plain PUT.
      const data = Buffer.alloc(10 * 1024 * 1024 + 3, 7);
      data.write('start', 0);
      const put = await fetch(signedUrl, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
      expect(put.status).toBe(200);
      const got = await fetch(`${server.url}/v2/key-value-stores/${store.id}/records/big`);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('application/octet-stream');
      expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
      expect((await client.keyValueStore(store.id).listKeys()).items).toMatchObject([{ key: 'big', size: data.length }]);
      // The client's own direct upload sends Content-MD5 to the presigned URL (the bucket checks it)
      // and checks the ETag the bucket answers, then the download against the server's ETag.
      const ours = new KvClient({ baseUrl: server.url, maxRetries: 0 }).keyValueStore(store.id);
      await ours.setRecord({ key: 'big2', value: data, contentType: 'application/octet-stream' });
      const back = await ours.getRecord('big2', { buffer: true });
      expect(Buffer.from(back!.value as Uint8Array).equals(data)).toBe(true);

      const backend = await s3.backend('upload');
      const short = await backend.directUploadUrl(store.id, 'late', { expiresInSeconds: 1 });
      const capped = await backend.directUploadUrl(store.id, 'late', { expiresInSeconds: 100_000 });
      expect(new URL(capped.url).searchParams.get('X-Amz-Expires')).toBe('900');
      await new Promise((r) => setTimeout(r, 2500));
      expect((await fetch(short.url, { method: 'PUT', body: 'too late' })).status).toBe(403);
      expect(await backend.records(store.id).get('late')).toBeNull();
    } finally {
      await server.close();
    }
  });

  it('starts from the CLI with --storage s3://, and refuses a missing bucket clearly', async () => {
    const { service } = s3;
    const bucket = await createBucket(service, 'cli');
    const cli = path.resolve(here, '../../dist/cli/index.js');
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL: service.endpoint,
      AWS_REGION: service.region,
      AWS_ACCESS_KEY_ID: service.accessKeyId,
      AWS_SECRET_ACCESS_KEY: service.secretAccessKey,
    };
    const run = (args: string[], untilOutput?: RegExp) =>
      new Promise<{ code: number | null; out: string; kill: () => void }>((resolve, reject) => {
        const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`No answer from the CLI in time:\n${out}`));
        }, 30_000);
        const onData = (c: Buffer) => {
          out += c;
          if (untilOutput?.test(out)) {
            clearTimeout(timer);
            resolve({ code: null, out, kill: () => child.kill('SIGKILL') });
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, out, kill: () => {} });
        });
      });
    const serving = await run(['--storage', `s3://${bucket}/cli`], /http:\/\/127\.0\.0\.1:\d+/);
    try {
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(serving.out)![0];
      const client = new ApifyClient({ baseUrl: url, maxRetries: 0 });
      const store = await client.keyValueStores().getOrCreate('from-cli');
      await client.keyValueStore(store.id).setRecord({ key: 'k', value: 'v' });
      expect((await client.keyValueStore(store.id).getRecord('k'))?.value).toBe('v');
    } finally {
      serving.kill();
    }
    const missing = await run(['--storage', 's3://no-such-bucket-here/x']);
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/bucket "no-such-bucket-here" does not exist/);
  }, 90_000);
});
