import { createHash } from 'node:crypto';
import fs, { promises as fsp, type Stats } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecordFileCache, CHANGED_SINCE, RACY_MILLIS } from '../../src/storage/fs/record-cache.js';
import { usesSyncLstat } from '../../src/storage/fs/record-reader.js';
import { createStore, kvs, putRecord, raw, startTestServer, type TestServer } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  vi.restoreAllMocks();
});

/** A store with one small JSON record whose file is older than the racy window, so reads of it are cached. */
async function settledRecord(server: TestServer, body: string) {
  const id = await createStore(server, 'shared');
  expect((await putRecord(server, id, 'k', body, 'application/json')).status).toBe(201);
  const file = path.join(server.storageDir, 'key_value_stores', 'shared', 'k.json');
  await sleep(RACY_MILLIS + 200);
  const first = await raw(server, 'GET', `${kvs}/${id}/records/k`);
  expect(first.text).toBe(body);
  return { id, file, url: `${kvs}/${id}/records/k`, etag: first.headers.etag as string };
}

describe('reading records another process writes', () => {
  it('a record rewritten in place on disk (same size, same inode) is served new at once, ETag included', async () => {
    const server = await startTestServer();
    const { file, url, etag } = await settledRecord(server, '{"v":"aaaa"}');
    // Served from memory now: no file is opened for it.
    const opens = vi.spyOn(fs, 'open');
    expect((await raw(server, 'GET', url)).text).toBe('{"v":"aaaa"}');
    expect(opens).not.toHaveBeenCalled();
    opens.mockRestore();

    const inode = (await fsp.stat(file)).ino;
    await fsp.writeFile(file, '{"v":"bbbb"}'); // as Crawlee writes: in place, no rename
    expect((await fsp.stat(file)).ino).toBe(inode);
    const reopens = vi.spyOn(fs, 'open');
    const get = await raw(server, 'GET', url);
    expect(get.text).toBe('{"v":"bbbb"}');
    // Changed on disk: read from the file again.
    expect(reopens).toHaveBeenCalledTimes(1);
    reopens.mockRestore();
    expect(get.headers.etag).not.toBe(etag);
    const head = await raw(server, 'HEAD', url);
    expect(head.headers.etag).toBe(get.headers.etag);
    // The old ETag no longer matches.
    expect((await raw(server, 'GET', url, { headers: { 'If-None-Match': etag } })).status).toBe(200);
    expect((await raw(server, 'GET', url, { headers: { 'If-None-Match': get.headers.etag as string } })).status).toBe(304);
  });

  it('HEAD answers from what is known after one look at the file, and sees every foreign change at once', async () => {
    const server = await startTestServer();
    const { file, url, etag } = await settledRecord(server, '{"v":"aaaa"}');
    const md5 = (text: string) => `"${createHash('md5').update(text).digest('hex')}"`;
    const calls = (spy: { mock: { calls: unknown[][] } }) => spy.mock.calls.filter((c) => c[0] === file).length;
    const opens = vi.spyOn(fs, 'open');
    const pooled = vi.spyOn(fs, 'lstat');
    const direct = vi.spyOn(fs, 'lstatSync');
    let head = await raw(server, 'HEAD', url);
    expect(head.status).toBe(200);
    expect(head.headers.etag).toBe(etag);
    expect(head.headers['content-length']).toBe('12');
    expect(head.headers['content-type']).toBe('application/json');
    // Known file: one synchronous lstat, nothing opened, nothing sent to the thread pool.
    expect(usesSyncLstat()).toBe(true);
    expect(calls(direct)).toBe(1);
    expect(calls(pooled)).toBe(0);
    expect(opens).not.toHaveBeenCalled();

    // Rewritten in place, same size (as Crawlee writes).
    await fsp.writeFile(file, '{"v":"bbbb"}');
    head = await raw(server, 'HEAD', url);
    expect(head.headers.etag).toBe(md5('{"v":"bbbb"}'));
    expect(head.headers['content-length']).toBe('12');
    // Grown.
    await fsp.writeFile(file, '{"v":"a longer one"}');
    head = await raw(server, 'HEAD', url);
    expect(head.headers.etag).toBe(md5('{"v":"a longer one"}'));
    expect(head.headers['content-length']).toBe(String('{"v":"a longer one"}'.length));
    // Replaced by another file (a new inode).
    await fsp.writeFile(`${file}.tmp`, '{"v":"cccc"}');
    await fsp.rename(`${file}.tmp`, file);
    head = await raw(server, 'HEAD', url);
    expect(head.headers.etag).toBe(md5('{"v":"cccc"}'));
    // Removed.
    await fsp.rm(file);
    expect((await raw(server, 'HEAD', url)).status).toBe(404);
    expect((await raw(server, 'GET', url)).status).toBe(404);
  });

  it('HEAD right after a write through the API answers for the new body', async () => {
    const server = await startTestServer();
    const { id, url } = await settledRecord(server, '{"v":1}');
    for (const body of ['{"v":2}', '{"v":"three"}', '{"v":4}']) {
      const put = await putRecord(server, id, 'k', body, 'application/json');
      const head = await raw(server, 'HEAD', url);
      expect(head.headers.etag).toBe(put.headers.etag);
      expect(head.headers['content-length']).toBe(String(body.length));
      expect((await raw(server, 'GET', url)).text).toBe(body);
    }
  });

  it('sees a new size, a replaced file and a removed file on the next read', async () => {
    const server = await startTestServer();
    const { file, url } = await settledRecord(server, '{"v":1}');
    await fsp.writeFile(file, '{"v":"longer now"}');
    let res = await raw(server, 'GET', url);
    expect(res.text).toBe('{"v":"longer now"}');
    expect(res.headers['content-length']).toBe(String('{"v":"longer now"}'.length));

    await fsp.writeFile(`${file}.tmp`, '{"v":"renamed"}');
    await fsp.rename(`${file}.tmp`, file);
    res = await raw(server, 'HEAD', url);
    expect(res.headers['content-length']).toBe(String('{"v":"renamed"}'.length));
    expect((await raw(server, 'GET', url)).text).toBe('{"v":"renamed"}');

    await fsp.rm(file);
    expect((await raw(server, 'GET', url)).status).toBe(404);
    expect((await raw(server, 'HEAD', url)).status).toBe(404);
  });

  it('a record written and rewritten within the same moment is never served stale', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'quick');
    const file = path.join(server.storageDir, 'key_value_stores', 'quick', 'k.json');
    for (let i = 0; i < 20; i++) {
      const body = `{"i":${String(i).padStart(3, '0')}}`; // the same size every time
      if (i % 2 === 0) await putRecord(server, id, 'k', body, 'application/json');
      else await fsp.writeFile(file, body);
      expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe(body);
    }
  });

  it('large records stream, and a rewrite on disk is seen by the next GET', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'big');
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 1);
    await putRecord(server, id, 'blob', body, 'application/octet-stream');
    let res = await raw(server, 'GET', `${kvs}/${id}/records/blob`);
    expect(res.body.equals(body)).toBe(true);
    const file = path.join(server.storageDir, 'key_value_stores', 'big', 'blob.bin');
    const other = Buffer.alloc(body.length, 2);
    await fsp.writeFile(file, other);
    res = await raw(server, 'GET', `${kvs}/${id}/records/blob`);
    expect(res.body.equals(other)).toBe(true);
  });
});

