/** Several instances over one bucket and prefix: what one writes the other reads, names stay unique, a killed writer leaves no torn record. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

import type { StorageBackend } from '../../src/storage/backend.js';
import { StorageError } from '../../src/storage/errors.js';
import type { S3Backend } from '../../src/storage/s3/index.js';
import { LOCAL_USER, type StoreInfo } from '../../src/storage/types.js';
import { body, readRecord, storeInfo } from '../support/backend-contract.js';
import { s3Client, useS3 } from '../support/s3-service.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

const s3 = useS3();
const here = path.dirname(fileURLToPath(import.meta.url));

/** Get-or-create by name as the storage service does it over a backend. */
async function getOrCreate(backend: StorageBackend, name: string): Promise<StoreInfo> {
  const found = await backend.catalog.findByName(LOCAL_USER.id, name);
  if (found) return found;
  const info = storeInfo(name);
  try {
    await backend.catalog.create(info);
    return info;
  } catch (error) {
    if (!(error instanceof StorageError) || error.code !== 'name-not-unique') throw error;
    const winner = await backend.catalog.findByName(LOCAL_USER.id, name);
    if (!winner) throw new Error(`Name ${name} taken, but no store found under it.`);
    return winner;
  }
}

/** Two instances over one prefix; without the metadata cache unless asked, so each sees the other's changes at once. */
async function pair(metadataCacheMillis = 0): Promise<[S3Backend, S3Backend]> {
  const a = await s3.backend(undefined, { metadataCacheMillis });
  const b = await s3.backend(a.options.prefix, { metadataCacheMillis });
  return [a, b];
}

