/**
 * Folders kept open for fsyncs are bounded across all stores (issue 18, item 7: two per store
 * written stayed open for the life of the server): the least recently used idle one is closed
 * beyond the bound and opened again at its next fsync; one in use is never closed under its
 * fsync; a store whose folder was closed still writes, and still sees what another process
 * writes into its folder.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FolderBackend } from '../../src/storage/fs/folder-backend.js';
import { nodeFs, type DirHandle, type FsLayer } from '../../src/storage/fs/fs-layer.js';
import { defaultMaxOpenFolders, OpenFolders } from '../../src/storage/fs/open-folders.js';
import { LOCAL_USER, StorageService } from '../../src/storage/index.js';
import { parseServeArgs } from '../../src/server/cli.js';
import { waitFor } from './crawlee.js';
import { makeTempDir, openStorage, readAll, removeDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(() => removeDir(dir));

describe('the default bound', () => {
  it('is 64, lowered to an eighth of the open-files limit', () => {
    expect(defaultMaxOpenFolders(undefined)).toBe(64);
    expect(defaultMaxOpenFolders(65536)).toBe(64);
    expect(defaultMaxOpenFolders(256)).toBe(32);
    expect(defaultMaxOpenFolders(64)).toBe(8);
    expect(defaultMaxOpenFolders(4)).toBe(1);
  });

  it('is set with --max-open-folders, which refuses bad values', () => {
    expect(parseServeArgs(['--max-open-folders', '5']).maxOpenFolders).toBe(5);
    expect(parseServeArgs(['--max-open-folders', '0']).maxOpenFolders).toBe(0);
    expect(parseServeArgs([]).maxOpenFolders).toBeUndefined();
    expect(() => parseServeArgs(['--max-open-folders', '-1'])).toThrow(/--max-open-folders/);
    expect(() => new FolderBackend({ storageDir: dir, maxOpenFolders: 1.5 })).toThrow(/maxOpenFolders/);
  });
});

describe('OpenFolders', () => {
  it('keeps at most its bound open, closing the least recently used', async () => {
    const fs = countingFsLayer();
    const pool = new OpenFolders(fs, 3);
    const dirs = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const d = path.join(dir, `d${i}`);
      await fsp.mkdir(d);
      return d;
    }));
    // All at once: three get a kept folder, the others open theirs for one fsync.
    await Promise.all(dirs.map((d) => pool.sync(d, d)));
    // One after another: each past the third closes the least recently used.
    for (const d of dirs) await pool.sync(d, d);
    expect(fs.counts.most).toBeLessThanOrEqual(3);
    expect(pool.size).toBeLessThanOrEqual(3);
    // d7 was used last: still open, so syncing it again opens nothing.
    const opened = fs.counts.opened;
    await pool.sync(dirs[7]!, dirs[7]!);
    expect(fs.counts.opened).toBe(opened);
    // d0 was closed: syncing it opens it again, and closes another one.
    await pool.sync(dirs[0]!, dirs[0]!);
    expect(fs.counts.opened).toBe(opened + 1);
    expect(fs.counts.open).toBeLessThanOrEqual(3);
    await pool.close();
    expect(fs.counts.open).toBe(0);
  });

  it('never closes a folder while an fsync uses it; when all are in use, an fsync opens its folder for itself', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let closed = 0;
    let syncDirs = 0;
    const fs: FsLayer = {
      ...nodeFs,
      syncDir: async () => {
        syncDirs++;
      },
      openDir: async () => ({
        sync: () => gate,
        close: async () => {
          closed++;
        },
      }),
    };
    const pool = new OpenFolders(fs, 1);
    const slow = pool.sync('a', '/a');
    await waitFor(async () => (pool.size === 1 ? true : undefined));
    // The only slot is in use: this fsync goes without it, and closes nothing.
    await pool.sync('b', '/b');
    expect(syncDirs).toBe(1);
    expect(closed).toBe(0);
    // Forgetting the folder in use closes it only once its fsync is done.
    const forgotten = pool.forget(['a']);
    await forgotten;
    expect(closed).toBe(0);
    release();
    await slow;
    await waitFor(async () => (closed === 1 ? true : undefined));
  });
});

/** `nodeFs` with counted folder handles. */
function countingFsLayer(): FsLayer & { counts: { open: number; most: number; opened: number } } {
  const counts = { open: 0, most: 0, opened: 0 };
  return {
    ...nodeFs,
    counts,
    openDir: async (folder: string): Promise<DirHandle | null> => {
      const handle = await nodeFs.openDir!(folder);
      if (!handle) return null;
      counts.open++;
      counts.opened++;
      counts.most = Math.max(counts.most, counts.open);
      let closed = false;
      return {
        sync: () => handle.sync(),
        close: async () => {
          if (!closed) counts.open--;
          closed = true;
          await handle.close();
        },
      };
    },
  };
}

describe('a storage with a bound on open folders', () => {
  it('writes to many stores keeping at most that many folders open, and reads every record back', async () => {
    const fs = countingFsLayer();
    const storage = new StorageService(new FolderBackend({ storageDir: dir, fs, watch: false, caseInsensitive: false, maxOpenFolders: 4 }));
    await storage.open();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await storage.getOrCreateStore({ name: `s${i}`, user: LOCAL_USER })).store.id);
      // Two rounds, four stores at a time: evicted folders are opened again.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < ids.length; i += 4) {
          await Promise.all(ids.slice(i, i + 4).map((id, j) => storage.putRecord(id, 'k', Buffer.from(`${round}:${i + j}`), { contentType: 'text/plain' })));
        }
      }
      expect(fs.counts.opened).toBeGreaterThan(4);
      expect(fs.counts.most).toBeLessThanOrEqual(4);
      for (const [i, id] of ids.entries()) {
        const record = await storage.getRecord(id, 'k');
        expect((await readAll(record!.openStream())).toString()).toBe(`1:${i}`);
      }
    } finally {
      await storage.close();
    }
    expect(fs.counts.open).toBe(0);
  });

  it('still sees a file another process wrote into a store whose folder was closed', async () => {
    const storage = await openStorage(dir, { maxOpenFolders: 1 });
    try {
      const a = (await storage.getOrCreateStore({ name: 'a', user: LOCAL_USER })).store.id;
      const b = (await storage.getOrCreateStore({ name: 'b', user: LOCAL_USER })).store.id;
      await storage.putRecord(a, 'mine', Buffer.from('from us'), { contentType: 'text/plain' });
      // b's write takes the only slot: a's folders are closed.
      await storage.putRecord(b, 'mine', Buffer.from('from us'), { contentType: 'text/plain' });
      const file = path.join(dir, 'key_value_stores', 'a', 'theirs.txt');
      await promisify(execFile)(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(file)}, 'from another process')`]);
      const body = await waitFor(async () => {
        const record = await storage.getRecord(a, 'theirs');
        return record ? (await readAll(record.openStream())).toString() : undefined;
      });
      expect(body).toBe('from another process');
      // And a writes again, opening its folder afresh.
      await storage.putRecord(a, 'mine', Buffer.from('again'), { contentType: 'text/plain' });
      expect((await readAll((await storage.getRecord(a, 'mine'))!.openStream())).toString()).toBe('again');
    } finally {
      await storage.close();
    }
  });
});