describe('large records', () => {
  it('are read from disk only as fast as the client takes them', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'huge');
    const size = 48 * 1024 * 1024;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body.writeUInt32BE(i, i);
    await fsp.writeFile(path.join(server.storageDir, 'key_value_stores', 'huge', 'blob.bin'), body);
    let readBytes = 0;
    // Count what the server reads from the file, through the real fs.read.
    const realRead = fs.read;
    vi.spyOn(fs, 'read').mockImplementation(((...args: unknown[]) => {
      readBytes += args[3] as number;
      return (realRead as (...a: unknown[]) => void)(...args);
    }) as never);

    const received: Buffer[] = [];
    let receivedBytes = 0;
    const done = new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: `${kvs}/${id}/records/blob`, agent: false }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-length']).toBe(String(size));
        res.once('data', async (chunk: Buffer) => {
          received.push(chunk);
          receivedBytes += chunk.length;
          res.pause();
          // The client stops reading: the server's reads stop well short of the record.
          let last = -1;
          for (let waited = 0; waited < 5000 && readBytes !== last; waited += 300) {
            last = readBytes;
            await sleep(300);
          }
          expect(readBytes).toBeLessThan(size / 3);
          res.on('data', (c: Buffer) => {
            received.push(c);
            receivedBytes += c.length;
          });
          res.on('end', resolve);
          res.resume();
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    await done;
    expect(receivedBytes).toBe(size);
    expect(Buffer.concat(received).equals(body)).toBe(true);
    expect(readBytes).toBeGreaterThanOrEqual(size);
  });
  it('a client that goes away mid-record closes the file, and the record serves on', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'gone');
    const body = Buffer.alloc(16 * 1024 * 1024, 3);
    const file = path.join(server.storageDir, 'key_value_stores', 'gone', 'blob.bin');
    await fsp.writeFile(file, body);
    const realOpen = fs.open;
    const fds: number[] = [];
    vi.spyOn(fs, 'open').mockImplementation(((...args: unknown[]) => {
      const callback = args[args.length - 1] as (error: Error | null, fd: number) => void;
      const rest = args.slice(0, -1);
      return (realOpen as (...a: unknown[]) => void)(...rest, (error: Error | null, fd: number) => {
        if (!error && rest[0] === file) fds.push(fd);
        callback(error, fd);
      });
    }) as never);
    const closes = vi.spyOn(fs, 'close');
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: `${kvs}/${id}/records/blob`, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no body')), 5000);
    });
    expect(fds).toHaveLength(1);
    for (let waited = 0; waited < 5000 && !closes.mock.calls.some((c) => c[0] === fds[0]); waited += 50) await sleep(50);
    expect(closes.mock.calls.some((c) => c[0] === fds[0])).toBe(true);
    const again = await raw(server, 'GET', `${kvs}/${id}/records/blob`);
    expect(again.body.equals(body)).toBe(true);
  });
});

