/**
 * Simulates an eventually consistent backend (like the S3-backed cloud storage) on top
 * of any `KeyValueStorage`: after a record is written or deleted, reads of that record
 * keep returning its previous state (old body, or nothing) for a random time up to
 * `maxLagMillis`, and key listings keep showing its previous presence and size.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { tempStem } from './fs/fs-utils.js';
import { compareUtf8 } from './fs/key-index.js';
import { childPath } from './fs/layout.js';
import type {
  GeneralAccess,
  KeyValueStorage,
  ListKeysOptions,
  ListKeysResult,
  ListStoresOptions,
  ListStoresResult,
  RecordInfo,
  StorageUser,
  StoredRecord,
  StoreInfo,
  PutRecordOptions,
  WriteConditions,
} from './types.js';

export interface LaggingStorageOptions {
  /** Upper bound of the lag; 0 (or less) turns the simulation off. */
  maxLagMillis: number;
  /** Picks each lag as `random() * maxLagMillis`. Default `Math.random`. */
  random?: () => number;
  /** Clock (epoch millis). Default `Date.now`. */
  now?: () => number;
  /** Bodies up to this size are kept in memory; bigger ones in a snapshot file. Default 1 MiB. */
  memorySnapshotLimit?: number;
  /** Folder for snapshot files. Default: a fresh folder under the OS temp dir, removed by `close()`. */
  snapshotDir?: string;
}

/** The state a record had before a write: its metadata and a copy of its body. */
interface Snapshot {
  info: RecordInfo;
  body: Buffer | { file: string };
}

interface Lag {
  storeId: string;
  key: string;
  /** `null`: the record did not exist. */
  previous: Snapshot | null;
  until: number;
}

export class LaggingStorage implements KeyValueStorage {
  private readonly maxLagMillis: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly memorySnapshotLimit: number;
  private readonly lags = new Map<string, Lag>();
  private snapshotDir: string | undefined;
  private ownsSnapshotDir = false;

  constructor(
    readonly inner: KeyValueStorage,
    options: LaggingStorageOptions,
  ) {
    this.maxLagMillis = options.maxLagMillis;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.memorySnapshotLimit = options.memorySnapshotLimit ?? 1024 * 1024;
    this.snapshotDir = options.snapshotDir;
  }

  private get enabled(): boolean {
    return this.maxLagMillis > 0;
  }

  /** What the simulation did so far: lags started by writes, and reads it answered from an older state. */
  readonly counts = { lagsStarted: 0, staleReads: 0 };

  open(): Promise<void> {
    return this.inner.open();
  }

  async checkReady(): Promise<void> {
    await this.inner.checkReady?.();
  }

  async close(): Promise<void> {
    await this.inner.close();
    for (const lag of this.lags.values()) await this.release(lag);
    this.lags.clear();
    if (this.ownsSnapshotDir && this.snapshotDir) {
      await fsp.rm(this.snapshotDir, { recursive: true, force: true });
      this.snapshotDir = undefined;
      this.ownsSnapshotDir = false;
    }
  }

  listStores(options?: ListStoresOptions): Promise<ListStoresResult> {
    return this.inner.listStores(options);
  }

  getOrCreateStore(args: { name?: string; user: StorageUser }): Promise<{ store: StoreInfo; created: boolean }> {
    return this.inner.getOrCreateStore(args);
  }

  getStore(storeRef: string, user?: StorageUser): Promise<StoreInfo | null> {
    return this.inner.getStore(storeRef, user);
  }

  updateStore(storeId: string, changes: { name?: string | null; generalAccess?: GeneralAccess }): Promise<StoreInfo> {
    return this.inner.updateStore(storeId, changes);
  }

  async deleteStore(storeId: string): Promise<boolean> {
    const deleted = await this.inner.deleteStore(storeId);
    for (const lag of [...this.lags.values()]) {
      if (lag.storeId === storeId) await this.drop(lag);
    }
    return deleted;
  }

  async sweepExpired(): Promise<string[]> {
    const ids = await this.inner.sweepExpired();
    for (const lag of [...this.lags.values()]) {
      if (ids.includes(lag.storeId)) await this.drop(lag);
    }
    return ids;
  }

  async listKeys(storeId: string, options: ListKeysOptions = {}): Promise<ListKeysResult> {
    const result = await this.inner.listKeys(storeId, options);
    await this.expire();
    const lagging = [...this.lags.values()].filter((lag) => lag.storeId === storeId);
    if (lagging.length === 0) return result;

    // Only keys inside the range this page covers may change, so pages still chain.
    const after = options.exclusiveStartKey;
    const upTo = result.isTruncated ? result.items[result.items.length - 1]?.key : undefined;
    const prefix = options.prefix ?? '';
    const items = new Map(result.items.map((item) => [item.key, item]));
    for (const lag of lagging) {
      const { key } = lag;
      if (!key.startsWith(prefix)) continue;
      if (after !== undefined && compareUtf8(key, after) <= 0) continue;
      if (upTo !== undefined && compareUtf8(key, upTo) > 0) continue;
      if (lag.previous) items.set(key, { key, size: lag.previous.info.size });
      else items.delete(key);
    }
    let list = [...items.values()].sort((a, b) => compareUtf8(a.key, b.key));
    let { isTruncated, nextExclusiveStartKey } = result;
    if (list.length > result.limit) {
      list = list.slice(0, result.limit);
      isTruncated = true;
    }
    if (isTruncated && list.length > 0) nextExclusiveStartKey = list[list.length - 1]!.key;
    return { ...result, items: list, count: list.length, isTruncated, nextExclusiveStartKey };
  }

