/**
 * Where the server checks `Content-MD5`: a storage that hashes each body anyway (the folder, which
 * `checksMd5`) is handed the digest and checks it with its own MD5, so the body is hashed once; a
 * storage that does not, or a compressed body, gets the check as the body streams in. Either way a
 * body that does not match is refused with 400 `integrity-mismatch` and the old record survives.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileStorage, KeyValueStorage, PutRecordOptions } from '../../src/storage/index.js';
import { makeTempDir, openStorage, removeDir } from '../storage/helpers.js';
import { createStore, expectError, kvs, raw, startTestServer } from './helpers.js';

const md5 = (text: string | Buffer) => createHash('md5').update(text).digest();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A folder storage that says whether it `checksMd5` as told, and notes the `md5` each write is handed. */
async function spiedStorage(checksMd5: boolean) {
  const dir = await makeTempDir();
  const inner: FileStorage = await openStorage(dir);
  cleanups.push(async () => {
    await inner.close();
    await removeDir(dir);
  });
  const handed: Array<Buffer | undefined> = [];
  const storage = new Proxy(inner, {
    get(target, name) {
      if (name === 'checksMd5') return checksMd5;
      if (name === 'putRecord') {
        return (storeId: string, key: string, body: Parameters<KeyValueStorage['putRecord']>[2], options: PutRecordOptions) => {
          handed.push(options.md5);
          return target.putRecord(storeId, key, body, options);
        };
      }
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as KeyValueStorage;
  const server = await startTestServer({ storage });
  const store = await createStore(server);
  const put = (key: string, body: string | Buffer, headers: Record<string, string>) =>
    raw(server, 'PUT', `${kvs}/${store}/records/${key}`, { headers: { 'Content-Type': 'text/plain', ...headers }, body });
  const get = (key: string) => raw(server, 'GET', `${kvs}/${store}/records/${key}`);
  return { put, get, handed };
}

describe('where Content-MD5 is checked', () => {
  it('a storage that checksMd5 is handed the digest of a body sent as it is, and refuses one that does not match', async () => {
    const { put, get, handed } = await spiedStorage(true);
    expect((await put('k', 'old value', { 'Content-MD5': md5('old value').toString('base64') })).status).toBe(201);
    expect(handed).toEqual([md5('old value')]);
    expectError(await put('k', 'new valuf', { 'Content-MD5': md5('new value').toString('base64') }), 400, 'integrity-mismatch');
    expect(handed[1]).toEqual(md5('new value'));
    expect((await get('k')).text).toBe('old value');
    // A compressed body may carry the digest of its encoded bytes: checked as it streams in.
    const text = 'compressed '.repeat(100);
    const gzipped = gzipSync(text);
    expect((await put('z', gzipped, { 'Content-Encoding': 'gzip', 'Content-MD5': md5(gzipped).toString('base64') })).status).toBe(201);
    expectError(await put('z', gzipped, { 'Content-Encoding': 'gzip', 'Content-MD5': md5('other').toString('base64') }), 400, 'integrity-mismatch');
    expect(handed.slice(2)).toEqual([undefined, undefined]);
    expect((await get('z')).text).toBe(text);
  });

  it('a storage that does not checksMd5 gets no digest: the server checks the body as it streams in', async () => {
    const { put, get, handed } = await spiedStorage(false);
    expect((await put('k', 'old value', { 'Content-MD5': md5('old value').toString('base64') })).status).toBe(201);
    expectError(await put('k', 'new valuf', { 'Content-MD5': md5('new value').toString('base64') }), 400, 'integrity-mismatch');
    expect(handed).toEqual([undefined, undefined]);
    expect((await get('k')).text).toBe('old value');
  });
});