describe('S3 backend: two instances over one bucket', { timeout: 120_000 }, () => {
  it('reads through one what the other wrote', async () => {
    const [a, b] = await pair();
    const info = storeInfo('shared');
    await a.catalog.create(info);
    expect((await b.catalog.findByName(LOCAL_USER.id, 'shared'))?.id).toBe(info.id);
    await a.records(info.id).put('k', body('one'), 'text/plain');
    expect((await readRecord(b, info.id, 'k'))!.body.toString()).toBe('one');
    // B learns the key's object; A changes its content type (a new object) and then deletes it.
    await a.records(info.id).put('k', body('{"v":2}'), 'application/json');
    const read = await readRecord(b, info.id, 'k');
    expect(read).toMatchObject({ contentType: 'application/json' });
    expect(read!.body.toString()).toBe('{"v":2}');
    expect((await b.records(info.id).list({ limit: 10 })).items).toEqual([{ key: 'k', size: 7 }]);
    expect(await a.records(info.id).delete('k')).toBe(7);
    expect(await b.records(info.id).get('k')).toBeNull();
    expect(await b.catalog.remove(info.id)).toBe(true);
    expect(await a.catalog.get(info.id)).toBeNull();
  });

  it('counts the size a write adds against the object another instance wrote', async () => {
    const [a, b] = await pair();
    const info = storeInfo('sized');
    await a.catalog.create(info);
    expect((await a.records(info.id).put('k', body('12345'), 'text/plain')).sizeDelta).toBe(5);
    // B has never seen the key: a new key under a taken name, and one under another extension.
    expect((await b.records(info.id).put('k', body('123'), 'text/plain')).sizeDelta).toBe(-2);
    expect((await a.records(info.id).put('j', body('1234'), 'text/plain')).sizeDelta).toBe(4);
    expect((await b.records(info.id).put('j', body('{}'), 'application/json')).sizeDelta).toBe(-2);
    expect((await b.records(info.id).put('new', body('12'), 'text/plain')).sizeDelta).toBe(2);
    expect((await a.records(info.id).list({ limit: 10 })).items).toEqual([
      { key: 'j', size: 2 },
      { key: 'k', size: 3 },
      { key: 'new', size: 2 },
    ]);
    expect((await readRecord(a, info.id, 'j'))).toMatchObject({ contentType: 'application/json' });
  });

  it('keeps a content type that is no valid header value exactly', async () => {
    const [a, b] = await pair();
    const info = storeInfo('typed');
    await a.catalog.create(info);
    for (const contentType of ['text/html; charset=ü', 'text/plain; name="漢字"']) {
      await a.records(info.id).put('k', body('<p>x</p>'), contentType);
      const read = await readRecord(b, info.id, 'k');
      expect(read).toMatchObject({ contentType });
      expect(read!.body.toString()).toBe('<p>x</p>');
    }
  });

  it('sees another instance\'s change of a store within the metadata cache bound', async () => {
    const bound = 1000;
    const [a, b] = await pair(bound);
    const info = storeInfo('cached');
    await a.catalog.create(info);
    const readAt = Date.now();
    expect((await b.catalog.get(info.id))?.generalAccess).toBe(info.generalAccess);
    const changed = { ...(await a.catalog.get(info.id))!, generalAccess: 'ANYONE_WITH_ID_CAN_READ' as const };
    await a.catalog.save(changed);
    const early = await b.catalog.get(info.id);
    // Within the bound B answers from what it read (no S3 request); past it, it reads again.
    if (Date.now() - readAt < bound) expect(early?.generalAccess).toBe(info.generalAccess);
    await new Promise((r) => setTimeout(r, Math.max(0, readAt + bound + 20 - Date.now())));
    expect((await b.catalog.get(info.id))?.generalAccess).toBe('ANYONE_WITH_ID_CAN_READ');
  });

  it('removes what an instance that had not yet seen a delete wrote into the deleted store', async () => {
    const bound = 500;
    const [a, b] = await pair(bound);
    const info = storeInfo('late');
    await a.catalog.create(info);
    await a.records(info.id).put('kept', body('one'), 'text/plain');
    expect(await b.catalog.get(info.id)).not.toBeNull();
    // B has used the store's records (it knows their layout, which it reads once per store).
    expect((await readRecord(b, info.id, 'kept'))?.body.toString()).toBe('one');
    expect(await a.catalog.remove(info.id)).toBe(true);
    // B still holds the store as current: its write lands in the deleted store's folder...
    const stale = await b.catalog.get(info.id);
    if (stale) await b.records(info.id).put('stale', body('two'), 'text/plain');
    // ...and is gone once the bound has passed (A sweeps the folder again; close waits for it).
    await a.close();
    const client = s3Client(s3.service);
    try {
      const left = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${a.options.prefix}/key_value_stores/${info.id}/` }));
      expect((left.Contents ?? []).map((o) => o.Key)).toEqual([]);
    } finally {
      client.destroy();
    }
    // Past the bound B sees the delete, and a new store of that name starts empty.
    await new Promise((r) => setTimeout(r, bound));
    expect(await b.catalog.get(info.id)).toBeNull();
    const again = storeInfo('late');
    await b.catalog.create(again);
    expect((await b.records(again.id).list({ limit: 10 })).items).toEqual([]);
  });

  it('gives one store to concurrent get-or-create of one name on both', async () => {
    const [a, b] = await pair();
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      const results = await Promise.all([getOrCreate(a, name), getOrCreate(b, name), getOrCreate(a, name), getOrCreate(b, name)]);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      const listed: StoreInfo[] = [];
      for await (const info of a.catalog.list()) if (info.name === name) listed.push(info);
      expect(listed.map((i) => i.id)).toEqual([results[0]!.id]);
    }
  });

  it('keeps both instances\' changes when they save one store at once', async () => {
    const [a, b] = await pair();
    const info = storeInfo('counted');
    await a.catalog.create(info);
    const viewA = (await a.catalog.get(info.id))!;
    const viewB = (await b.catalog.get(info.id))!;
    await Promise.all([
      a.catalog.save({ ...viewA, name: 'renamed', stats: { ...viewA.stats, writeCount: 5 } }),
      b.catalog.save({ ...viewB, generalAccess: 'ANYONE_WITH_NAME_CAN_READ', stats: { ...viewB.stats, writeCount: 3, readCount: 2 } }),
    ]);
    const saved = await b.catalog.get(info.id);
    expect(saved).toMatchObject({ name: 'renamed', generalAccess: 'ANYONE_WITH_NAME_CAN_READ', stats: { writeCount: 8, readCount: 2 } });
    expect((await b.catalog.findByName(LOCAL_USER.id, 'renamed'))?.id).toBe(info.id);
  });

  it('leaves no torn or half-listed record when a writing instance is killed with SIGKILL', async () => {
    const [writer, reader] = await pair();
    const info = storeInfo('killed');
    await writer.catalog.create(info);
    // Inside the package, so the bundle's (dynamic) imports of the AWS SDK resolve from node_modules.
    const cache = path.resolve(here, '../../node_modules/.cache');
    await fsp.mkdir(cache, { recursive: true });
    const dir = await fsp.mkdtemp(path.join(cache, 'kv-s3-writer-'));
    try {
      const script = path.join(dir, 'writer.cjs');
      await build({ entryPoints: [path.join(here, 'writer-process.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', packages: 'external', outfile: script, logLevel: 'silent' });
      const { service, bucket } = s3;
      const options = { bucket, prefix: writer.options.prefix, endpoint: service.endpoint, region: service.region, forcePathStyle: true, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey };
      for (let round = 0; round < 3; round++) {
        const child = spawn(process.execPath, [script, JSON.stringify({ backend: options, storeId: info.id })], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stderr.on('data', (c) => (err += c));
        const exited = new Promise((r) => child.once('exit', r));
        // Kill it while a write is in flight: after a few completed writes, at a varying moment.
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`The writer wrote too little in time.\n${out}\n${err}`)), 60_000);
          child.stdout.on('data', (c) => {
            out += c;
            if ((out.match(/wrote/g) ?? []).length >= 3 + round) {
              clearTimeout(timer);
              setTimeout(resolve, 20 + round * 37);
            }
          });
          child.once('exit', () => reject(new Error(`The writer exited early.\n${err}`)));
        });
        child.kill('SIGKILL');
        await exited;

        // A PUT the killed process had already sent may still be applied by the S3 server just
        // after the kill: check once the listing has settled (the same twice in a row, bounded).
        const listing = async () => reader.records(info.id).list({ limit: 1000 });
        let listed = await listing();
        for (let tries = 0; tries < 20; tries++) {
          await new Promise((r) => setTimeout(r, 250));
          const again = await listing();
          if (JSON.stringify(again) === JSON.stringify(listed)) break;
          listed = again;
        }
        expect(listed.items.length).toBeGreaterThan(0);
        for (const item of listed.items) {
          const read = (await readRecord(reader, info.id, item.key))!;
          expect(read.body.length).toBe(read.size);
          expect(item.size).toBe(read.size);
          const digest = createHash('sha256').update(read.body.subarray(32)).digest();
          expect(digest.equals(read.body.subarray(0, 32))).toBe(true);
        }
        // Nothing but records and the store's metadata in its folder: no partial objects.
        const client = s3Client(service);
        try {
          const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${writer.options.prefix}/key_value_stores/${info.id}/` }));
          for (const object of objects.Contents ?? []) {
            expect(object.Key).toMatch(/\/(records\/r[0-3]|__metadata__\.json)$/);
          }
        } finally {
          client.destroy();
        }
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
