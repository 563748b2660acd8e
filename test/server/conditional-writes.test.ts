/**
 * Conditional record writes and deletes over HTTP (`If-Match` / `If-None-Match`, RFC 9110), on
 * the folder storage; test/s3/conditional-writes.test.ts runs this file again on S3.
 */
import { describe, expect, it } from 'vitest';

import { expectError, kvs, putRecord, raw, startTestServer, testStorageKind, type RawResponse, type TestServer } from './helpers.js';

const FEATURES = 'x-apify-kv-features';

function put(server: { port: number }, id: string, key: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(server, 'PUT', `${kvs}/${id}/records/${key}`, { headers: { 'Content-Type': 'text/plain', ...headers }, body });
}

const del = (server: { port: number }, id: string, key: string, headers: Record<string, string> = {}) =>
  raw(server, 'DELETE', `${kvs}/${id}/records/${key}`, { headers });

const get = (server: { port: number }, id: string, key: string) => raw(server, 'GET', `${kvs}/${id}/records/${key}`);

async function storeOn(server: TestServer): Promise<string> {
  const res = await raw(server, 'POST', `${kvs}?name=cond-${Math.random().toString(36).slice(2, 8)}`);
  return res.json.data.id as string;
}

async function keysOf(server: { port: number }, id: string): Promise<string[]> {
  const res = await raw(server, 'GET', `${kvs}/${id}/keys`);
  return (res.json.data.items as Array<{ key: string }>).map((item) => item.key);
}

