import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { createStore, expectError, kvs, putRecord, raw, startTestServer } from './helpers.js';

function unzip(buffer: Buffer): Promise<Record<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const files: Record<string, Buffer> = {};
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            files[entry.fileName] = Buffer.concat(chunks);
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(files));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

describe('records', () => {
  it('PUT stores a record: 201, Location, ETag, body {}; GET returns it with its exact Content-Type', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'rec');
    const put = await putRecord(server, id, 'my-key', '{"a":1}', 'application/json; charset=utf-8');
    expect(put.status).toBe(201);
    expect(put.json).toEqual({});
    expect(put.headers.location).toBe(`${server.url}${kvs}/${id}/records/my-key`);
    expect(put.headers.etag).toMatch(/^"[^"]+"$/);

    const get = await raw(server, 'GET', `${kvs}/${id}/records/my-key`);
    expect(get.status).toBe(200);
    expect(get.text).toBe('{"a":1}');
    expect(get.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(get.headers['content-length']).toBe('7');
    expect(get.headers.etag).toBe(put.headers.etag);
    expect(get.headers['content-disposition']).toBeUndefined();

    // Odd but valid content types come back byte for byte.
    await putRecord(server, id, 'odd', 'x', 'application/x-Custom+Thing; Param="A B"');
    expect((await raw(server, 'GET', `${kvs}/${id}/records/odd`)).headers['content-type']).toBe(
      'application/x-Custom+Thing; Param="A B"',
    );
  });

  it('POST is an alias of PUT; no Content-Type stores application/octet-stream; empty bodies are fine', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'post');
    const post = await raw(server, 'POST', `${kvs}/${id}/records/p`, { body: Buffer.from([0, 1, 2, 255]) });
    expect(post.status).toBe(201);
    const get = await raw(server, 'GET', `${kvs}/${id}/records/p`);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect([...get.body]).toEqual([0, 1, 2, 255]);

    await putRecord(server, id, 'empty', '', 'text/plain');
    const empty = await raw(server, 'GET', `${kvs}/${id}/records/empty`);
    expect(empty.status).toBe(200);
    expect(empty.body.length).toBe(0);
  });

  it('keys with every allowed character round-trip, encoded in the path', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'chars');
    const key = "a(b)'!-_.Z9";
    expect((await putRecord(server, id, key, 'v')).status).toBe(201);
    const get = await raw(server, 'GET', `${kvs}/${id}/records/${encodeURIComponent(key)}`);
    expect(get.text).toBe('v');
    const unencoded = await raw(server, 'GET', `${kvs}/${id}/records/${key}`);
    expect(unencoded.text).toBe('v');
    // The longest keys the contract allows, past the file system's 255-byte name limit.
    for (const long of ['k'.repeat(256), `${'x'.repeat(250)}(1).j`]) {
      expect((await putRecord(server, id, long, 'v', 'application/json')).status).toBe(201);
      expect((await raw(server, 'GET', `${kvs}/${id}/records/${long}`)).text).toBe('v');
    }
    const keys = await raw(server, 'GET', `${kvs}/${id}/keys?prefix=kkkk`);
    expect(JSON.parse(keys.text).data.items.map((i: { key: string }) => i.key)).toEqual(['k'.repeat(256)]);
  });

  it('attachment=1 adds Content-Disposition; HEAD has headers only; If-None-Match gives 304', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'att');
    await putRecord(server, id, 'page', '<h1>hi</h1>', 'text/html');
    const att = await raw(server, 'GET', `${kvs}/${id}/records/page?attachment=true`);
    expect(att.headers['content-disposition']).toBe('attachment; filename="page"');
    expect(att.headers['x-content-type-options']).toBe('nosniff');

    const head = await raw(server, 'HEAD', `${kvs}/${id}/records/page`);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe('11');
    expect(head.headers['content-type']).toBe('text/html');
    expect(head.headers.etag).toBe(att.headers.etag);

    const cached = await raw(server, 'GET', `${kvs}/${id}/records/page`, { headers: { 'If-None-Match': att.headers.etag! } });
    expect(cached.status).toBe(304);
    expect(cached.body.length).toBe(0);

    const missing = await raw(server, 'HEAD', `${kvs}/${id}/records/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.length).toBe(0);
  });

  it('missing record is 404 record-not-found; missing store is 404 record-or-token-not-found', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'nf');
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/none`), 404, 'record-not-found');
    expectError(await raw(server, 'GET', `${kvs}/nostore/records/none`), 404, 'record-or-token-not-found');
    expectError(await putRecord(server, 'nostore', 'k', 'v'), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'DELETE', `${kvs}/nostore/records/k`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'GET', `${kvs}/nostore/keys`), 404, 'record-or-token-not-found');
    expectError(await raw(server, 'GET', `${kvs}/nostore/records`), 404, 'record-or-token-not-found');
  });

  it('DELETE removes a record: 204; deleting a missing record is also 204', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'del');
    await putRecord(server, id, 'k', 'v');
    const del = await raw(server, 'DELETE', `${kvs}/${id}/records/k`);
    expect(del.status).toBe(204);
    expectError(await raw(server, 'GET', `${kvs}/${id}/records/k`), 404, 'record-not-found');
    expect((await raw(server, 'DELETE', `${kvs}/${id}/records/k`)).status).toBe(204);
  });

  it('overwrites replace the body, type and ETag; stats follow', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'ow');
    const a = await putRecord(server, id, 'k', 'first', 'text/plain');
    const b = await putRecord(server, id, 'k', '{"second":true}', 'application/json');
    expect(a.headers.etag).not.toBe(b.headers.etag);
    const get = await raw(server, 'GET', `${kvs}/${id}/records/k`);
    expect(get.text).toBe('{"second":true}');
    expect(get.headers['content-type']).toBe('application/json');
    const store = (await raw(server, 'GET', `${kvs}/${id}`)).json.data;
    expect(store.stats.writeCount).toBe(2);
    expect(store.stats.readCount).toBeGreaterThanOrEqual(1);
    expect(store.stats.storageBytes).toBe(15);
    expect(store.stats.s3StorageBytes).toBe(15);
  });
});