describe('RecordFileCache', () => {
  const stats = (ino: number, size: number, ctimeMs: number, mtimeMs = ctimeMs) => ({ ino, size, ctimeMs, mtimeMs }) as Stats;

  it('answers only for the exact state it saw, and says when the file changed since', () => {
    const cache = new RecordFileCache(1024 * 1024, () => 100_000);
    const body = Buffer.from('abc');
    cache.remember('/f', stats(1, 3, 1000), '"e"', body);
    expect(cache.lookup('/f', stats(1, 3, 1000))).toMatchObject({ etag: '"e"', body });
    expect(cache.lookup('/f', stats(1, 3, 1001))).toBe(CHANGED_SINCE);
    expect(cache.lookup('/f', stats(1, 3, 1000))).toBeUndefined();
    cache.remember('/f', stats(1, 3, 1000), '"e"', body);
    expect(cache.lookup('/f', stats(2, 3, 1000))).toBe(CHANGED_SINCE);
    expect(cache.lookup('/f', stats(1, 3, 1000, 999))).toBeUndefined();
  });

  it('never remembers a file changed within the racy window', () => {
    let now = 10_000;
    const cache = new RecordFileCache(1024 * 1024, () => now);
    cache.remember('/f', stats(1, 1, now - RACY_MILLIS + 1), '"e"', Buffer.from('x'));
    expect(cache.lookup('/f', stats(1, 1, now - RACY_MILLIS + 1))).toBeUndefined();
    now += RACY_MILLIS;
    cache.remember('/f', stats(1, 1, 10_000 - RACY_MILLIS + 1), '"e"', Buffer.from('x'));
    expect(cache.lookup('/f', stats(1, 1, 10_000 - RACY_MILLIS + 1))).toMatchObject({ etag: '"e"' });
  });

  it('stays within its byte bound, dropping the oldest first', () => {
    const cache = new RecordFileCache(10_000, () => 1e9);
    for (let i = 0; i < 100; i++) cache.remember(`/f${i}`, stats(i, 1000, 0), '"e"', Buffer.alloc(1000));
    expect(cache.size).toBeLessThanOrEqual(10_000);
    expect(cache.lookup('/f99', stats(99, 1000, 0))).toBeTruthy();
    expect(cache.lookup('/f0', stats(0, 1000, 0))).toBeUndefined();
    // A body larger than the whole bound is not kept at all.
    cache.remember('/huge', stats(1, 20_000, 0), '"e"', Buffer.alloc(20_000));
    expect(cache.lookup('/huge', stats(1, 20_000, 0))).toBeUndefined();
    expect(cache.size).toBeLessThanOrEqual(10_000);
  });
});

