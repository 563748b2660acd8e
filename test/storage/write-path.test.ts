/** The write path: what a put waits for, and how many fsyncs it costs. */
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { LOCAL_USER, type FileStorage } from '../../src/storage/index.js';
import { makeTempDir, openStorage, readAll, removeDir } from './helpers.js';
import { recordsOver } from './support/records-over.js';
import { VolatileFs } from './support/volatile-fs.js';

describe('write path', () => {
  let dir: string;
  let storage: FileStorage;

  beforeEach(async () => {
    dir = await makeTempDir();
    storage = await openStorage(dir);
  });

  afterEach(async () => {
    await storage.close();
    await removeDir(dir);
  });

  it('a trickling upload does not block a second put of the same key', async () => {
    const { store } = await storage.getOrCreateStore({ name: 'trickle', user: LOCAL_USER });
    const slow = new PassThrough();
    let slowDone = false;
    const first = storage.putRecord(store.id, 'k', slow, { contentType: 'text/plain' }).then((info) => {
      slowDone = true;
      return info;
    });
    slow.write('first part, ');
    await new Promise((resolve) => setImmediate(resolve));

    // The second put commits while the first is still receiving its body.
    await storage.putRecord(store.id, 'k', Buffer.from('second'), { contentType: 'text/plain' });
    expect(slowDone).toBe(false);
    expect((await readAll((await storage.getRecord(store.id, 'k'))!.openStream())).toString()).toBe('second');

    // The slow one finishes later and, committing last, wins.
    slow.end('the rest');
    await first;
    expect((await readAll((await storage.getRecord(store.id, 'k'))!.openStream())).toString()).toBe('first part, the rest');
  });

  it('groups folder fsyncs: at most 3 fsyncs per put on average at 64 concurrent writers', async () => {
    // Each fsync takes 2 ms, as on a disk; writers arriving meanwhile share the next one.
    const fs = new VolatileFs(Math.random, 2);
    const folder = '/storage/key_value_stores/default';
    await fs.mkdirDurable(folder);
    const records = recordsOver(fs, folder);
    const writers = 64;
    const putsEach = 4;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < putsEach; i++) {
          await records.put(`w${w}-${i % 2}`, Buffer.from(`writer ${w} put ${i}`), 'text/plain', undefined);
        }
      }),
    );
    const puts = writers * putsEach;
    // Two file fsyncs per put (body and sidecar) cannot be shared.
    expect(fs.fileSyncs).toBe(2 * puts);
    expect((fs.fileSyncs + fs.dirSyncs) / puts).toBeLessThanOrEqual(3);

    // One writer alone: nothing to share, 2 file + 2 folder fsyncs.
    const alone = new VolatileFs(Math.random, 2);
    await alone.mkdirDurable(folder);
    const single = recordsOver(alone, folder);
    for (let i = 0; i < 5; i++) await single.put('k', Buffer.from(`v${i}`), 'text/plain', undefined);
    expect({ files: alone.fileSyncs, folders: alone.dirSyncs }).toEqual({ files: 10, folders: 10 });
  });
});
