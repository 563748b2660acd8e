/**
 * Records larger than one part on S3: streamed as one multipart upload (each part with its
 * Content-MD5), visible only once complete, never leaving an unfinished upload behind; and the
 * server's own direct-upload route (`direct-upload-url?via=server`), which the storage browser
 * uses, streaming a large body into the bucket.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { startServer, type RunningServer } from '../../src/server/index.js';
import { PayloadTooLargeError, StorageError } from '../../src/storage/errors.js';
import { PART_BYTES } from '../../src/storage/s3/multipart-put.js';
import { LOCAL_USER } from '../../src/storage/types.js';
import { caughtAsync, readRecord, storeInfo } from '../support/backend-contract.js';
import { checkHistory, History } from '../support/linearizability.js';
import { s3Client, useS3 } from '../support/s3-service.js';

const s3 = useS3();

/** `size` bytes that differ from part to part (a part sent twice or out of order would show). */
function bodyOf(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE((i * 2654435761 + seed) >>> 0, Math.min(i, size - 4));
  return out;
}

/** The bytes in 64 KiB chunks, as a request body arrives. */
function chunked(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));
  return Readable.from(chunks);
}

async function unfinishedUploads(prefix: string): Promise<string[]> {
  const client = s3Client(s3.service);
  try {
    const answer = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
    return (answer.Uploads ?? []).map((u) => u.Key ?? '');
  } finally {
    client.destroy();
  }
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('large records on the S3 backend', { timeout: 120_000 }, () => {
  it('streams a body over one part as a multipart upload: byte-exact, its exact content type, the ETag reads give', async () => {
    const prefix = 'large-put';
    const backend = await s3.backend(prefix);
    const store = storeInfo('large');
    await backend.catalog.create(store);
    const data = bodyOf(PART_BYTES + 700_001, 1);
    const type = 'application/x-odd; name="ü.bin"';
    const put = await backend.records(store.id).put('big', { stream: chunked(data) }, type);
    expect(put.size).toBe(data.length);
    expect(put.sizeDelta).toBe(data.length);
    const read = await readRecord(backend, store.id, 'big');
    expect(read!.body.length).toBe(data.length);
    expect(md5(read!.body)).toBe(md5(data));
    expect(read!.contentType).toBe(type);
    // The multipart ETag (MD5 of the parts' MD5s, "-2"), which RGW's completion does not answer.
    expect(put.etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(read!.etag).toBe(put.etag);
    expect((await backend.records(store.id).list({ limit: 10 })).items).toEqual([{ key: 'big', size: data.length }]);

    // Replaced by a smaller one: one single PUT again, and the size change counts the old size.
    const small = await backend.records(store.id).put('big', { stream: Readable.from([Buffer.from('small')]) }, 'text/plain');
    expect(small.sizeDelta).toBe(5 - data.length);
    expect((await readRecord(backend, store.id, 'big'))!.body.toString()).toBe('small');
    expect(await unfinishedUploads(prefix)).toEqual([]);
  });

  it('a body that fails or grows past its limit mid-upload changes nothing and leaves no unfinished upload', async () => {
    const prefix = 'large-fail';
    const backend = await s3.backend(prefix);
    const store = storeInfo('large-fail');
    await backend.catalog.create(store);
    const records = backend.records(store.id);
    await records.put('kept', { stream: Readable.from([Buffer.from('old value')]) }, 'text/plain');

    // The sender goes away once the upload has begun at S3 (two parts and a bit sent).
    const broken = new PassThrough();
    const writing = records.put('kept', { stream: broken }, 'application/octet-stream');
    broken.write(bodyOf(2 * PART_BYTES + 10, 2));
    await expect.poll(() => unfinishedUploads(prefix), { timeout: 20_000, interval: 50 }).toHaveLength(1);
    const failure = new Error('client went away');
    broken.destroy(failure);
    expect(await caughtAsync(writing)).toBe(failure);

    const tooLarge = await caughtAsync(
      records.put('kept', { stream: chunked(bodyOf(PART_BYTES + 300_000, 3)), maxBytes: PART_BYTES + 100_000 }, 'application/octet-stream'),
    );
    expect(tooLarge).toBeInstanceOf(PayloadTooLargeError);

    // A conditional write cannot be a multipart upload (S3 and RGW ignore conditions on a completion): refused.
    const conditional = await caughtAsync(
      records.put('kept', { stream: chunked(bodyOf(PART_BYTES + 1, 4)) }, 'application/octet-stream', { ifNoneMatch: '*' }),
    );
    expect(conditional).toBeInstanceOf(StorageError);
    expect((conditional as StorageError).code).toBe('invalid-input');

    const read = await readRecord(backend, store.id, 'kept');
    expect(read!.body.toString()).toBe('old value');
    expect(read!.contentType).toBe('text/plain');
    expect(await unfinishedUploads(prefix)).toEqual([]);
  });
});

describe('large and small writes of one key through two instances', { timeout: 120_000 }, () => {
  it('are linearizable: a read sees the latest completed write, body and content type, never a part of one', async () => {
    const prefix = 'large-lin';
    const a = await s3.backend(prefix);
    const b = await s3.backend(prefix);
    const store = storeInfo('lin');
    await a.catalog.create(store);
    const history = new History();
    const key = 'k';
    // Each value's tag opens its body; a read takes the tag from its first bytes and the type.
    const TAG_BYTES = 24;
    const tagged = (tag: string, size: number) => {
      const bytes = bodyOf(size, tag.length);
      bytes.write(tag.padEnd(TAG_BYTES, '.'), 0);
      return bytes;
    };
    // Small, large, small: the large write replaces a value (the bucket keeps deleted data a
    // while, so tests keep their large bytes few).
    const writer = async (name: string, backend: typeof a) => {
      const small = (tag: string) =>
        history.put(key, `${tag}|text/x-${name}`, () => backend.records(store.id).put(key, { stream: Readable.from([tagged(tag, 100)]) }, `text/x-${name}`));
      await small(`${name}-S0`);
      const large = `${name}-L`;
      await history.put(key, `${large}|application/x-large-${name}`, () =>
        backend.records(store.id).put(key, { stream: chunked(tagged(large, PART_BYTES + 1000)) }, `application/x-large-${name}`),
      );
      await small(`${name}-S1`);
    };
    let writing = true;
    const reader = async (backend: typeof a) => {
      let reads = 0;
      while (writing || reads < 3) {
        reads++;
        await history.get(key, async () => {
          const record = await backend.records(store.id).get(key);
          if (!record) return null;
          const chunks: Buffer[] = [];
          for await (const chunk of record.openStream({ start: 0, end: TAG_BYTES - 1 })) chunks.push(Buffer.from(chunk));
          return `${Buffer.concat(chunks).toString().replace(/\.+$/, '')}|${record.contentType}`;
        });
      }
    };
    const writers = Promise.all([writer('a', a), writer('b', b)]).finally(() => {
      writing = false;
    });
    await Promise.all([writers, reader(a), reader(b)]);
    const counts = history.counts();
    expect(counts.put).toBe(6);
    expect(counts.unknown).toBe(0);
    expect(counts.get).toBeGreaterThan(6);
    expect(checkHistory(history.ops)).toEqual({ ok: true });
    expect(await unfinishedUploads(prefix)).toEqual([]);
  });
});

describe('large records in a store of the first layout ({KEY}.{EXT}, e.g. a synced Crawlee folder)', { timeout: 120_000 }, () => {
  it('streams a large body as one multipart upload, and the key\'s object under its old extension goes after it', async () => {
    const backend = await s3.backend();
    const client = s3Client(s3.service);
    const folder = `${backend.options.prefix}/key_value_stores/crawled`;
    try {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${folder}/OUTPUT.json`, Body: '{"a":1}', ContentType: 'application/json' }));
      const info = (await backend.catalog.findByName(LOCAL_USER.id, 'crawled'))!;
      const data = bodyOf(PART_BYTES + 4321, 6);
      const put = await backend.records(info.id).put('OUTPUT', { stream: chunked(data) }, 'application/zip');
      expect(put.etag).toMatch(/-2"$/);
      expect(put.sizeDelta).toBe(data.length - 7);
      const read = await readRecord(backend, info.id, 'OUTPUT');
      expect(read!.contentType).toBe('application/zip');
      expect(md5(read!.body)).toBe(md5(data));
      const names = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${folder}/` }));
      expect((names.Contents ?? []).map((o) => o.Key!.slice(folder.length + 1)).sort()).toEqual(['OUTPUT.zip', '__metadata__.json']);
      expect(await unfinishedUploads(backend.options.prefix)).toEqual([]);
    } finally {
      client.destroy();
    }
  });
});