describe('keys pages answered from memory', () => {
  const keysOf = (res: { json: any }) => res.json.data.items.map((i: { key: string; size: number }) => `${i.key}:${i.size}`);

  it('answer the same page with the same bytes, and never a page the store has since changed', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'listed');
    for (const k of ['a', 'b', 'c']) await putRecord(server, id, k, 'xx');
    const url = `${kvs}/${id}/keys`;
    const first = await raw(server, 'GET', url);
    expect(keysOf(first)).toEqual(['a:2', 'b:2', 'c:2']);
    expect((await raw(server, 'GET', url)).body.equals(first.body)).toBe(true);

    await putRecord(server, id, 'bb', 'yyy');
    expect(keysOf(await raw(server, 'GET', url))).toEqual(['a:2', 'b:2', 'bb:3', 'c:2']);
    await putRecord(server, id, 'a', 'longer');
    expect(keysOf(await raw(server, 'GET', url))).toEqual(['a:6', 'b:2', 'bb:3', 'c:2']);
    await raw(server, 'DELETE', `${url.replace('/keys', '')}/records/b`);
    let page = await raw(server, 'GET', url);
    expect(keysOf(page)).toEqual(['a:6', 'bb:3', 'c:2']);
    expect(page.json.data.count).toBe(3);

    // Pages asked for in turn, each right; a page that became truncated says so.
    const limited = `${url}?limit=2`;
    page = await raw(server, 'GET', limited);
    expect(page.json.data).toMatchObject({ count: 2, isTruncated: true, nextExclusiveStartKey: 'bb' });
    const next = await raw(server, 'GET', `${limited}&exclusiveStartKey=bb`);
    expect(keysOf(next)).toEqual(['c:2']);
    expect(next.json.data).toMatchObject({ isTruncated: false, nextExclusiveStartKey: null });
    await putRecord(server, id, 'd', 'z');
    expect((await raw(server, 'GET', `${limited}&exclusiveStartKey=bb`)).json.data).toMatchObject({
      count: 2,
      isTruncated: false,
      items: [{ key: 'c' }, { key: 'd' }],
    });
    expect(keysOf(await raw(server, 'GET', `${url}?prefix=b`))).toEqual(['bb:3']);
    expect(keysOf(await raw(server, 'GET', `${url}?prefix=c`))).toEqual(['c:2']);
  });

  it('a record another process adds to the folder shows in the next page once the store has seen it', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'foreign');
    await putRecord(server, id, 'a', 'xx');
    const url = `${kvs}/${id}/keys`;
    expect(keysOf(await raw(server, 'GET', url))).toEqual(['a:2']);
    await fsp.writeFile(path.join(server.storageDir, 'key_value_stores', 'foreign', 'b.txt'), 'hello');
    // The store learns of the file from a folder watch; its GET adopts it at once.
    expect((await raw(server, 'GET', `${kvs}/${id}/records/b`)).text).toBe('hello');
    expect(keysOf(await raw(server, 'GET', url))).toEqual(['a:2', 'b:5']);
  });

  it('keep URLs per host name and per caller (signed for the owner, plain for others)', async () => {
    const token = 'owner-token-0123456789';
    const server = await startTestServer({ token });
    const auth = { Authorization: `Bearer ${token}` };
    const id = await createStore(server, 'public', token);
    await putRecord(server, id, 'k', 'v', 'text/plain', token);
    const update = await raw(server, 'PUT', `${kvs}/${id}`, { headers: auth, body: JSON.stringify({ generalAccess: 'ANYONE_WITH_ID_CAN_READ' }) });
    expect(update.status).toBe(200);
    const url = `${kvs}/${id}/keys`;
    const urlOf = (res: { json: any }) => res.json.data.items[0].recordPublicUrl as string;

    const owner = urlOf(await raw(server, 'GET', url, { headers: auth }));
    expect(owner).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/v2/key-value-stores/${id}/records/k\\?signature=\\w+$`));
    const anonymous = urlOf(await raw(server, 'GET', url));
    expect(anonymous).toBe(`http://127.0.0.1:${server.port}/v2/key-value-stores/${id}/records/k`);
    const otherHost = urlOf(await raw(server, 'GET', url, { headers: { ...auth, Host: `localhost:${server.port}` } }));
    expect(otherHost.startsWith(`http://localhost:${server.port}/`)).toBe(true);
    expect(urlOf(await raw(server, 'GET', url, { headers: auth }))).toBe(owner);
  });
});
