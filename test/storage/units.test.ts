import { createHash } from 'node:crypto';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { contentTypeForExtension, extensionForContentType } from '../../src/storage/content-types.js';
import { randomId } from '../../src/storage/ids.js';
import { compareUtf8, KeyIndex } from '../../src/storage/fs/key-index.js';
import {
  childPath,
  dataExtensionFor,
  fileStemFor,
  isLongKeyStem,
  MAX_PLAIN_KEY_LENGTH,
  parseFileName,
  recordMetadataFileName,
} from '../../src/storage/fs/layout.js';
import { KeyedQueue, SharedLock } from '../../src/storage/locks.js';
import { isExpired } from '../../src/storage/retention.js';
import { resolveStorageDir, StorageError } from '../../src/storage/index.js';
import { assertValidKey, assertValidStoreName, isValidKey, isValidStoreName, resolveLimit } from '../../src/storage/validation.js';

describe('validation', () => {
  it('accepts keys of the allowed characters, 1-256 long', () => {
    for (const key of ['a', 'INPUT', "a!-_.'()Z9", '...', 'x'.repeat(256)]) expect(isValidKey(key)).toBe(true);
    for (const key of ['.', '..', '', 'x'.repeat(257), 'a/b', 'a\\b', 'a b', 'é', 'a%2Fb', 'a~b', 'a\0b', 'a:b', 42, null]) {
      expect(isValidKey(key)).toBe(false);
    }
    expect(() => assertValidKey('a/b')).toThrow(expect.objectContaining({ code: 'invalid-record-key' }));
  });

  it('accepts store names of 1-63 letters, digits and inner hyphens', () => {
    for (const name of ['a', 'default', 'my-store-1', 'A9', 'x'.repeat(63)]) expect(isValidStoreName(name)).toBe(true);
    for (const name of ['', '-a', 'a-', 'a_b', 'a.b', '..', 'a~b', 'x'.repeat(64), 'a/b']) expect(isValidStoreName(name)).toBe(false);
    expect(() => assertValidStoreName('-x')).toThrow(expect.objectContaining({ code: 'invalid-store-name' }));
  });

  it('checks list limits', () => {
    expect(resolveLimit(undefined)).toBe(1000);
    expect(resolveLimit(1)).toBe(1);
    for (const bad of [0, 1001, 1.5, -1, '10', NaN]) {
      expect(() => resolveLimit(bad)).toThrow(StorageError);
    }
  });
});

describe('compareUtf8', () => {
  it('orders like the UTF-8 bytes', () => {
    const strings = ['a', 'B', 'b', '(', '_', '~', 'ab', 'a', '', '\u00e9', '\uffff', '\ud83d\ude00', '\ue000', 'Z', '0', '.', '..'];
    const byBytes = [...strings].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...strings].sort(compareUtf8)).toEqual(byBytes);
  });
});

describe('KeyIndex', () => {
  const index = new KeyIndex<{ key: string; n: number }>();
  for (const key of ['b', 'a', 'ab', 'abc', 'b1', 'c', 'B']) index.set({ key, n: 1 });

  it('pages in order with exclusiveStartKey, prefix and limit', () => {
    expect(index.page({ limit: 100 }).entries.map((e) => e.key)).toEqual(['B', 'a', 'ab', 'abc', 'b', 'b1', 'c']);
    expect(index.page({ limit: 2 })).toMatchObject({ isTruncated: true });
    expect(index.page({ limit: 7 }).isTruncated).toBe(false);
    expect(index.page({ limit: 100, exclusiveStartKey: 'ab' }).entries.map((e) => e.key)).toEqual(['abc', 'b', 'b1', 'c']);
    expect(index.page({ limit: 100, exclusiveStartKey: 'aa' }).entries[0]!.key).toBe('ab');
    expect(index.page({ limit: 100, prefix: 'a' }).entries.map((e) => e.key)).toEqual(['a', 'ab', 'abc']);
    expect(index.page({ limit: 2, prefix: 'a' }).isTruncated).toBe(true);
    expect(index.page({ limit: 3, prefix: 'a' }).isTruncated).toBe(false);
    expect(index.page({ limit: 100, prefix: 'a', exclusiveStartKey: 'ab' }).entries.map((e) => e.key)).toEqual(['abc']);
    expect(index.page({ limit: 100, prefix: 'b', exclusiveStartKey: 'a' }).entries.map((e) => e.key)).toEqual(['b', 'b1']);
    expect(index.page({ limit: 100, prefix: 'zz' }).entries).toEqual([]);
  });

  it('updates in place and deletes', () => {
    const small = new KeyIndex<{ key: string; n: number }>();
    small.set({ key: 'x', n: 1 });
    small.set({ key: 'x', n: 2 });
    expect(small.size).toBe(1);
    expect(small.get('x')!.n).toBe(2);
    expect(small.delete('x')).toBe(true);
    expect(small.delete('x')).toBe(false);
    expect(small.page({ limit: 10 }).entries).toEqual([]);
  });
});

