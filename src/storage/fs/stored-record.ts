/**
 * A record as a read answers it: what the index knows of it, and a body stream that opens
 * the file at the first read and fails if the file was replaced since (another inode).
 */
import { StorageError } from '../errors.js';
import { FileRangeStream, openDescriptor } from './file-stream.js';
import { nodeFs, type FsLayer } from './fs-layer.js';
import { childPath } from './layout.js';
import type { SharedLock } from '../locks.js';
import type { RecordEntry } from './record-entry.js';
import type { StoredRecord } from '../types.js';

export interface StoreAccess {
  fs: FsLayer;
  lock: SharedLock;
  dir(): string;
  assertAlive(): void;
}

export function toStoredRecord(store: StoreAccess, entry: RecordEntry, body: Buffer | undefined): StoredRecord {
  const { key, size, ino } = entry;
  const fileName = entry.fileName;
  return {
    key,
    contentType: entry.contentType!,
    size,
    etag: entry.etag!,
    modifiedAt: new Date(entry.modifiedMs),
    body,
    openStream: (range) => {
      const start = range ? Math.max(0, range.start) : 0;
      const end = range ? Math.min(range.end, size - 1) : size - 1;
      return new FileRangeStream(
        () => store.lock.shared(async () => {
          store.assertAlive();
          const file = childPath(store.dir(), fileName);
          return store.fs === nodeFs ? openDescriptor(file) : store.fs.open(file, 'r');
        }),
        (stats) => {
          if (stats.ino !== ino) {
            throw new StorageError('record-not-found', `Record "${key}" was replaced or deleted while it was being read.`);
          }
        },
        start,
        end,
      );
    },
  };
}