describe('keys', () => {
  it('lists keys in UTF-8 binary order with paging, prefix and the contract fields', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'keys');
    const keys = ['b', 'a', 'C', 'a-2', 'a.1', 'z', 'Z', '0'];
    for (const k of keys) await putRecord(server, id, k, `value-${k}`);
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    const all = await raw(server, 'GET', `${kvs}/${id}/keys`);
    expect(all.status).toBe(200);
    expect(all.json.data).toMatchObject({
      count: keys.length,
      limit: 1000,
      exclusiveStartKey: null,
      isTruncated: false,
      nextExclusiveStartKey: null,
    });
    expect(all.json.data.items.map((i: any) => i.key)).toEqual(sorted);
    const item = all.json.data.items[0];
    expect(Object.keys(item).sort()).toEqual(['key', 'recordPublicUrl', 'size']);
    expect(item.size).toBe(`value-${item.key}`.length);
    expect(item.recordPublicUrl.startsWith(`${server.url}${kvs}/${id}/records/${item.key}`)).toBe(true);

    const seen: string[] = [];
    let start: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const q: string = start === null ? '?limit=3' : `?limit=3&exclusiveStartKey=${encodeURIComponent(start)}`;
      const page = (await raw(server, 'GET', `${kvs}/${id}/keys${q}`)).json.data;
      expect(page.limit).toBe(3);
      expect(page.exclusiveStartKey).toBe(start);
      seen.push(...page.items.map((i: any) => i.key));
      if (!page.isTruncated) {
        expect(page.nextExclusiveStartKey).toBeNull();
        break;
      }
      expect(page.nextExclusiveStartKey).toBe(page.items[page.items.length - 1].key);
      start = page.nextExclusiveStartKey;
    }
    expect(seen).toEqual(sorted);

    const prefixed = (await raw(server, 'GET', `${kvs}/${id}/keys?prefix=a`)).json.data;
    expect(prefixed.items.map((i: any) => i.key)).toEqual(['a', 'a-2', 'a.1']);

    expectError(await raw(server, 'GET', `${kvs}/${id}/keys?limit=0`), 400, 'invalid-input');
    expectError(await raw(server, 'GET', `${kvs}/${id}/keys?limit=x`), 400, 'invalid-input');
    expectError(await raw(server, 'GET', `${kvs}/${id}/keys?collection=c`), 400, 'invalid-input');
    expect((await raw(server, 'GET', `${kvs}/${id}/keys?limit=2000`)).json.data.limit).toBe(1000);
  });
});

describe('records zip', () => {
  it('downloads all records (or a prefix) as a ZIP named after the store', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'zipped');
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    await putRecord(server, id, 'INPUT', '{"x":1}', 'application/json');
    await putRecord(server, id, 'img.png', binary, 'image/png');
    await putRecord(server, id, 'other', 'text body', 'text/plain');

    const res = await raw(server, 'GET', `${kvs}/${id}/records`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe('attachment; filename="zipped.zip"');
    const files = await unzip(res.body);
    expect(Object.keys(files).sort()).toEqual(['INPUT', 'img.png', 'other']);
    expect(files.INPUT!.toString()).toBe('{"x":1}');
    expect(files['img.png']!.equals(binary)).toBe(true);

    const some = await unzip((await raw(server, 'GET', `${kvs}/${id}/records?prefix=o`)).body);
    expect(Object.keys(some)).toEqual(['other']);

    const emptyId = await createStore(server, 'empty');
    expect(Object.keys(await unzip((await raw(server, 'GET', `${kvs}/${emptyId}/records`)).body))).toEqual([]);
  });

  it('streams a store with more records than one page', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'many');
    const keys = Array.from({ length: 1005 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => putRecord(server, id, k, k)));
    }
    const files = await unzip((await raw(server, 'GET', `${kvs}/${id}/records`)).body);
    expect(Object.keys(files).length).toBe(1005);
    expect(files.k1004!.toString()).toBe('k1004');
  }, 180_000); // 1005 writes: on a loaded S3 service these alone take most of a minute
});