describe(`conditional writes (${testStorageKind()})`, () => {
  it('If-None-Match: * creates only: the second create answers 412 precondition-failed and changes nothing', async () => {
    const server = await startTestServer();
    const id = await storeOn(server);
    const first = await put(server, id, 'state', 'one', { 'If-None-Match': '*' });
    expect(first.status).toBe(201);
    const second = await put(server, id, 'state', 'two', { 'If-None-Match': '*' });
    expectError(second, 412, 'precondition-failed');
    expect(second.json.error.message).toContain('state');
    const now = await get(server, id, 'state');
    expect(now.text).toBe('one');
    expect(now.headers.etag).toBe(first.headers.etag);
  });

  it('If-Match writes only over the listed ETag (strong comparison); * needs a record', async () => {
    const server = await startTestServer();
    const id = await storeOn(server);
    expectError(await put(server, id, 'k', 'x', { 'If-Match': '*' }), 412, 'precondition-failed');
    expect((await get(server, id, 'k')).status).toBe(404);

    const v1 = (await putRecord(server, id, 'k', 'v1')).headers.etag as string;
    const v2res = await put(server, id, 'k', 'v2', { 'If-Match': v1 });
    expect(v2res.status).toBe(201);
    const v2 = v2res.headers.etag as string;
    expect(v2).not.toBe(v1);
    // The ETag of the answer is the one a GET gives.
    expect((await get(server, id, 'k')).headers.etag).toBe(v2);

    // A stale ETag, or the right one marked weak, is refused; nothing changes.
    expectError(await put(server, id, 'k', 'stale', { 'If-Match': v1 }), 412, 'precondition-failed');
    expectError(await put(server, id, 'k', 'weak', { 'If-Match': `W/${v2}` }), 412, 'precondition-failed');
    expect((await get(server, id, 'k')).text).toBe('v2');

    // A list matches when any of its tags does; * matches any record.
    expect((await put(server, id, 'k', 'v3', { 'If-Match': `"0000", ${v2}` })).status).toBe(201);
    expect((await put(server, id, 'k', 'v4', { 'If-Match': '*' })).status).toBe(201);
    // If-None-Match with the current ETag (weak comparison) refuses; with another one writes.
    const v4 = (await get(server, id, 'k')).headers.etag as string;
    expectError(await put(server, id, 'k', 'no', { 'If-None-Match': `W/${v4}` }), 412, 'precondition-failed');
    expect((await put(server, id, 'k', 'v5', { 'If-None-Match': v1 })).status).toBe(201);
    expect((await get(server, id, 'k')).text).toBe('v5');
  });

  it('DELETE with If-Match removes only that version; on a missing record it is a 412', async () => {
    const server = await startTestServer();
    const id = await storeOn(server);
    const etag = (await putRecord(server, id, 'gone', 'body')).headers.etag as string;
    await putRecord(server, id, 'other', 'x');
    expectError(await del(server, id, 'gone', { 'If-Match': '"00000000000000000000000000000000"' }), 412, 'precondition-failed');
    expect((await get(server, id, 'gone')).text).toBe('body');

    expect((await del(server, id, 'gone', { 'If-Match': etag })).status).toBe(204);
    expect((await get(server, id, 'gone')).status).toBe(404);
    expect(await keysOf(server, id)).toEqual(['other']);
    expectError(await del(server, id, 'gone', { 'If-Match': etag }), 412, 'precondition-failed');
    expectError(await del(server, id, 'gone', { 'If-Match': '*' }), 412, 'precondition-failed');
    // Without a condition a missing record is still no error.
    expect((await del(server, id, 'gone')).status).toBe(204);

    // The key can be created again, conditionally too, and reads and lists as before.
    expect((await put(server, id, 'gone', 'again', { 'If-None-Match': '*' })).status).toBe(201);
    expect((await get(server, id, 'gone')).text).toBe('again');
    expect(await keysOf(server, id)).toEqual(['gone', 'other']);
  });

  it('a record deleted conditionally is missing to every later condition and to listings', async () => {
    const server = await startTestServer();
    const id = await storeOn(server);
    const etag = (await putRecord(server, id, 'a', '12345')).headers.etag as string;
    expect((await del(server, id, 'a', { 'If-Match': etag })).status).toBe(204);
    expectError(await put(server, id, 'a', 'x', { 'If-Match': '*' }), 412, 'precondition-failed');
    expect((await del(server, id, 'a', { 'If-None-Match': '*' })).status).toBe(204);
    expect(await keysOf(server, id)).toEqual([]);
    expect((await raw(server, 'HEAD', `${kvs}/${id}/records/a`)).status).toBe(404);
  });

  it('malformed conditions are a 400, before anything is written', async () => {
    const server = await startTestServer();
    const id = await storeOn(server);
    expectError(await put(server, id, 'k', 'x', { 'If-Match': 'not-quoted' }), 400, 'invalid-input');
    expectError(await del(server, id, 'k', { 'If-None-Match': '"a", junk' }), 400, 'invalid-input');
    expect((await get(server, id, 'k')).status).toBe(404);
  });

  it('every API answer says the server honours conditions (X-Apify-Kv-Features), errors included', async () => {
    const server = await startTestServer();
    const id = await storeOn(server);
    const answers = [
      await putRecord(server, id, 'k', 'x'),
      await get(server, id, 'k'),
      await raw(server, 'HEAD', `${kvs}/${id}/records/k`),
      await get(server, id, 'missing'),
      await raw(server, 'GET', `${kvs}/${id}`),
      await raw(server, 'GET', `${kvs}/${id}/keys`),
      await del(server, id, 'k'),
      await put(server, id, 'k', 'x', { 'If-Match': '*' }),
    ];
    for (const answer of answers) expect(answer.headers[FEATURES]).toBe('conditional-writes');
    // Pages in a browser may read it and send the conditions.
    const preflight = await raw(server, 'OPTIONS', `${kvs}/${id}/records/k`, {
      headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'if-match' },
    });
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/If-Match/);
    expect(String(answers[1]!.headers['access-control-expose-headers'] ?? '')).toMatch(/X-Apify-Kv-Features/);
  });

  it('racing creators: exactly one of many concurrent If-None-Match: * PUTs wins (two server instances on S3)', async () => {
    const first = await startTestServer();
    // Over S3 a second instance shares the bucket; a folder belongs to one server.
    const servers = testStorageKind() === 's3' ? [first, await startTestServer({ ...first.sameStorage })] : [first];
    const id = await storeOn(first);
    for (let round = 0; round < 3; round++) {
      const key = `race-${round}`;
      const bodies = Array.from({ length: 8 }, (_, i) => `writer-${round}-${i}`);
      const answers = await Promise.all(bodies.map((body, i) => put(servers[i % servers.length]!, id, key, body, { 'If-None-Match': '*' })));
      const winners = answers.flatMap((answer, i) => (answer.status === 201 ? [bodies[i]!] : []));
      expect(winners).toHaveLength(1);
      for (const answer of answers) if (answer.status !== 201) expectError(answer, 412, 'precondition-failed');
      for (const server of servers) expect((await get(server, id, key)).text).toBe(winners[0]);
    }
  });

  it('compare-and-set from many writers loses no update: each success is one increment', async () => {
    const first = await startTestServer();
    const servers = testStorageKind() === 's3' ? [first, await startTestServer({ ...first.sameStorage })] : [first];
    const id = await storeOn(first);
    await putRecord(first, id, 'counter', '0');
    const writers = 6;
    const each = 4;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const server = servers[w % servers.length]!;
        for (let done = 0; done < each; ) {
          const current = await get(server, id, 'counter');
          const next = String(Number(current.text) + 1);
          const answer = await put(server, id, 'counter', next, { 'If-Match': current.headers.etag as string });
          if (answer.status === 201) done++;
          else expectError(answer, 412, 'precondition-failed');
        }
      }),
    );
    expect((await get(first, id, 'counter')).text).toBe(String(writers * each));
  });
});
