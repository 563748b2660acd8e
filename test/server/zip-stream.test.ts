/**
 * The ZIP download of a whole store: streamed with backpressure, one record open at a time;
 * records changed meanwhile are served as they were opened.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';

import { sendRecordsZip } from '../../src/server/zip.js';
import { LOCAL_USER, type FileStorage, type StoreInfo } from '../../src/storage/index.js';
import { makeTempDir, openStorage, removeDir } from '../storage/helpers.js';

function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const files = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
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

describe('ZIP download', () => {
  let dir: string;
  let storage: FileStorage;
  let server: http.Server;
  let store: StoreInfo;

  beforeEach(async () => {
    dir = await makeTempDir();
    storage = await openStorage(dir);
    store = (await storage.getOrCreateStore({ name: 'zip', user: LOCAL_USER })).store;
    server = http.createServer((req, res) => {
      sendRecordsZip(res, storage, store, undefined, false).catch((err: Error) => res.destroy(err));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await storage.close();
    await removeDir(dir);
  });

  /** Downloads the archive, calling `onProgress` with the bytes received so far (it may pause the reader). */
  async function download(onProgress: (bytes: number) => Promise<void> | void = () => {}): Promise<Buffer> {
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          bytes += chunk.length;
          const pending = onProgress(bytes);
          if (pending) {
            res.pause();
            pending.then(() => res.resume(), reject);
          }
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      }).on('error', reject);
    });
  }

  it('serves a record that changes during the download as it was when opened, without cutting the transfer', async () => {
    const big = (tag: string, i: number) => Buffer.alloc(256 * 1024, `${tag}${i}|`);
    const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    for (const [i, key] of keys.entries()) await storage.putRecord(store.id, key, big('old', i), { contentType: 'image/png' });

    let changed = false;
    const archive = await download(async (bytes) => {
      if (changed || bytes < 300 * 1024) return;
      changed = true;
      // Mid-download: replace every record and delete two.
      for (const [i, key] of keys.entries()) await storage.putRecord(store.id, key, big('new', i), { contentType: 'image/png' });
      await storage.deleteRecord(store.id, keys[10]!);
      await storage.deleteRecord(store.id, keys[11]!);
    });
    expect(changed).toBe(true);
    const files = await unzip(archive);
    let oldCount = 0;
    for (const [i, key] of keys.entries()) {
      const got = files.get(key);
      if (i >= 10 && !got) continue;
      const isOld = got?.equals(big('old', i));
      if (isOld) oldCount++;
      // Each entry whole, one version or the other.
      expect(isOld || got?.equals(big('new', i)), key).toBe(true);
    }
    // The record being sent when the change came went out in its old version.
    expect(oldCount).toBeGreaterThanOrEqual(1);
    expect(files.get(keys[0]!)!.equals(big('old', 0))).toBe(true);
  }, 60_000);
});
