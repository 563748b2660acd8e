import { describe, expect, it } from 'vitest';
import { createStore, expectError, kvs, raw, startTestServer } from './helpers.js';

const STORE_FIELDS = [
  'id', 'name', 'userId', 'username', 'createdAt', 'modifiedAt', 'accessedAt', 'actId', 'actRunId',
  'consoleUrl', 'keysPublicUrl', 'recordsPublicUrl', 'urlSigningSecretKey', 'generalAccess', 'stats',
].sort();

function expectStoreShape(store: any): void {
  expect(Object.keys(store).sort()).toEqual(STORE_FIELDS);
  for (const field of ['createdAt', 'modifiedAt', 'accessedAt']) {
    expect(new Date(store[field]).toISOString()).toBe(store[field]);
  }
  expect(store.actId).toBeNull();
  expect(store.actRunId).toBeNull();
  expect(Object.keys(store.stats).sort()).toEqual(
    ['deleteCount', 'listCount', 'readCount', 's3StorageBytes', 'storageBytes', 'writeCount'],
  );
  expect(store.keysPublicUrl).toMatch(new RegExp(`/v2/key-value-stores/${store.id}/keys`));
  expect(store.recordsPublicUrl).toMatch(new RegExp(`/v2/key-value-stores/${store.id}/records`));
}

describe('store collection', () => {
  it('get-or-create by name: 201 + Location when created, 200 when it existed', async () => {
    const server = await startTestServer();
    const first = await raw(server, 'POST', `${kvs}?name=my-store`);
    expect(first.status).toBe(201);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    const store = first.json.data;
    expectStoreShape(store);
    expect(store.name).toBe('my-store');
    expect(store.userId).toBe('local-user');
    expect(store.username).toBe('local');
    expect(store.generalAccess).toBe('FOLLOW_USER_SETTING');
    expect(typeof store.urlSigningSecretKey).toBe('string');
    expect(first.headers.location).toBe(`${server.url}${kvs}/${store.id}`);

    const second = await raw(server, 'POST', `${kvs}?name=my-store`);
    expect(second.status).toBe(200);
    expect(second.headers.location).toBeUndefined();
    expect(second.json.data.id).toBe(store.id);
  });

  it('POST without a name creates a new unnamed store each time', async () => {
    const server = await startTestServer();
    const a = await raw(server, 'POST', kvs);
    const b = await raw(server, 'POST', kvs);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.json.data.name).toBeNull();
    expect(a.json.data.id).not.toBe(b.json.data.id);
  });

  it('refuses bad store names with 400 invalid-input', async () => {
    const server = await startTestServer();
    for (const name of ['-bad', 'bad-', 'has_underscore', 'a'.repeat(64), 'sp%20ace', '..', '', 'a%2Fb']) {
      expectError(await raw(server, 'POST', `${kvs}?name=${name}`), 400, 'invalid-input');
    }
    const list = await raw(server, 'GET', `${kvs}?unnamed=1`);
    expect(list.json.data.total).toBe(0);
  });

  it('lists stores with offset, limit, desc and unnamed', async () => {
    const server = await startTestServer();
    const ids: string[] = [];
    for (const name of ['s-1', 's-2', 's-3']) ids.push(await createStore(server, name));
    const unnamedId = await createStore(server);

    const all = await raw(server, 'GET', kvs);
    expect(all.status).toBe(200);
    expect(all.json.data).toMatchObject({ total: 3, offset: 0, limit: 1000, desc: false, count: 3, unnamed: false });
    expect(all.json.data.items.map((s: any) => s.id)).toEqual(ids);
    expectStoreShape(all.json.data.items[0]);

    const page = await raw(server, 'GET', `${kvs}?offset=1&limit=1&desc=true`);
    expect(page.json.data).toMatchObject({ total: 3, offset: 1, limit: 1, desc: true, count: 1 });
    expect(page.json.data.items[0].id).toBe(ids[1]);

    const withUnnamed = await raw(server, 'GET', `${kvs}?unnamed=1`);
    expect(withUnnamed.json.data.total).toBe(4);
    expect(withUnnamed.json.data.items.map((s: any) => s.id)).toContain(unnamedId);

    // Above the maximum is capped, as the contract describes.
    expect((await raw(server, 'GET', `${kvs}?limit=5000`)).json.data.limit).toBe(1000);
    expectError(await raw(server, 'GET', `${kvs}?limit=0`), 400, 'invalid-input');
    expectError(await raw(server, 'GET', `${kvs}?offset=-1`), 400, 'invalid-input');
    expectError(await raw(server, 'GET', `${kvs}?limit=abc`), 400, 'invalid-input');
    expectError(await raw(server, 'GET', `${kvs}?desc=maybe`), 400, 'invalid-input');
    expect((await raw(server, 'GET', `${kvs}?ownership=sharedWithMe`)).json.data.total).toBe(0);
    expectError(await raw(server, 'GET', `${kvs}?ownership=everyone`), 400, 'invalid-input');
  });
});

