import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectError, kvs, putRecord, raw, startTestServer, tempDir, type TestServer } from './helpers.js';

const users = [
  { id: 'user-alice', username: 'alice', token: 'alice-secret-token' },
  { id: 'user-bob', username: 'bob', token: 'bob-secret-token' },
];
const alice = { Authorization: 'Bearer alice-secret-token' };
const bob = { Authorization: 'Bearer bob-secret-token' };

async function aliceStore(server: TestServer, generalAccess?: string): Promise<string> {
  const created = await raw(server, 'POST', `${kvs}?name=shared`, { headers: alice });
  expect(created.status).toBe(201);
  const id = created.json.data.id;
  expect(created.json.data).toMatchObject({ userId: 'user-alice', username: 'alice' });
  expect((await putRecord(server, id, 'k', 'alice data', 'text/plain', 'alice-secret-token')).status).toBe(201);
  if (generalAccess) {
    const upd = await raw(server, 'PUT', `${kvs}/${id}`, { headers: alice, body: JSON.stringify({ generalAccess }) });
    expect(upd.status).toBe(200);
  }
  return id;
}

describe('tokens', () => {
  it('needs a valid token: missing is 401 token-not-provided, wrong is 401 invalid-token, never echoed', async () => {
    const server = await startTestServer({ users });
    expectError(await raw(server, 'GET', kvs), 401, 'token-not-provided');
    expectError(await raw(server, 'POST', `${kvs}?name=x`), 401, 'token-not-provided');
    for (const headers of [
      { Authorization: 'Bearer wrong-token-value' },
      { Authorization: 'Bearer alice-secret-token-x' },
      { Authorization: 'Basic YWxpY2U6cGFzcw==' },
      { Authorization: 'bearer ' },
    ]) {
      const res = await raw(server, 'GET', kvs, { headers });
      expectError(res, 401, 'invalid-token');
      expect(res.text).not.toContain('wrong-token-value');
      expect(res.text).not.toContain('alice-secret');
    }
    expectError(await raw(server, 'GET', `${kvs}?token=wrong-token-value`), 401, 'invalid-token');
    expect((await raw(server, 'GET', kvs, { headers: alice })).status).toBe(200);
    expect((await raw(server, 'GET', `${kvs}?token=alice-secret-token`)).status).toBe(200);
    expect((await raw(server, 'GET', kvs, { headers: { Authorization: 'bearer   bob-secret-token' } })).status).toBe(200);
  });

  it('a single --token acts as the local user', async () => {
    const server = await startTestServer({ token: 'only-token' });
    expectError(await raw(server, 'GET', kvs), 401, 'token-not-provided');
    expectError(await raw(server, 'GET', kvs, { headers: { Authorization: 'Bearer nope' } }), 401, 'invalid-token');
    const res = await raw(server, 'POST', `${kvs}?name=mine`, { headers: { Authorization: 'Bearer only-token' } });
    expect(res.status).toBe(201);
    expect(res.json.data.username).toBe('local');
  });

  it('reads users from a users file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'users.json');
    await fsp.writeFile(file, JSON.stringify({ users }));
    const server = await startTestServer({ usersFile: file });
    const res = await raw(server, 'POST', `${kvs}?name=x`, { headers: bob });
    expect(res.json.data.username).toBe('bob');
    expectError(await raw(server, 'GET', kvs), 401, 'token-not-provided');
  });

  it('refuses bad user configurations without printing tokens', async () => {
    const dir = await tempDir();
    await expect(startTestServer({ users: [{ id: 'a', username: 'a', token: '' }], storageDir: dir })).rejects.toThrow(/token/);
    await expect(
      startTestServer({ users: [users[0]!, { ...users[1]!, token: users[0]!.token }], storageDir: dir }),
    ).rejects.toThrow(/share one token/);
    await expect(
      startTestServer({ users: [users[0]!, { ...users[1]!, username: 'Alice' }], storageDir: dir }),
    ).rejects.toThrow(/Username "Alice" is configured twice/);
    const bad = path.join(dir, 'bad.json');
    await fsp.writeFile(bad, '{not json');
    await expect(startTestServer({ usersFile: bad, storageDir: dir })).rejects.toThrow(/users file/);
  });
});

