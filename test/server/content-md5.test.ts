/**
 * `Content-MD5` on record uploads: a body that matches is stored, one that does not is refused
 * with 400 `integrity-mismatch` before anything is committed (the old record survives), and a
 * malformed header is a 400 of its own. Runs on the folder and (test/s3/server-api) S3 backends.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createStore, expectError, kvs, putRecord, raw, startTestServer } from './helpers.js';

const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest();
const b64 = (bytes: Buffer | string) => md5(bytes).toString('base64');

async function setUp() {
  const server = await startTestServer();
  const store = await createStore(server);
  const put = (key: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    raw(server, 'PUT', `${kvs}/${store}/records/${key}`, { headers: { 'Content-Type': 'text/plain', ...headers }, body });
  const get = (key: string) => raw(server, 'GET', `${kvs}/${store}/records/${key}`);
  return { server, store, put, get };
}

describe('Content-MD5 on record uploads', () => {
  it('stores a body that matches its Content-MD5, with that MD5 as ETag', async () => {
    const { put, get } = await setUp();
    const res = await put('ok', 'hello world', { 'Content-MD5': b64('hello world') });
    expect(res.status).toBe(201);
    expect(res.headers.etag).toBe(`"${md5('hello world').toString('hex')}"`);
    expect((await get('ok')).text).toBe('hello world');
  });

  it('refuses a body that does not match with 400 integrity-mismatch, and the old record survives', async () => {
    const { server, put, get } = await setUp();
    expect((await put('k', 'old value')).status).toBe(201);
    const before = await server.snapshot();
    // One byte flipped on the way: the digest is of what the client meant to send.
    const res = await put('k', 'new valuf', { 'Content-MD5': b64('new value') });
    expectError(res, 400, 'integrity-mismatch');
    // Nothing written, not even a temp file left behind.
    expect(await server.snapshot()).toEqual(before);
    const after = await get('k');
    expect(after.text).toBe('old value');
    expect(after.headers.etag).toBe(`"${md5('old value').toString('hex')}"`);
    // A record that did not exist is not created by a refused body.
    expectError(await put('fresh', 'abc', { 'Content-MD5': b64('abd') }), 400, 'integrity-mismatch');
    expect((await get('fresh')).status).toBe(404);
  });

  it('checks a large streamed body as it is written', async () => {
    const { put, get } = await setUp();
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const bad = Buffer.from(body);
    bad[bad.length - 1] = 8;
    expectError(await put('big', bad, { 'Content-MD5': b64(body) }), 400, 'integrity-mismatch');
    expect((await get('big')).status).toBe(404);
    expect((await put('big', body, { 'Content-MD5': b64(body) })).status).toBe(201);
    expect((await get('big')).body.equals(body)).toBe(true);
  });

  it('refuses a malformed Content-MD5 with 400 invalid-content-md5', async () => {
    const { put, get } = await setUp();
    for (const header of ['not base64!', md5('x').toString('hex'), Buffer.alloc(20).toString('base64'), '']) {
      expectError(await put('k', 'x', { 'Content-MD5': header }), 400, 'invalid-content-md5');
    }
    expect((await get('k')).status).toBe(404);
  });

  it('takes the digest of a compressed body either as stored (decoded) or as sent (encoded)', async () => {
    const { put, get } = await setUp();
    const text = 'compressed '.repeat(100);
    const gzipped = gzipSync(text);
    const headers = { 'Content-Encoding': 'gzip' };
    expect((await put('decoded', gzipped, { ...headers, 'Content-MD5': b64(text) })).status).toBe(201);
    expect((await put('encoded', gzipped, { ...headers, 'Content-MD5': b64(gzipped) })).status).toBe(201);
    expect((await get('decoded')).text).toBe(text);
    expect((await get('encoded')).text).toBe(text);
    expectError(await put('neither', gzipped, { ...headers, 'Content-MD5': b64('other') }), 400, 'integrity-mismatch');
  });

  it('checks Content-MD5 on a direct upload too (on S3, the bucket checks it)', async () => {
    const { server, store, get } = await setUp();
    const urlRes = await raw(server, 'GET', `${kvs}/${store}/records/direct/direct-upload-url`);
    expect(urlRes.status).toBe(200);
    const signed = new URL(urlRes.json.data.signedUrl as string);
    const ours = signed.port === String(server.port);
    const upload = async (body: string, digest: string) => {
      const headers = { 'Content-Type': 'text/plain', 'Content-MD5': digest };
      if (ours) return raw(server, 'PUT', signed.pathname + signed.search, { headers, body });
      // A presigned URL of the bucket: S3 refuses a body that does not match (400 BadDigest).
      const res = await fetch(signed, { method: 'PUT', headers, body });
      return { status: res.status, text: await res.text(), json: undefined, headers: {}, body: Buffer.alloc(0) };
    };
    const refused = await upload('tampered', b64('original'));
    if (ours) expectError(refused, 400, 'integrity-mismatch');
    else expect([refused.status, refused.text]).toEqual([400, expect.stringContaining('BadDigest')]);
    expect((await get('direct')).status).toBe(404);
    expect((await upload('original', b64('original'))).status).toBe(ours ? 201 : 200);
    expect((await get('direct')).text).toBe('original');
  });

  it('stores a body without Content-MD5 as before', async () => {
    const { server, store, get } = await setUp();
    expect((await putRecord(server, store, 'plain', 'no digest')).status).toBe(201);
    expect((await get('plain')).text).toBe('no digest');
  });
});