describe('layout', () => {
  it('parses file names into keys', () => {
    expect(parseFileName('INPUT.json')).toEqual({ kind: 'data', stem: 'INPUT', ext: 'json' });
    expect(parseFileName('a.b.txt')).toEqual({ kind: 'data', stem: 'a.b', ext: 'txt' });
    expect(parseFileName('...bin')).toEqual({ kind: 'data', stem: '..', ext: 'bin' });
    expect(parseFileName('..txt')).toEqual({ kind: 'data', stem: '.', ext: 'txt' });
    expect(parseFileName('.env')).toEqual({ kind: 'data', stem: '.env', ext: null });
    expect(parseFileName('README')).toEqual({ kind: 'data', stem: 'README', ext: null });
    expect(parseFileName('__metadata__.json')).toEqual({ kind: 'store-metadata' });
    expect(parseFileName('x.__metadata__.json')).toEqual({ kind: 'record-metadata', stem: 'x' });
  });

  it('names long keys by a readable prefix and a hash, never like a plain file', () => {
    const plain = 'p'.repeat(MAX_PLAIN_KEY_LENGTH);
    expect(MAX_PLAIN_KEY_LENGTH).toBe(237);
    expect(fileStemFor(plain)).toBe(plain);
    expect(recordMetadataFileName(plain)).toHaveLength(255);
    const long = `a.b${'x'.repeat(253)}`;
    const stem = fileStemFor(long);
    expect(stem).toBe(`${long.slice(0, 128)}~${createHash('sha256').update(long).digest('hex')}`);
    expect(isLongKeyStem(stem)).toBe(true);
    expect(isValidKey(stem)).toBe(false);
    expect(isLongKeyStem(plain)).toBe(false);
    // Keys differing only after the prefix, or in length, get different stems.
    expect(fileStemFor(`${long.slice(0, -1)}y`)).not.toBe(stem);
    expect(fileStemFor(long.slice(0, -1))).not.toBe(stem);
    expect(recordMetadataFileName(long)).toBe(`${stem}.__metadata__.json`);
    expect(recordMetadataFileName(long).length).toBeLessThanOrEqual(255);
    expect(parseFileName(`${stem}.json`)).toEqual({ kind: 'data', stem, ext: 'json' });
    expect(parseFileName(`${stem}.__metadata__.json`)).toEqual({ kind: 'record-metadata', stem });
    // Without an extension the dots of the prefix do not make one.
    expect(parseFileName(stem)).toEqual({ kind: 'data', stem, ext: null });
  });

  it('keeps keys that look like metadata files away from them', () => {
    expect(dataExtensionFor('__metadata__', 'json')).toBe('bin');
    expect(dataExtensionFor('a.__metadata__', 'json')).toBe('bin');
    expect(dataExtensionFor('a.__metadata__', 'txt')).toBe('txt');
    expect(dataExtensionFor('a', 'json')).toBe('json');
  });

  it('refuses names that leave the folder', () => {
    const root = path.resolve('/tmp/root');
    expect(childPath(root, '...bin')).toBe(path.join(root, '...bin'));
    // The folder as given may be unnormalized: the result never is.
    expect(childPath(`${root}${path.sep}`, 'a.bin')).toBe(path.join(root, 'a.bin'));
    expect(childPath(path.join(root, 'sub') + `${path.sep}..`, 'a.bin')).toBe(path.join(root, 'a.bin'));
    expect(childPath(path.parse(root).root, 'a.bin')).toBe(path.join(path.parse(root).root, 'a.bin'));
    for (const bad of ['..', '.', '', 'a/b', '../x', 'a\\b', 'a\0b', '/etc']) expect(() => childPath(root, bad)).toThrow();
  });
});