async function s3Server(url: string, token?: string): Promise<RunningServer> {
  const { service } = s3;
  return startServer({
    host: '127.0.0.1',
    port: 0,
    token,
    storage: url,
    s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    logger: { warn: () => {}, error: () => {} },
  });
}

describe('the server\'s own direct-upload route over S3', { timeout: 120_000 }, () => {
  it('hands it out for ?via=server (to the owner only) and streams a large body into the bucket', async () => {
    const token = 'large-owner-token';
    const server = await s3Server(`s3://${s3.bucket}/via-server`, token);
    try {
      const auth = { Authorization: `Bearer ${token}` };
      const created = await fetch(`${server.url}/v2/key-value-stores?name=uploads`, { method: 'POST', headers: auth });
      const storeId = ((await created.json()) as { data: { id: string } }).data.id;
      const urlPath = `${server.url}/v2/key-value-stores/${storeId}/records/big/direct-upload-url`;

      // Anonymous callers get no upload URL; a wrong "via" is refused.
      expect((await fetch(`${urlPath}?via=server`)).status).toBe(401);
      expect((await fetch(`${urlPath}?via=bucket`, { headers: auth })).status).toBe(400);
      // Without "via", API users still get the bucket's presigned URL.
      const presigned = ((await (await fetch(urlPath, { headers: auth })).json()) as { data: { signedUrl: string } }).data.signedUrl;
      expect(presigned.startsWith(`${s3.service.endpoint}/`)).toBe(true);

      const answer = await fetch(`${urlPath}?via=server`, { headers: auth });
      expect(answer.status).toBe(200);
      const { signedUrl } = ((await answer.json()) as { data: { signedUrl: string } }).data;
      expect(signedUrl.startsWith(`${server.url}/v2/key-value-stores/${storeId}/records/big/direct-upload?`)).toBe(true);
      expect(signedUrl).not.toContain(token);

      const data = bodyOf(PART_BYTES + 512 * 1024, 5);
      // A condition cannot go with a multipart upload: refused in words, nothing written.
      const conditional = await fetch(signedUrl, { method: 'PUT', body: new Uint8Array(data), headers: { 'Content-Type': 'application/octet-stream', 'If-None-Match': '*' } });
      expect(conditional.status).toBe(400);
      expect(((await conditional.json()) as { error: { type: string; message: string } }).error).toMatchObject({ type: 'invalid-input', message: expect.stringContaining('conditional write') });
      expect((await fetch(`${server.url}/v2/key-value-stores/${storeId}/records/big`, { method: 'HEAD', headers: auth })).status).toBe(404);
      const put = await fetch(signedUrl, { method: 'PUT', body: new Uint8Array(data), headers: { 'Content-Type': 'application/octet-stream' } });
      expect(put.status).toBe(201);
      const etag = put.headers.get('etag');
      const got = await fetch(`${server.url}/v2/key-value-stores/${storeId}/records/big`, { headers: auth });
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe(etag);
      expect(md5(Buffer.from(await got.arrayBuffer()))).toBe(md5(data));

      // The signature is for that one key: moved to another, it writes nothing.
      expect((await fetch(signedUrl.replace('/big/', '/other/'), { method: 'PUT', body: 'x' })).status).toBe(403);
      expect((await fetch(`${server.url}/v2/key-value-stores/${storeId}/records/other`, { headers: auth })).status).toBe(404);
      expect(await unfinishedUploads('via-server')).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
