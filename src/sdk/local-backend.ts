import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { FileStorage } from '../storage/index.js';
import { StorageService } from '../storage/service.js';
import { LOCAL_USER, type KeyValueStorage, type StoreInfo } from '../storage/types.js';
import type {
  BodySource,
  KeyPage,
  ListKeysArgs,
  RecordBytes,
  RecordDigest,
  RecordStream,
  StorageBackend,
  StoreSummary,
} from './backend.js';
import { md5FromEtag, md5OfStream } from './digest.js';
import { KeyValueStoreError } from './errors.js';

function summarize(info: StoreInfo): StoreSummary {
  return {
    id: info.id,
    name: info.name,
    createdAt: info.createdAt,
    modifiedAt: info.modifiedAt,
    accessedAt: info.accessedAt,
    storageBytes: info.stats.storageBytes,
  };
}

function isStoreMissing(error: unknown): boolean {
  return (error as { name?: unknown; code?: unknown })?.name === 'StorageError' && (error as { code?: unknown }).code === 'store-not-found';
}

/** Writes and listings on a missing store fail the same way as through the API. */
async function onStore<T>(storeId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isStoreMissing(error)) {
      throw new KeyValueStoreError('store-not-found', `Store ${JSON.stringify(storeId)} does not exist.`, { cause: error });
    }
    throw error;
  }
}

