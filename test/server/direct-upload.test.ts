import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createStore, expectError, kvs, raw, startTestServer } from './helpers.js';

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

describe('direct upload URL', () => {
  it('accepts a body above the payload limit through the signed URL', async () => {
    const server = await startTestServer({ maxPayloadBytes: 1000, users: [{ id: 'u1', username: 'ann', token: 'tok-ann' }] });
    const id = await createStore(server, 'big', 'tok-ann');
    const res = await raw(server, 'GET', `${kvs}/${id}/records/big-file/direct-upload-url`, {
      headers: { Authorization: 'Bearer tok-ann' },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.data)).toEqual(['signedUrl']);
    const signedUrl: string = res.json.data.signedUrl;
    expect(signedUrl.startsWith(`${server.url}${kvs}/${id}/records/big-file/`)).toBe(true);
    expect(signedUrl).not.toContain('tok-ann');

    const body = Buffer.alloc(200_000, 3);
    // The plain PUT is refused...
    expectError(
      await raw(server, 'PUT', `${kvs}/${id}/records/big-file`, { headers: { Authorization: 'Bearer tok-ann' }, body }),
      413,
      'request-too-large',
    );
    // ...the signed URL takes it, with no token.
    const up = await raw(server, 'PUT', pathOf(signedUrl), { headers: { 'Content-Type': 'image/webp' }, body });
    expect(up.status).toBe(201);
    expect(up.headers.location).toBe(`${server.url}${kvs}/${id}/records/big-file`);

    const get = await raw(server, 'GET', `${kvs}/${id}/records/big-file`, { headers: { Authorization: 'Bearer tok-ann' } });
    expect(get.headers['content-type']).toBe('image/webp');
    expect(get.body.equals(body)).toBe(true);

    // Compressed bodies are decoded there too; the URL can be reused until it expires.
    const gz = await raw(server, 'PUT', pathOf(signedUrl), {
      headers: { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' },
      body: zlib.gzipSync(Buffer.alloc(50_000, 'z')),
    });
    expect(gz.status).toBe(201);
    const again = await raw(server, 'GET', `${kvs}/${id}/records/big-file`, { headers: { Authorization: 'Bearer tok-ann' } });
    expect(again.text).toBe('z'.repeat(50_000));
  });

  it('?via=server asks for the server\'s own route (the storage browser\'s): the owner gets it, a reader does not', async () => {
    const server = await startTestServer({
      users: [
        { id: 'u1', username: 'ann', token: 'tok-ann' },
        { id: 'u2', username: 'bob', token: 'tok-bob' },
      ],
    });
    const id = await createStore(server, 'shared', 'tok-ann');
    const ann = { Authorization: 'Bearer tok-ann' };
    const bob = { Authorization: 'Bearer tok-bob' };
    expect((await raw(server, 'PUT', `${kvs}/${id}`, { headers: { ...ann, 'Content-Type': 'application/json' }, body: JSON.stringify({ generalAccess: 'ANYONE_WITH_ID_CAN_READ' }) })).status).toBe(200);
    const path = `${kvs}/${id}/records/k/direct-upload-url`;
    const res = await raw(server, 'GET', `${path}?via=server`, { headers: ann });
    expect(res.status).toBe(200);
    const signedUrl: string = res.json.data.signedUrl;
    expect(signedUrl.startsWith(`${server.url}${kvs}/${id}/records/k/direct-upload?`)).toBe(true);
    expect((await raw(server, 'PUT', pathOf(signedUrl), { headers: { 'Content-Type': 'text/plain' }, body: 'via server' })).status).toBe(201);
    // Bob may read the store, not write it; nobody may without a token.
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`, { headers: bob })).text).toBe('via server');
    expectError(await raw(server, 'GET', `${path}?via=server`, { headers: bob }), 403, 'insufficient-permissions');
    expect((await raw(server, 'GET', `${path}?via=server`)).status).toBe(401);
    expectError(await raw(server, 'GET', `${path}?via=bucket`, { headers: ann }), 400, 'invalid-input');
  });

  it('rejects forged, altered and expired signatures', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const server = await startTestServer({ now: () => clock, directUploadTtlMillis: 60_000 });
    const id = await createStore(server, 'signed');
    const signedUrl: string = (await raw(server, 'GET', `${kvs}/${id}/records/k/direct-upload-url`)).json.data.signedUrl;
    const u = new URL(signedUrl);
    const expires = u.searchParams.get('expires')!;
    const signature = u.searchParams.get('signature')!;
    expect(Number(expires)).toBe(clock + 60_000);

    const attempts = [
      `${kvs}/${id}/records/k/direct-upload?expires=${expires}&signature=forged`,
      `${kvs}/${id}/records/k/direct-upload?expires=${Number(expires) + 1}&signature=${signature}`,
      `${kvs}/${id}/records/other/direct-upload?expires=${expires}&signature=${signature}`,
      `${kvs}/${id}/records/k/direct-upload?signature=${signature}`,
      `${kvs}/${id}/records/k/direct-upload`,
      `${kvs}/signed/records/k/direct-upload?expires=${expires}&signature=${signature}`,
    ];
    for (const p of attempts) expectError(await raw(server, 'PUT', p, { body: 'x' }), 403, 'invalid-signature');

    clock += 60_001;
    const expired = await raw(server, 'PUT', pathOf(signedUrl), { body: 'late' });
    expectError(expired, 403, 'invalid-signature');
    expect(expired.json.error.message).toContain('expired');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/k`), 404, 'record-not-found');

    // Only PUT goes to the upload URL.
    expectError(await raw(server, 'GET', pathOf(signedUrl)), 405, 'method-not-allowed');
  });

  it('a deleted store makes its upload URL 404', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'gone');
    const signedUrl: string = (await raw(server, 'GET', `${kvs}/${id}/records/k/direct-upload-url`)).json.data.signedUrl;
    await raw(server, 'DELETE', `${kvs}/${id}`);
    expectError(await raw(server, 'PUT', pathOf(signedUrl), { body: 'x' }), 404, 'record-or-token-not-found');
  });
});