  async getRecord(storeId: string, key: string): Promise<StoredRecord | null> {
    await this.expire();
    const lag = this.lags.get(lagId(storeId, key));
    if (!lag) return this.inner.getRecord(storeId, key);
    this.counts.staleReads++;
    return lag.previous ? snapshotRecord(lag.previous) : null;
  }

  get checksMd5(): boolean | undefined {
    return this.inner.checksMd5;
  }

  async putRecord(
    storeId: string,
    key: string,
    body: Readable | Uint8Array,
    options: PutRecordOptions,
  ): Promise<RecordInfo> {
    if (!this.enabled) return this.inner.putRecord(storeId, key, body, options);
    const previous = await this.capture(storeId, key);
    try {
      const info = await this.inner.putRecord(storeId, key, body, options);
      await this.startLag(storeId, key, previous);
      return info;
    } catch (error) {
      if (previous) await releaseSnapshot(previous);
      throw error;
    }
  }

  async deleteRecord(storeId: string, key: string, options?: { conditions?: WriteConditions }): Promise<boolean> {
    if (!this.enabled) return this.inner.deleteRecord(storeId, key, options);
    const previous = await this.capture(storeId, key);
    let deleted = false;
    try {
      deleted = await this.inner.deleteRecord(storeId, key, options);
    } finally {
      if (!deleted && previous) await releaseSnapshot(previous);
    }
    if (deleted) await this.startLag(storeId, key, previous);
    return deleted;
  }

  /** Copies the record's current (real, not lagging) state before it changes. */
  private async capture(storeId: string, key: string): Promise<Snapshot | null> {
    const record = await this.inner.getRecord(storeId, key);
    if (!record) return null;
    const { openStream, ...info } = record;
    if (record.size <= this.memorySnapshotLimit) {
      const chunks: Buffer[] = [];
      for await (const chunk of openStream()) chunks.push(chunk as Buffer);
      return { info, body: Buffer.concat(chunks) };
    }
    const dir = await this.ensureSnapshotDir();
    const file = childPath(dir, `${tempStem()}.snapshot`);
    await pipeline(openStream(), createWriteStream(file));
    return { info, body: { file } };
  }

  private async startLag(storeId: string, key: string, previous: Snapshot | null): Promise<void> {
    const id = lagId(storeId, key);
    const existing = this.lags.get(id);
    if (existing) await this.drop(existing);
    const lagMillis = this.random() * this.maxLagMillis;
    if (lagMillis <= 0) {
      if (previous) await releaseSnapshot(previous);
      return;
    }
    this.lags.set(id, { storeId, key, previous, until: this.now() + lagMillis });
    this.counts.lagsStarted++;
  }

  private async expire(): Promise<void> {
    const now = this.now();
    for (const lag of [...this.lags.values()]) {
      if (lag.until <= now) await this.drop(lag);
    }
  }

  private async drop(lag: Lag): Promise<void> {
    const id = lagId(lag.storeId, lag.key);
    if (this.lags.get(id) === lag) this.lags.delete(id);
    await this.release(lag);
  }

  private async release(lag: Lag): Promise<void> {
    if (lag.previous) await releaseSnapshot(lag.previous);
  }

  private async ensureSnapshotDir(): Promise<string> {
    if (!this.snapshotDir) {
      this.snapshotDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'apify-kv-lag-'));
      this.ownsSnapshotDir = true;
    } else {
      await fsp.mkdir(this.snapshotDir, { recursive: true });
    }
    return this.snapshotDir;
  }
}

function lagId(storeId: string, key: string): string {
  return `${storeId}\u0000${key}`;
}

function snapshotRecord(snapshot: Snapshot): StoredRecord {
  const { info, body } = snapshot;
  return {
    ...info,
    modifiedAt: new Date(info.modifiedAt),
    openStream: (range) => {
      const start = range ? Math.max(0, range.start) : 0;
      const end = range ? Math.min(range.end, info.size - 1) : info.size - 1;
      if (Buffer.isBuffer(body)) return Readable.from([body.subarray(start, end + 1)], { objectMode: false });
      if (end < start) return Readable.from([], { objectMode: false });
      return createReadStream(body.file, { start, end });
    },
  };
}

async function releaseSnapshot(snapshot: Snapshot): Promise<void> {
  if (!Buffer.isBuffer(snapshot.body)) await fsp.rm(snapshot.body.file, { force: true });
}