describe('content types', () => {
  it('maps content types to extensions and back', () => {
    expect(extensionForContentType('application/json')).toBe('json');
    expect(extensionForContentType('application/json; charset=utf-8')).toBe('json');
    expect(extensionForContentType('text/plain; charset=utf-8')).toBe('txt');
    expect(extensionForContentType('image/png')).toBe('png');
    expect(extensionForContentType('application/x-custom')).toBe('bin');
    expect(extensionForContentType('nonsense')).toBe('bin');
    expect(contentTypeForExtension('json')).toBe('application/json; charset=utf-8');
    expect(contentTypeForExtension('png')).toBe('image/png');
    expect(contentTypeForExtension('PNG')).toBe('image/png');
    expect(contentTypeForExtension('weird-ext')).toBe('application/octet-stream');
    expect(contentTypeForExtension(null)).toBe('application/octet-stream');
  });
});

describe('misc', () => {
  it('resolves the storage dir from the environment', () => {
    expect(resolveStorageDir({ APIFY_LOCAL_STORAGE_DIR: '/a', CRAWLEE_STORAGE_DIR: '/b' })).toBe(path.resolve('/a'));
    expect(resolveStorageDir({ CRAWLEE_STORAGE_DIR: '/b' })).toBe(path.resolve('/b'));
    expect(resolveStorageDir({})).toBe(path.resolve('./storage'));
  });

  it('makes 17-character alphanumeric ids', () => {
    const ids = new Set(Array.from({ length: 200 }, () => randomId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[a-zA-Z0-9]{17}$/);
  });

  it('expires only unnamed stores this server created', () => {
    const accessedAt = new Date(1000);
    expect(isExpired({ name: null, accessedAt, temporary: true }, 1000 + 10, 10)).toBe(true);
    expect(isExpired({ name: null, accessedAt, temporary: true }, 1000 + 9, 10)).toBe(false);
    expect(isExpired({ name: 'kept', accessedAt, temporary: true }, 1e12, 10)).toBe(false);
    // Found on disk (Crawlee's, the SDK's): never expires.
    expect(isExpired({ name: null, accessedAt }, 1e12, 10)).toBe(false);
  });

  it('runs per-key turns in call order', async () => {
    const queue = new KeyedQueue();
    const order: number[] = [];
    const first = queue.reserve('k');
    const second = queue.reserve('k');
    const other = queue.reserve('other');
    const done = Promise.all([
      second.wait().then(() => {
        order.push(2);
        second.done();
      }),
      other.wait().then(() => {
        order.push(0);
        other.done();
      }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    order.push(1);
    first.done();
    await done;
    await queue.drain();
    expect(order).toEqual([0, 1, 2]);
  });

  it('gives the exclusive lock only when no shared holder is left', async () => {
    const lock = new SharedLock();
    const events: string[] = [];
    let releaseShared!: () => void;
    const shared = lock.shared(() => new Promise<void>((resolve) => (releaseShared = resolve)).then(() => events.push('shared done')));
    const exclusive = lock.exclusive(async () => events.push('exclusive'));
    const laterShared = lock.shared(async () => events.push('later shared'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(events).toEqual([]);
    releaseShared();
    await Promise.all([shared, exclusive, laterShared]);
    expect(events).toEqual(['shared done', 'exclusive', 'later shared']);
  });
});
