import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore, expectError, kvs, putRecord, raw, snapshot, startTestServer, tempDir } from './helpers.js';

const BAD_KEYS = [
  '..', '.', '%2E%2E', '%2e', 'a%2Fb', '%2F', '..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', '..%5C..%5Cwin',
  'a%20b', '%C3%A9', 'k'.repeat(257), '%00', 'a%00b', '%', '%zz', 'a%2', 'key%3Fx', 'a~b', 'a%23b',
];

describe('bad record keys', () => {
  it.each(['GET', 'HEAD', 'PUT', 'POST', 'DELETE'])('%s with an invalid key is 400 invalid-record-key and touches nothing', async (method) => {
    const server = await startTestServer();
    const id = await createStore(server, 'keys');
    await putRecord(server, id, 'existing', 'value');
    const before = await snapshot(server.storageDir);
    for (const key of BAD_KEYS) {
      const res = await raw(server, method, `${kvs}/${id}/records/${key}`, {
        headers: { 'Content-Type': 'text/plain' },
        body: method === 'PUT' || method === 'POST' ? 'payload' : undefined,
      });
      expect(res.status, key).toBe(400);
      if (method !== 'HEAD') expect(res.json.error.type, key).toBe('invalid-record-key');
    }
    expect(await snapshot(server.storageDir)).toEqual(before);
  });

  it('direct-upload-url with an invalid key is 400 invalid-record-key', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'du');
    for (const key of ['..', 'a%2Fb', 'k'.repeat(257)]) {
      expectError(await raw(server, 'GET', `${kvs}/${id}/records/${key}/direct-upload-url`), 400, 'invalid-record-key');
    }
  });
});

describe('path traversal', () => {
  it('no request reaches a file outside the storage directory', async () => {
    const root = await tempDir('kv-traversal-');
    const storageDir = path.join(root, 'storage');
    const outside = path.join(root, 'outside');
    await fsp.mkdir(outside);
    await fsp.writeFile(path.join(outside, 'secret.txt'), 'secret');
    await fsp.writeFile(path.join(root, 'secret.json'), '{"secret":true}');
    const server = await startTestServer({ storageDir });
    const id = await createStore(server, 'victim');
    await putRecord(server, id, 'INPUT', '{"ok":true}', 'application/json');
    const before = await snapshot(root);

    const storeRefs = [
      '..', '.', '%2E%2E', '%2e%2e', '..%2F..%2Foutside', '..%2Foutside', '%2Fetc', '%2Fetc%2Fpasswd',
      '..%5Coutside', 'victim%2F..%2F..%2Foutside', '%00', 'a%2F', '%', '~', `${'x'.repeat(300)}`,
    ];
    for (const ref of storeRefs) {
      for (const [method, suffix] of [
        ['GET', ''], ['PUT', ''], ['DELETE', ''], ['GET', '/keys'], ['GET', '/records'],
        ['GET', '/records/secret'], ['PUT', '/records/secret'], ['DELETE', '/records/secret'],
      ] as const) {
        const res = await raw(server, method, `${kvs}/${ref}${suffix}`, {
          headers: { 'Content-Type': 'application/json' },
          body: method === 'PUT' ? '{"name":"x"}' : undefined,
        });
        expect([400, 404], `${method} ${ref}${suffix}`).toContain(res.status);
        expect(res.json.error.type).toMatch(/^(invalid-input|record-or-token-not-found|page-not-found)$/);
      }
    }
    // Raw `..` segments are routed as they are, never normalized into another path.
    for (const p of [
      `${kvs}/../../outside/secret.txt`,
      `${kvs}/${id}/records/../../../secret.json`,
      `${kvs}/${id}/../../../../etc/passwd`,
      '/etc/passwd',
      '/../secret.json',
      `http://127.0.0.1${kvs}/../secret.json`,
    ]) {
      const res = await raw(server, 'GET', p);
      expect([400, 404], p).toContain(res.status);
      expect(res.text).not.toContain('secret');
    }
    // Store names that look like paths are refused.
    for (const name of ['..', '..%2Foutside', '%2Ftmp%2Fx', 'a%5Cb', '.hidden']) {
      expectError(await raw(server, 'POST', `${kvs}?name=${name}`), 400, 'invalid-input');
    }
    expect(await snapshot(root)).toEqual(before);
    expect(await fsp.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('secret');
  });
});

describe('robustness', () => {
  it('survives junk requests and keeps answering', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'junk');
    const requests: Array<[string, string, Record<string, string>, string | undefined]> = [
      ['GET', `${kvs}?limit=1e3`, {}, undefined],
      ['GET', `${kvs}/${id}/keys?exclusiveStartKey=%FF%FE`, {}, undefined],
      ['PUT', `${kvs}/${id}`, { 'Content-Type': 'application/json' }, '{"name": "\u0000"}'],
      ['PUT', `${kvs}/${id}`, { 'Content-Type': 'application/json' }, '{"generalAccess": null}'],
      ['PUT', `${kvs}/${id}/records/k`, { 'Content-Type': 'x'.repeat(2000) }, 'v'],
      ['PUT', `${kvs}/${id}/records/k`, { Authorization: 'Basic abc' }, 'v'],
      ['GET', `${kvs}/${id}/records/k?attachment=maybe`, {}, undefined],
    ];
    for (const [method, p, headers, body] of requests) {
      const res = await raw(server, method, p, { headers, body });
      expect(res.status, `${method} ${p}`).toBeLessThan(500);
      if (res.status >= 400) expect(typeof res.json.error.type).toBe('string');
    }
    expect((await raw(server, 'GET', `${kvs}/${id}`)).status).toBe(200);
  });
});