describe('store object', () => {
  it('gets a store by id, username~name and ~name', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'named');
    for (const ref of [id, 'local~named', '~named']) {
      const res = await raw(server, 'GET', `${kvs}/${ref}`);
      expect(res.status).toBe(200);
      expect(res.json.data.id).toBe(id);
      expectStoreShape(res.json.data);
    }
    expectError(await raw(server, 'GET', `${kvs}/nosuchstore123`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'GET', `${kvs}/other~named`), 404, 'record-or-token-not-found');
  });

  it('updates name and generalAccess; bad bodies are 400 and change nothing', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'before');
    const put = (body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
      raw(server, 'PUT', `${kvs}/${id}`, { headers, body });

    const ok = await put(JSON.stringify({ name: 'after', generalAccess: 'ANYONE_WITH_ID_CAN_READ', title: 'ignored' }));
    expect(ok.status).toBe(200);
    expect(ok.json.data).toMatchObject({ id, name: 'after', generalAccess: 'ANYONE_WITH_ID_CAN_READ' });
    expectStoreShape(ok.json.data);

    for (const bad of ['{"name":', 'null', '[]', '"x"', '', '{"name":"bad_name"}', '{"name":5}', '{"generalAccess":"PUBLIC"}']) {
      expectError(await put(bad), 400, 'invalid-input');
    }
    const now = await raw(server, 'GET', `${kvs}/${id}`);
    expect(now.json.data).toMatchObject({ name: 'after', generalAccess: 'ANYONE_WITH_ID_CAN_READ' });

    // generalAccess null goes back to the account's setting, as on the platform.
    const reset = await put(JSON.stringify({ generalAccess: null }));
    expect(reset.json.data).toMatchObject({ name: 'after', generalAccess: 'FOLLOW_USER_SETTING' });

    // null makes it unnamed; it stays reachable by id.
    const unnamed = await put(JSON.stringify({ name: null }));
    expect(unnamed.json.data.name).toBeNull();
    expect((await raw(server, 'GET', `${kvs}/${id}`)).status).toBe(200);
  });

  it('renaming onto a taken name is 400 name-not-unique', async () => {
    const server = await startTestServer();
    await createStore(server, 'taken');
    const id = await createStore(server, 'mine');
    const res = await raw(server, 'PUT', `${kvs}/${id}`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'taken' }),
    });
    expectError(res, 400, 'name-not-unique');
  });

  it('a too large or corrupt update body is refused', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'x');
    const big = JSON.stringify({ name: 'y', pad: 'a'.repeat(100_000) });
    expectError(await raw(server, 'PUT', `${kvs}/${id}`, { body: big }), 413, 'request-too-large');
    expectError(
      await raw(server, 'PUT', `${kvs}/${id}`, { headers: { 'Content-Encoding': 'gzip' }, body: 'not gzip' }),
      400,
      'invalid-input',
    );
    expectError(
      await raw(server, 'PUT', `${kvs}/${id}`, { headers: { 'Content-Encoding': 'zstd' }, body: '{}' }),
      415,
      'unsupported-content-encoding',
    );
  });

  it('deletes a store: 204, then 404', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'doomed');
    const del = await raw(server, 'DELETE', `${kvs}/${id}`);
    expect(del.status).toBe(204);
    expect(del.body.length).toBe(0);
    expectError(await raw(server, 'DELETE', `${kvs}/${id}`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'GET', `${kvs}/${id}`), 404, 'record-or-token-not-found');
  });
});

