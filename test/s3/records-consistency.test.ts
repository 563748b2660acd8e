/**
 * Record consistency over S3, case by case: a content type changed through two servers never
 * leaves a stale read behind; concurrent writers of one key never make it disappear; a cold
 * key costs the same few requests whatever keys surround it (no LIST).
 */
import { Readable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from '../../src/server/index.js';
import { mapLimit } from '../../src/storage/s3/util.js';
import { LOCAL_USER } from '../../src/storage/types.js';
import { body, readRecord, storeInfo } from '../support/backend-contract.js';
import type { S3Backend } from '../../src/storage/s3/index.js';
import { getRecord, putRecord, storeNamed } from '../support/record-http.js';
import { startCountingProxy } from '../support/s3-counting-proxy.js';
import { s3Client, useS3 } from '../support/s3-service.js';

const s3 = useS3();

async function s3Server(prefix: string): Promise<RunningServer> {
  const { service, bucket } = s3;
  return startServer({
    host: '127.0.0.1',
    port: 0,
    storage: `s3://${bucket}/${prefix}`,
    s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    logger: { warn: () => {}, error: () => {} },
  });
}

describe('S3 records: consistency case by case', { timeout: 120_000 }, () => {
  it('reads the latest write through both servers after content types alternate between them', async () => {
    const prefix = `seq-${Date.now()}`;
    const [a, b] = [await s3Server(prefix), await s3Server(prefix)];
    try {
      const id = await storeNamed(a.url, 'sequence');
      await putRecord(b.url, id, 'k', 'v1-bin', 'application/octet-stream');
      await putRecord(a.url, id, 'k', '{"v":2}', 'application/json');
      await putRecord(b.url, id, 'k', 'v3-bin', 'application/octet-stream');
      expect(await getRecord(a.url, id, 'k')).toBe('v3-bin|application/octet-stream');
      expect(await getRecord(b.url, id, 'k')).toBe('v3-bin|application/octet-stream');
      await putRecord(a.url, id, 'k', '{"v":4}', 'application/json');
      expect(await getRecord(b.url, id, 'k')).toBe('{"v":4}|application/json');
      expect(await getRecord(a.url, id, 'k')).toBe('{"v":4}|application/json');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('never loses a key to six concurrent writers alternating content types', async () => {
    const first = await s3.backend();
    const backends = [first, await s3.backend(first.options.prefix)];
    const info = storeInfo('six');
    await first.catalog.create(info);
    const written = new Set<string>();
    let acknowledged = false;
    let writing = 6;
    const misses: number[] = [];
    let reads = 0;
    const end = Date.now() + 4000;
    const read = async (backend: S3Backend) => {
      const record = await readRecord(backend, info.id, 'k');
      return record && `${record.body.toString()}|${record.contentType}`;
    };
    // Writers on both instances, each alternating content types.
    const writer = async (w: number) => {
      for (let n = 0; n < 10 || Date.now() < end; n++) {
        const type = (w + n) % 2 ? 'application/json' : 'text/plain';
        const value = `"w${w}-${n}"`;
        written.add(`${value}|${type}`);
        await backends[w % 2]!.records(info.id).put('k', body(value), type);
        acknowledged = true;
      }
      writing--;
    };
    // Reads once a put was acknowledged, until the writers are done: never nothing.
    const reader = async () => {
      while (!acknowledged) await new Promise((r) => setTimeout(r, 5));
      while (writing > 0) {
        const got = await read(backends[reads % 2]!);
        reads++;
        if (got === null) misses.push(reads);
        else expect(written.has(got)).toBe(true);
      }
    };
    await Promise.all([...Array.from({ length: 6 }, (_, w) => writer(w)), reader(), reader()]);
    expect(misses).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    for (const backend of backends) {
      const last = await read(backend);
      expect(last).not.toBeNull();
      expect(written.has(last!)).toBe(true);
    }
  });

  it('reads and writes a cold key beside 2,000 longer keys with no LIST', async () => {
    const writer = await s3.backend();
    const info = storeInfo('neighbours');
    await writer.catalog.create(info);
    // Two pages of a LIST (1,000 names each) ahead of `a`: any LIST for it would have to read both.
    const neighbours = Array.from({ length: 2000 }, (_, i) => `a-${String(i).padStart(6, '0')}`);
    await mapLimit(neighbours, 64, (key) => writer.records(info.id).put(key, body('n'), 'text/plain'));
    const proxy = await startCountingProxy(s3.service.endpoint);
    try {
      // A fresh instance, through the proxy: it has seen none of these keys.
      const cold = await s3.backend(writer.options.prefix, { endpoint: proxy.url });
      const records = cold.records(info.id);
      expect(await records.get('a')).toBeNull();
      const reads = proxy.counts();
      expect(reads.LIST ?? 0).toBe(0);
      await records.put('a', { stream: Readable.from([Buffer.from('{"a":1}')]) }, 'application/json');
      expect((await readRecord(cold, info.id, 'a'))?.body.toString()).toBe('{"a":1}');
      const counts = proxy.counts();
      expect(counts.LIST ?? 0).toBe(0);
      // The store's lookups once, then one request per record operation (at most two for a put).
      const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
      expect(total).toBeLessThanOrEqual(7);
    } finally {
      await proxy.close();
    }
  });

  it('serves a store in the first layout ({KEY}.{EXT}, e.g. a synced Crawlee folder) in that layout', async () => {
    const backend = await s3.backend();
    const client = s3Client(s3.service);
    const folder = `${backend.options.prefix}/key_value_stores/crawled`;
    try {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${folder}/INPUT.json`, Body: '{"a":1}', ContentType: 'application/json' }));
      const info = (await backend.catalog.findByName(LOCAL_USER.id, 'crawled'))!;
      expect(info).not.toBeNull();
      const records = backend.records(info.id);
      expect((await readRecord(backend, info.id, 'INPUT'))?.body.toString()).toBe('{"a":1}');
      await records.put('OUTPUT', body('done'), 'text/plain');
      const names = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${folder}/` }));
      expect((names.Contents ?? []).map((o) => o.Key!.slice(folder.length + 1)).sort()).toEqual(['INPUT.json', 'OUTPUT.txt', '__metadata__.json']);
      // A new store has the object-per-key layout.
      const fresh = storeInfo('fresh');
      await backend.catalog.create(fresh);
      await backend.records(fresh.id).put('INPUT', body('{}'), 'application/json');
      // Its folder is named by its id (see catalog.ts).
      const freshFolder = `${backend.options.prefix}/key_value_stores/${fresh.id}/`;
      const fresher = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: freshFolder }));
      expect((fresher.Contents ?? []).map((o) => o.Key!.slice(freshFolder.length)).sort()).toEqual(['__metadata__.json', 'records/INPUT']);
      // A save (here a rename) keeps the layout for instances that read it afterwards.
      await backend.catalog.save({ ...(await backend.catalog.get(fresh.id))!, name: 'fresh-renamed' });
      const other = await s3.backend(backend.options.prefix);
      await other.records(fresh.id).put('after', body('1'), 'text/plain');
      const renamed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: freshFolder }));
      expect((renamed.Contents ?? []).map((o) => o.Key!.slice(freshFolder.length)).sort()).toEqual(['__metadata__.json', 'records/INPUT', 'records/after']);
    } finally {
      client.destroy();
    }
  });
});