describe('access to other users\' stores', () => {
  it('a restricted store: other users get 403; anonymous readers 404 as for a missing store, anonymous writers 401', async () => {
    const server = await startTestServer({ users });
    const id = await aliceStore(server);
    for (const [method, p] of [
      ['GET', `${kvs}/${id}`],
      ['GET', `${kvs}/alice~shared`],
      ['GET', `${kvs}/${id}/keys`],
      ['GET', `${kvs}/${id}/records`],
      ['GET', `${kvs}/${id}/records/k`],
      ['PUT', `${kvs}/${id}/records/k`],
      ['DELETE', `${kvs}/${id}/records/k`],
      ['DELETE', `${kvs}/${id}`],
      ['PUT', `${kvs}/${id}`],
      ['GET', `${kvs}/${id}/records/k/direct-upload-url`],
    ] as const) {
      const body = method === 'PUT' ? '{"name":"stolen"}' : undefined;
      expectError(await raw(server, method, p, { headers: bob, body }), 403, 'insufficient-permissions');
      const anonymous = await raw(server, method, p, { body });
      if (method === 'GET' && !p.endsWith('direct-upload-url')) {
        expectError(anonymous, 404, 'record-or-token-not-found');
        // Word for word what a missing store answers: nothing tells that this one exists.
        const missing = await raw(server, method, p.replace(id, 'nosuchstoreid').replace('alice~shared', 'alice~nosuch'));
        expect(anonymous.text).toBe(missing.text);
      } else {
        expectError(anonymous, 401, 'token-not-provided');
      }
    }
    expectError(await raw(server, 'GET', `${kvs}/nosuchid`, { headers: bob }), 404, 'record-or-token-not-found');
    // Bob's listing and `~shared` are his own.
    expect((await raw(server, 'GET', kvs, { headers: bob })).json.data.total).toBe(0);
    expectError(await raw(server, 'GET', `${kvs}/~shared`, { headers: bob }), 404, 'record-or-token-not-found');
    const bobs = await raw(server, 'POST', `${kvs}?name=shared`, { headers: bob });
    expect(bobs.status).toBe(201);
    expect(bobs.json.data.id).not.toBe(id);
    // Nothing of Alice's changed.
    const get = await raw(server, 'GET', `${kvs}/${id}/records/k`, { headers: alice });
    expect(get.text).toBe('alice data');
    expect((await raw(server, 'GET', `${kvs}/${id}`, { headers: alice })).json.data.name).toBe('shared');
  });

  it('ANYONE_WITH_ID_CAN_READ lets anyone read by id, never write, and hides the signing key', async () => {
    const server = await startTestServer({ users });
    const id = await aliceStore(server, 'ANYONE_WITH_ID_CAN_READ');
    for (const headers of [bob, {}]) {
      const store = await raw(server, 'GET', `${kvs}/${id}`, { headers });
      expect(store.status).toBe(200);
      expect(store.json.data.urlSigningSecretKey).toBeNull();
      expect((await raw(server, 'GET', `${kvs}/${id}/records/k`, { headers })).text).toBe('alice data');
      expect((await raw(server, 'HEAD', `${kvs}/${id}/records/k`, { headers })).status).toBe(200);
      const keys = await raw(server, 'GET', `${kvs}/${id}/keys`, { headers });
      expect(keys.json.data.items.map((i: any) => i.key)).toEqual(['k']);
      expect(keys.json.data.items[0].recordPublicUrl).not.toContain('signature');
      expect((await raw(server, 'GET', `${kvs}/${id}/records`, { headers })).status).toBe(200);
    }
    // By name is not enough at this level.
    expectError(await raw(server, 'GET', `${kvs}/alice~shared`, { headers: bob }), 403, 'insufficient-permissions');
    expectError(await raw(server, 'GET', `${kvs}/alice~shared`), 404, 'record-or-token-not-found');
    // Writes stay the owner's.
    expectError(await putRecord(server, id, 'k', 'bob was here', 'text/plain', 'bob-secret-token'), 403, 'insufficient-permissions');
    expectError(await raw(server, 'PUT', `${kvs}/${id}/records/k`, { body: 'anon' }), 401, 'token-not-provided');
    expectError(await raw(server, 'DELETE', `${kvs}/${id}`, { headers: bob }), 403, 'insufficient-permissions');
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('alice data');
    // The owner still sees the key.
    expect(typeof (await raw(server, 'GET', `${kvs}/${id}`, { headers: alice })).json.data.urlSigningSecretKey).toBe('string');
  });

  it('ANYONE_WITH_NAME_CAN_READ also allows username~name', async () => {
    const server = await startTestServer({ users });
    const id = await aliceStore(server, 'ANYONE_WITH_NAME_CAN_READ');
    expect((await raw(server, 'GET', `${kvs}/alice~shared/records/k`, { headers: bob })).text).toBe('alice data');
    expect((await raw(server, 'GET', `${kvs}/alice~shared/records/k`)).text).toBe('alice data');
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe('alice data');
    expectError(await raw(server, 'PUT', `${kvs}/alice~shared/records/k`, { headers: bob, body: 'x' }), 403, 'insufficient-permissions');
  });

  it('signed public URLs from the owner open a restricted store\'s records and keys without a token', async () => {
    const server = await startTestServer({ users });
    const id = await aliceStore(server);
    const keys = await raw(server, 'GET', `${kvs}/${id}/keys`, { headers: alice });
    const recordUrl = new URL(keys.json.data.items[0].recordPublicUrl);
    expect(recordUrl.searchParams.get('signature')).toBeTruthy();
    expect((await raw(server, 'GET', recordUrl.pathname + recordUrl.search)).text).toBe('alice data');

    const store = (await raw(server, 'GET', `${kvs}/${id}`, { headers: alice })).json.data;
    const keysUrl = new URL(store.keysPublicUrl);
    expect((await raw(server, 'GET', keysUrl.pathname + keysUrl.search)).status).toBe(200);
    const recordsUrl = new URL(store.recordsPublicUrl);
    expect((await raw(server, 'GET', recordsUrl.pathname + recordsUrl.search)).headers['content-type']).toBe('application/zip');

    // A signature for one key does not open another; forged ones open nothing; writes need the token.
    await putRecord(server, id, 'other', 'x', 'text/plain', 'alice-secret-token');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/other${recordUrl.search}`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/k?signature=forged`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'GET', `${kvs}/${id}/keys?signature=MC4wLmZvcmdlZA`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'PUT', `${kvs}/${id}/records/k${recordUrl.search}`, { body: 'x' }), 401, 'token-not-provided');
  });
});
