/** A `StoreRecords` on a folder of any file system, as a store would make it. */
import type { FsLayer } from '../../../src/storage/fs/fs-layer.js';
import { StoreRecords } from '../../../src/storage/fs/store-records.js';
import { SharedLock } from '../../../src/storage/locks.js';

export function recordsOver(fs: FsLayer, dir: string, onLoaded: (total: number) => void = () => {}): StoreRecords {
  return new StoreRecords({
    dir: () => dir,
    lock: new SharedLock(),
    assertAlive: () => {},
    now: Date.now,
    onLoaded,
    fs,
  });
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