describe('routing', () => {
  it('405 with the allowed methods for a known path, 404 page-not-found otherwise', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'r');
    const res = await raw(server, 'PATCH', `${kvs}/${id}`);
    expectError(res, 405, 'method-not-allowed');
    expect(res.json.error.message).toBe(
      'This API end-point can only be accessed using the following HTTP methods: OPTIONS,GET,PUT,DELETE',
    );
    expect(res.headers.allow).toBe('OPTIONS, GET, PUT, DELETE');
    expectError(await raw(server, 'DELETE', kvs), 405, 'method-not-allowed');
    expectError(await raw(server, 'POST', `${kvs}/${id}/keys`), 405, 'method-not-allowed');
    expectError(await raw(server, 'DELETE', `${kvs}/${id}/records`), 405, 'method-not-allowed');
    expectError(await raw(server, 'PUT', `${kvs}/${id}/records/k/direct-upload-url`), 405, 'method-not-allowed');
    expectError(await raw(server, 'GET', '/v2/datasets'), 404, 'page-not-found');
    // `/` is the storage browser page (test/e2e); other paths outside /v2 are not found.
    expectError(await raw(server, 'GET', '/v3'), 404, 'page-not-found');
    expectError(await raw(server, 'GET', `${kvs}/${id}/other`), 404, 'page-not-found');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/a/b`), 404, 'page-not-found');
    expectError(await raw(server, 'GET', `${kvs}//x`), 404, 'page-not-found');
    // A trailing slash is tolerated.
    expect((await raw(server, 'GET', `${kvs}/${id}/`)).status).toBe(200);
  });

  it('with a token, answers CORS preflight for any origin and exposes headers on every response', async () => {
    const server = await startTestServer({ token: 'secret' });
    const pre = await raw(server, 'OPTIONS', `${kvs}/x/records/y`, {
      headers: {
        Origin: 'http://example.test',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'authorization, content-type, content-encoding, x-custom',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-methods']).toContain('PUT');
    expect(pre.headers['access-control-allow-methods']).toContain('DELETE');
    const allowHeaders = pre.headers['access-control-allow-headers']!.toLowerCase();
    for (const h of ['authorization', 'content-type', 'content-encoding', 'x-custom']) expect(allowHeaders).toContain(h);

    const get = await raw(server, 'GET', `${kvs}/missing`, {
      headers: { Origin: 'http://example.test', Host: 'kv.example.test', Authorization: 'Bearer secret' },
    });
    expect(get.status).toBe(404);
    expect(get.headers['access-control-allow-origin']).toBe('*');
    const exposed = get.headers['access-control-expose-headers']!.toLowerCase();
    for (const h of ['etag', 'location', 'content-length', 'content-disposition']) expect(exposed).toContain(h);
  });

  it('without a token, answers pages from this machine and its own pages only', async () => {
    const server = await startTestServer();
    const host = `127.0.0.1:${server.port}`;
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:5173', 'http://[::1]:8080', 'https://app.localhost', `http://${host}`]) {
      const get = await raw(server, 'GET', kvs, { headers: { Origin: origin } });
      expect(get.status, origin).toBe(200);
      expect(get.headers['access-control-allow-origin'], origin).toBe(origin);
      expect(get.headers.vary, origin).toBe('Origin');
    }
    // The server reached under its LAN address, by its own page.
    const own = await raw(server, 'GET', kvs, { headers: { Origin: 'http://192.168.1.5:8010', Host: '192.168.1.5:8010' } });
    expect(own.status).toBe(200);

    const before = (await raw(server, 'GET', kvs)).json.data.total;
    for (const origin of ['http://example.test', 'https://localhost.example.test', 'null', 'file://', 'http://192.168.1.5:8010']) {
      const post = await raw(server, 'POST', `${kvs}?name=from-a-page`, { headers: { Origin: origin } });
      expect(post.status, origin).toBe(403);
      expect(post.json.error.type).toBe('insufficient-permissions');
      expect(post.json.error.message).toContain('--allow-origin');
      expect(post.headers['access-control-allow-origin'], origin).toBeUndefined();
      const pre = await raw(server, 'OPTIONS', `${kvs}/x/records/y`, { headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT' } });
      expect(pre.status, origin).toBe(403);
      expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
    // Nothing was created by the refused requests.
    expect((await raw(server, 'GET', kvs)).json.data.total).toBe(before);
  });

  it('without a token, refuses requests that name it by a foreign host name (DNS rebinding)', async () => {
    const server = await startTestServer();
    for (const host of ['127.0.0.1', `127.0.0.1:${server.port}`, `[::1]:${server.port}`, `localhost:${server.port}`, '10.0.0.7']) {
      expect((await raw(server, 'GET', kvs, { headers: { Host: host } })).status, host).toBe(200);
    }
    for (const [path, host] of [
      [kvs, `rebound.example.test:${server.port}`],
      ['/', 'rebound.example.test'],
    ] as const) {
      const refused = await raw(server, 'GET', path, { headers: { Host: host } });
      expect(refused.status, host).toBe(403);
      expect(refused.json.error.message).toContain('rebound.example.test');
    }
  });

  it('answers the origins it is told to allow, and every origin and host with *', async () => {
    const listed = await startTestServer({ allowedOrigins: ['https://app.example.test'] });
    const allowed = await raw(listed, 'GET', kvs, { headers: { Origin: 'https://app.example.test', Host: 'app.example.test' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.test');
    expect((await raw(listed, 'GET', kvs, { headers: { Origin: 'https://other.example.test' } })).status).toBe(403);

    const open = await startTestServer({ allowedOrigins: ['*'] });
    const any = await raw(open, 'GET', kvs, { headers: { Origin: 'http://example.test', Host: 'kv.example.test' } });
    expect(any.status).toBe(200);
    expect(any.headers['access-control-allow-origin']).toBe('*');

    await expect(startTestServer({ allowedOrigins: ['app.example.test'] })).rejects.toThrow(/is not an origin/);
    await expect(startTestServer({ allowedOrigins: ['https://app.example.test/path'] })).rejects.toThrow(/is not an origin/);
  });
});