/** Reads of a missing store find nothing, as through the API (which answers 404 either way). */
async function orNull<T>(call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (isStoreMissing(error)) return null;
    throw error;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** The file store used in process, no server in between. */
export class LocalBackend implements StorageBackend {
  readonly kind = 'local';
  private opened: Promise<void> | undefined;
  private storage: KeyValueStorage;
  /** Until the first write the folder is opened read-only: reading writes nothing to it. */
  private writable: boolean;
  private upgrading: Promise<void> | undefined;

  constructor(
    readonly location: string,
    storage?: KeyValueStorage,
  ) {
    this.writable = storage !== undefined;
    // Only `apify-kv serve` sweeps expired stores; in-process use never does.
    this.storage = storage ?? new FileStorage({ storageDir: location, readOnly: true, sweep: false });
  }

  private async engine(write = false): Promise<KeyValueStorage> {
    if (write && !this.writable) {
      this.upgrading ??= (async () => {
        if (this.opened) await this.opened.then(() => this.storage.close(), () => undefined);
        this.opened = undefined;
        this.storage = new FileStorage({ storageDir: this.location, sweep: false });
        this.writable = true;
      })();
      await this.upgrading;
    }
    this.opened ??= this.storage.open();
    await this.opened;
    return this.storage;
  }

  async listStores({ unnamed }: { unnamed?: boolean }): Promise<StoreSummary[]> {
    const storage = await this.engine();
    const out: StoreSummary[] = [];
    for (let offset = 0; ; ) {
      const page = await storage.listStores({ offset, limit: 1000, unnamed, userId: LOCAL_USER.id });
      out.push(...page.items.map(summarize));
      offset += page.count;
      if (page.count === 0 || offset >= page.total) return out;
    }
  }

  async getStore(ref: string): Promise<StoreSummary | null> {
    const storage = await this.engine();
    // An id or a reference (`~name`) first, then the name exactly as written: stores found on
    // disk keep names such as `my_store`, `Store.v2` or `crawl~2021` that a reference would
    // read otherwise.
    const info =
      (await storage.getStore(ref, LOCAL_USER)) ??
      (storage instanceof StorageService ? await storage.getStoreByName(ref, LOCAL_USER) : null);
    return info && summarize(info);
  }

  async getOrCreateStore(name: string): Promise<{ store: StoreSummary; created: boolean }> {
    const { store, created } = await (await this.engine(true)).getOrCreateStore({ name, user: LOCAL_USER });
    return { store: summarize(store), created };
  }

  async renameStore(id: string, name: string | null): Promise<StoreSummary> {
    const storage = await this.engine(true);
    return summarize(await onStore(id, () => storage.updateStore(id, { name })));
  }

  async deleteStore(id: string): Promise<boolean> {
    return (await this.engine(true)).deleteStore(id);
  }

  async listKeys(storeId: string, args: ListKeysArgs): Promise<KeyPage> {
    const storage = await this.engine();
    // Local stores have no schema: `collection` is ignored, as Crawlee's local storage ignores it.
    const { exclusiveStartKey, prefix, limit } = args;
    const page = await onStore(storeId, () => storage.listKeys(storeId, { exclusiveStartKey, prefix, limit }));
    return { items: page.items.map(({ key, size }) => ({ key, size })), nextExclusiveStartKey: page.nextExclusiveStartKey };
  }

  private async record(storeId: string, key: string) {
    const storage = await this.engine();
    return orNull(() => storage.getRecord(storeId, key));
  }

  async getRecord(storeId: string, key: string): Promise<RecordBytes | null> {
    for (let attempt = 1; ; attempt++) {
      const record = await this.record(storeId, key);
      if (!record) return null;
      try {
        // Small bodies come with the lookup; a large one is read from the version looked up.
        const body = record.body ?? (await readAll(record.openStream()));
        return { contentType: record.contentType, body, etag: record.etag };
      } catch (error) {
        // Replaced by a concurrent write between the lookup and the read: look again.
        if (attempt < 5 && (error as { code?: unknown })?.code === 'record-not-found') continue;
        throw error;
      }
    }
  }

  async openRecord(storeId: string, key: string): Promise<RecordStream | null> {
    const record = await this.record(storeId, key);
    return record && { contentType: record.contentType, stream: record.openStream() };
  }

  async recordDigest(storeId: string, key: string): Promise<RecordDigest | null> {
    const record = await this.record(storeId, key);
    if (!record) return null;
    // The engine's ETag is the body's quoted md5; read the body only if that ever changes.
    const md5 = md5FromEtag(record.etag) ?? (await md5OfStream(record.openStream())).md5;
    return { contentType: record.contentType, size: record.size, md5 };
  }

  async putRecord(storeId: string, key: string, body: BodySource, contentType: string): Promise<void> {
    const data = Buffer.isBuffer(body) || body instanceof Readable ? body : createReadStream(body.path);
    const storage = await this.engine(true);
    await onStore(storeId, () => storage.putRecord(storeId, key, data, { contentType }));
  }

  async deleteRecord(storeId: string, key: string): Promise<void> {
    const storage = await this.engine(true);
    await orNull(() => storage.deleteRecord(storeId, key)); // like the API: deleting from a missing store is no error
  }

  async putRecordIf(storeId: string, key: string, body: Buffer, contentType: string, etag: string | null): Promise<boolean> {
    const storage = await this.engine(true);
    const conditions = etag === null ? { ifNoneMatch: '*' as const } : { ifMatch: [etag] };
    return unlessPreconditionFailed(() => onStore(storeId, () => storage.putRecord(storeId, key, body, { contentType, conditions })));
  }

  async deleteRecordIf(storeId: string, key: string, etag: string): Promise<boolean> {
    const storage = await this.engine(true);
    return unlessPreconditionFailed(() => onStore(storeId, () => storage.deleteRecord(storeId, key, { conditions: { ifMatch: [etag] } })));
  }

  async recordExists(storeId: string, key: string): Promise<boolean> {
    return (await this.record(storeId, key)) !== null;
  }

  publicUrl(store: StoreSummary, key: string): string {
    // Where Crawlee points: the store's folder (its name, else its id) and the key, without
    // looking at the disk (the file itself has an extension after the key).
    return pathToFileURL(path.join(this.location, 'key_value_stores', store.name ?? store.id, key)).href;
  }

  async recordFileUrl(store: StoreSummary, key: string): Promise<string | undefined> {
    // The record's file as the folder engine finds it on disk (the store's own folder, a hashed
    // name for long keys, the file's real extension); no record, no file to point at.
    const storage = await this.engine();
    if (!(storage instanceof FileStorage)) return undefined;
    const file = await storage.recordFile(store.id, key);
    return file === null ? undefined : pathToFileURL(file).href;
  }

  async close(): Promise<void> {
    if (this.opened) await this.storage.close();
    this.opened = undefined;
  }
}

/** True when `write` went through; false when the storage found its condition failing. */
async function unlessPreconditionFailed(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'precondition-failed') return false;
    throw error;
  }
}
