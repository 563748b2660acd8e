/**
 * The signing secret over S3 lives in the bucket (`PREFIX/.apify-kv/signing-secret`), so a
 * signed URL made by one server works on every server over that prefix, and after restarts.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/index.js';
import { createStore, expectError, kvs, putRecord, raw } from '../server/helpers.js';
import { s3Client, useS3 } from '../support/s3-service.js';

const s3 = useS3();
const users = [{ id: 'u1', username: 'ann', token: 'tok-ann' }];
const auth = { Authorization: 'Bearer tok-ann' };
let prefixes = 0;

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

async function s3Server(prefix: string, extra: Partial<StartServerOptions> = {}): Promise<RunningServer> {
  const { service } = s3;
  return startServer({
    host: '127.0.0.1',
    port: 0,
    storage: `s3://${s3.bucket}/${prefix}`,
    s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    users,
    logger: { warn: () => {}, error: () => {} },
    ...extra,
  });
}

async function secretObject(prefix: string): Promise<string> {
  const client = s3Client(s3.service);
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/.apify-kv/signing-secret` }));
    return await res.Body!.transformToString();
  } finally {
    client.destroy();
  }
}

describe('signing secret over S3', { timeout: 120_000 }, () => {
  it('is shared by two servers over one prefix and survives both restarting', async () => {
    const prefix = `secret-${prefixes++}`;
    let [a, b] = await Promise.all([s3Server(prefix), s3Server(prefix)]);
    try {
      const id = await createStore(a, 'private', 'tok-ann');
      await putRecord(a, id, 'k', 'hello', 'text/plain', 'tok-ann');
      const store = (await raw(a, 'GET', `${kvs}/${id}`, { headers: auth })).json.data;
      const recordPublicUrl: string = (await raw(a, 'GET', `${kvs}/${id}/keys`, { headers: auth })).json.data.items[0].recordPublicUrl;
      expect(recordPublicUrl).toContain('signature=');
      // The store is private: without the signature the other server does not show it.
      expectError(await raw(b, 'GET', `${kvs}/${id}/records/k`), 404, 'record-or-token-not-found');
      // A's signed URL opens the record on B; both show the store's signing key alike.
      expect((await raw(b, 'GET', pathOf(recordPublicUrl))).text).toBe('hello');
      expect((await raw(b, 'GET', `${kvs}/${id}`, { headers: auth })).json.data.urlSigningSecretKey).toBe(store.urlSigningSecretKey);
      expect((await raw(b, 'GET', pathOf(store.keysPublicUrl))).status).toBe(200);
      // The secret sits beside the stores, not in a store's folder.
      expect((await secretObject(prefix)).trim()).toMatch(/^[0-9a-f]{64}$/);

      await Promise.all([a.close(), b.close()]);
      [a, b] = await Promise.all([s3Server(prefix), s3Server(prefix)]);
      for (const server of [a, b]) {
        expect((await raw(server, 'GET', pathOf(recordPublicUrl))).text).toBe('hello');
        expect((await raw(server, 'GET', `${kvs}/${id}`, { headers: auth })).json.data.urlSigningSecretKey).toBe(store.urlSigningSecretKey);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('is made once when many servers start at once on a fresh prefix', async () => {
    const prefix = `secret-${prefixes++}`;
    const servers = await Promise.all(Array.from({ length: 4 }, () => s3Server(prefix)));
    try {
      const id = await createStore(servers[0]!, 'raced', 'tok-ann');
      const keys = await Promise.all(
        servers.map(async (s) => (await raw(s, 'GET', `${kvs}/${id}`, { headers: auth })).json.data.urlSigningSecretKey),
      );
      expect(typeof keys[0]).toBe('string');
      expect(new Set(keys).size).toBe(1);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('stops the start on a damaged secret and leaves it as it was', async () => {
    const prefix = `secret-${prefixes++}`;
    const client = s3Client(s3.service);
    try {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/.apify-kv/signing-secret`, Body: 'not a secret' }));
    } finally {
      client.destroy();
    }
    await expect(s3Server(prefix)).rejects.toThrow(/damaged/);
    expect(await secretObject(prefix)).toBe('not a secret');
  });

  it('gives way to an explicit signingSecret option', async () => {
    const prefix = `secret-${prefixes++}`;
    const shared = await s3Server(prefix);
    const own = await s3Server(prefix, { signingSecret: 'an explicit secret' });
    try {
      const id = await createStore(shared, 'either', 'tok-ann');
      await putRecord(shared, id, 'k', 'hi', 'text/plain', 'tok-ann');
      const recordPublicUrl: string = (await raw(shared, 'GET', `${kvs}/${id}/keys`, { headers: auth })).json.data.items[0].recordPublicUrl;
      const ownKey = (await raw(own, 'GET', `${kvs}/${id}`, { headers: auth })).json.data.urlSigningSecretKey;
      expect(ownKey).not.toBe((await raw(shared, 'GET', `${kvs}/${id}`, { headers: auth })).json.data.urlSigningSecretKey);
      expectError(await raw(own, 'GET', pathOf(recordPublicUrl)), 404, 'record-or-token-not-found');
      expect((await raw(shared, 'GET', pathOf(recordPublicUrl))).text).toBe('hi');
    } finally {
      await Promise.all([shared.close(), own.close()]);
    }
  });
});
