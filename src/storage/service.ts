/**
 * The key-value-store contract (`KeyValueStorage`) once, over any `StorageBackend`: store
 * references, validation, stats and access times (kept here, saved debounced), retention
 * and `listStores` paging. Backends only move bytes and metadata.
 */
import { Readable } from 'node:stream';

import { parseStoreRef } from '../rules.js';
import type { StorageBackend } from './backend.js';
import { StorageError } from './errors.js';
import { randomId } from './ids.js';
import { Mutex } from './locks.js';
import { DEFAULT_SWEEP_INTERVAL_MILLIS, DEFAULT_UNNAMED_RETENTION_MILLIS, isExpired, startSweeper } from './retention.js';
import { cloneStoreInfo, DEFAULT_GENERAL_ACCESS, emptyStats } from './store-metadata.js';
import { StoreUsage } from './store-usage.js';
import {
  GENERAL_ACCESS_VALUES,
  LOCAL_USER,
  type GeneralAccess,
  type KeyValueStorage,
  type ListKeysOptions,
  type ListKeysResult,
  type ListStoresOptions,
  type ListStoresResult,
  type PutRecordOptions,
  type RecordInfo,
  type StorageUser,
  type StoredRecord,
  type StoreInfo,
  type WriteConditions,
} from './types.js';
import {
  assertOptionalString,
  assertValidKey,
  assertValidStoreName,
  resolveLimit,
  resolveOffset,
} from './validation.js';

export interface StorageServiceOptions {
  /** Unnamed stores this service created expire this long after their last access. Default 7 days. */
  unnamedRetentionMillis?: number;
  /** Epoch millis; injectable for tests. */
  now?: () => number;
  /** Background sweep interval. Default 1 hour; 0 turns the background sweep off. */
  sweepIntervalMillis?: number;
  /** Sweep on open and in the background. Default true (never when `readOnly`). */
  sweep?: boolean;
  /** Access times and stats are saved at most this often per store. Default 5000 ms. */
  metadataFlushMillis?: number;
  /** Read without writing anything: no sweep, no access times or stats saved; writes throw. */
  readOnly?: boolean;
}

export class StorageService implements KeyValueStorage {
  private readonly now: () => number;
  private readonly retentionMillis: number;
  private readonly sweepIntervalMillis: number;
  private readonly sweepEnabled: boolean;
  readonly readOnly: boolean;
  /** Usage and access times not yet saved (see store-usage.ts). */
  private readonly usage: StoreUsage;
  /** Serializes creating, renaming and deleting stores, so names stay unique. */
  private readonly storeChanges = new Mutex();
  private readonly inFlight = new Set<Promise<unknown>>();
  private opening: Promise<void> | undefined;
  private stopSweeper: () => void = () => {};

  constructor(
    readonly backend: StorageBackend,
    options: StorageServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.retentionMillis = options.unnamedRetentionMillis ?? DEFAULT_UNNAMED_RETENTION_MILLIS;
    this.sweepIntervalMillis = options.sweepIntervalMillis ?? DEFAULT_SWEEP_INTERVAL_MILLIS;
    this.readOnly = options.readOnly === true;
    this.sweepEnabled = options.sweep !== false && !this.readOnly;
    this.usage = new StoreUsage({
      catalog: () => this.backend.catalog,
      storeChanges: this.storeChanges,
      now: this.now,
      readOnly: this.readOnly,
      flushMillis: options.metadataFlushMillis ?? 5000,
    });
  }

  // ---- lifecycle -------------------------------------------------------------------

  open(): Promise<void> {
    this.opening ??= this.backend.open().then(
      async () => {
        if (!this.sweepEnabled) return;
        await this.sweep();
        this.stopSweeper = startSweeper(() => this.sweep(), this.sweepIntervalMillis);
      },
      (error) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  async close(): Promise<void> {
    this.stopSweeper();
    this.stopSweeper = () => {};
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.storeChanges.run(async () => {});
    await this.usage.flush();
    await this.backend.close();
    this.opening = undefined;
  }

  /** Throws unless the storage can serve now (see `StorageBackend.checkReady`). */
  async checkReady(): Promise<void> {
    await this.open();
    await this.backend.checkReady?.(this.readOnly);
  }

  /** The backend's signing secret (see `StorageBackend.loadOrCreateSecret`), `null` when it keeps none. */
  async loadOrCreateSigningSecret(): Promise<Buffer | null> {
    await this.open();
    if (!this.backend.loadOrCreateSecret) return null;
    this.assertWritable();
    return this.backend.loadOrCreateSecret();
  }

  // ---- stores ------------------------------------------------------------------------

  async listStores(options: ListStoresOptions = {}): Promise<ListStoresResult> {
    await this.open();
    const offset = resolveOffset(options.offset);
    const limit = resolveLimit(options.limit);
    const desc = options.desc === true;
    const matching: StoreInfo[] = [];
    for await (const info of this.backend.catalog.list()) {
      if (options.userId !== undefined && info.userId !== options.userId) continue;
      if (!options.unnamed && info.name === null) continue;
      matching.push(info);
    }
    matching.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (desc) matching.reverse();
    const items = matching.slice(offset, offset + limit).map((info) => this.usage.apply(info));
    return { total: matching.length, offset, limit, desc, count: items.length, items };
  }

  async getOrCreateStore(args: { name?: string; user: StorageUser }): Promise<{ store: StoreInfo; created: boolean }> {
    await this.open();
    const { name, user } = args;
    if (name !== undefined) assertValidStoreName(name);
    this.assertWritable();
    return this.storeChanges.run(async () => {
      const catalog = this.backend.catalog;
      if (name !== undefined) {
        const existing = await catalog.findByName(user.id, name);
        if (existing) return { store: this.usage.touched(existing), created: false };
      }
      const now = new Date(this.now());
      const info: StoreInfo = {
        id: await this.newStoreId(),
        name: name ?? null,
        userId: user.id,
        username: user.username,
        createdAt: now,
        modifiedAt: now,
        accessedAt: now,
        generalAccess: DEFAULT_GENERAL_ACCESS,
        stats: emptyStats(),
        // Only unnamed stores made here ever expire.
        ...(name === undefined ? { temporary: true } : {}),
      };
      try {
        await catalog.create(info);
      } catch (error) {
        // Another process made a store of that name meanwhile: that one is the answer.
        if (name === undefined || (error as StorageError).code !== 'name-not-unique') throw error;
        const existing = await catalog.findByName(user.id, name);
        if (!existing) throw error;
        return { store: this.usage.touched(existing), created: false };
      }
      return { store: cloneStoreInfo(info), created: true };
    });
  }

  async getStore(storeRef: string, user: StorageUser = LOCAL_USER): Promise<StoreInfo | null> {
    await this.open();
    const info = await this.resolveRef(storeRef, user);
    return info && this.usage.touched(info);
  }

  /**
   * The store with exactly this name (not parsed as a reference: names found on disk may hold
   * `~` or other characters a reference gives a meaning), or `null`.
   */
  async getStoreByName(name: string, user: StorageUser = LOCAL_USER): Promise<StoreInfo | null> {
    await this.open();
    if (typeof name !== 'string' || name === '') return null;
    const info = await this.backend.catalog.findByName(user.id, name);
    return info && this.usage.touched(info);
  }

  async updateStore(
    storeId: string,
    changes: { name?: string | null; generalAccess?: GeneralAccess },
  ): Promise<StoreInfo> {
    await this.open();
    if (changes.name !== undefined && changes.name !== null) assertValidStoreName(changes.name);
    if (changes.generalAccess !== undefined && !GENERAL_ACCESS_VALUES.includes(changes.generalAccess)) {
      throw new StorageError('invalid-input', `generalAccess must be one of ${GENERAL_ACCESS_VALUES.join(', ')}.`);
    }
    this.assertWritable();
    return this.storeChanges.run(async () => {
      const info = this.usage.apply(await this.requireStore(storeId));
      if (changes.name !== undefined && changes.name !== info.name) {
        const newName = changes.name;
        if (newName !== null && (await this.backend.catalog.findByName(info.userId, newName))) {
          throw new StorageError('name-not-unique', `A key-value store named "${newName}" already exists.`);
        }
        info.name = newName;
      }
      if (changes.generalAccess !== undefined) info.generalAccess = changes.generalAccess;
      const now = new Date(this.now());
      info.accessedAt = now;
      info.modifiedAt = now;
      // Saved now, with whatever usage was pending.
      this.usage.forget(storeId);
      await this.backend.catalog.save(info);
      return cloneStoreInfo(info);
    });
  }

  async deleteStore(storeId: string): Promise<boolean> {
    await this.open();
    this.assertWritable();
    return this.storeChanges.run(async () => {
      this.usage.forget(storeId);
      return this.backend.catalog.remove(storeId);
    });
  }

  async sweepExpired(): Promise<string[]> {
    await this.open();
    if (this.readOnly) return [];
    return this.sweep();
  }

  private async sweep(): Promise<string[]> {
    const expired: string[] = [];
    for await (const info of this.backend.catalog.list()) {
      if (isExpired(this.usage.apply(info), this.now(), this.retentionMillis)) expired.push(info.id);
    }
    const removed: string[] = [];
    for (const id of expired) {
      await this.storeChanges.run(async () => {
        // Checked again: the store may have been accessed or renamed meanwhile.
        const info = await this.backend.catalog.get(id);
        if (!info || !isExpired(this.usage.apply(info), this.now(), this.retentionMillis)) return;
        this.usage.forget(id);
        if (await this.backend.catalog.remove(id)) removed.push(id);
      });
    }
    return removed;
  }

  // ---- records -----------------------------------------------------------------------

  async listKeys(storeId: string, options: ListKeysOptions = {}): Promise<ListKeysResult> {
    await this.open();
    const limit = resolveLimit(options.limit);
    assertOptionalString(options.exclusiveStartKey, 'exclusiveStartKey');
    assertOptionalString(options.prefix, 'prefix');
    await this.requireStore(storeId);
    const page = await this.backend.records(storeId).list({ prefix: options.prefix, after: options.exclusiveStartKey, limit });
    this.usage.recordUse(storeId, 'listCount');
    const items = page.items.map(({ key, size }) => ({ key, size }));
    return {
      items,
      count: items.length,
      limit,
      exclusiveStartKey: options.exclusiveStartKey ?? null,
      isTruncated: page.next !== null,
      nextExclusiveStartKey: page.next,
    };
  }

  async getRecord(storeId: string, key: string): Promise<StoredRecord | null> {
    await this.open();
    assertValidKey(key);
    await this.requireStore(storeId);
    const record = await this.backend.records(storeId).get(key);
    this.usage.recordUse(storeId, 'readCount');
    return record;
  }

  get checksMd5(): boolean {
    return this.backend.checksMd5 === true;
  }

  async putRecord(
    storeId: string,
    key: string,
    body: Readable | Uint8Array,
    options: PutRecordOptions,
  ): Promise<RecordInfo> {
    // Until the body is read, keep an early stream error (an aborted upload) from going
    // unhandled; it still fails the write, as the reader sees the stream errored.
    const ignoreEarlyError = () => {};
    if (body instanceof Readable) body.on('error', ignoreEarlyError);
    try {
      return await this.putRecordNow(storeId, key, body, options);
    } finally {
      if (body instanceof Readable) body.off('error', ignoreEarlyError);
    }
  }

  private async putRecordNow(
    storeId: string,
    key: string,
    body: Readable | Uint8Array,
    options: PutRecordOptions,
  ): Promise<RecordInfo> {
    await this.open();
    assertValidKey(key);
    if (typeof options?.contentType !== 'string' || options.contentType.trim() === '') {
      throw new StorageError('invalid-input', 'A record needs a content type.');
    }
    if (options.maxBytes !== undefined && !(options.maxBytes >= 0)) {
      throw new StorageError('invalid-input', 'maxBytes must be a non-negative number.');
    }
    this.assertWritable();
    await this.requireStore(storeId);
    return this.track(async () => {
      const size = body instanceof Uint8Array ? body.byteLength : undefined;
      const { sizeDelta, ...info } = await this.backend
        .records(storeId)
        .put(key, { stream: body, size, maxBytes: options.maxBytes, md5: options.md5 }, options.contentType, options.conditions);
      this.usage.recordUse(storeId, 'writeCount', sizeDelta, true);
      return info;
    });
  }

  async deleteRecord(storeId: string, key: string, options: { conditions?: WriteConditions } = {}): Promise<boolean> {
    await this.open();
    assertValidKey(key);
    this.assertWritable();
    await this.requireStore(storeId);
    return this.track(async () => {
      const removedSize = await this.backend.records(storeId).delete(key, options.conditions);
      this.usage.recordUse(storeId, 'deleteCount', -(removedSize ?? 0), removedSize !== null);
      return removedSize !== null;
    });
  }

  // ---- store references ----------------------------------------------------------------

  /**
   * Id, `username~name`, `~name` (the given user's) or a bare name of the given user.
   * Names are matched as stored, so stores with names the API would not accept for a new
   * store (Crawlee's `my_store`) are found too.
   */
  private async resolveRef(storeRef: string, user: StorageUser): Promise<StoreInfo | null> {
    if (typeof storeRef !== 'string') return null;
    const ref = parseStoreRef(storeRef);
    if (!ref) return null;
    const catalog = this.backend.catalog;
    if (ref.kind === 'name') {
      return ref.username === undefined ? catalog.findByName(user.id, ref.name) : catalog.findByUsername(ref.username, ref.name);
    }
    return (await catalog.get(ref.id)) ?? catalog.findByName(user.id, ref.id);
  }

  private async requireStore(storeId: unknown): Promise<StoreInfo> {
    const info = typeof storeId === 'string' && storeId !== '' ? await this.backend.catalog.get(storeId) : null;
    if (!info) throw new StorageError('store-not-found', `Key-value store "${String(storeId)}" was not found.`);
    return info;
  }

  private async newStoreId(): Promise<string> {
    let id: string;
    do id = randomId();
    while (await this.backend.catalog.get(id));
    return id;
  }

  private assertWritable(): void {
    if (this.readOnly) throw new StorageError('read-only', 'This storage was opened read-only.');
  }

  /** Saves all pending usage now; waits for a save already under way. */
  flush(): Promise<void> {
    return this.usage.flush();
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const promise = fn();
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}
