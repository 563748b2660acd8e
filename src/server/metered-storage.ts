/** A storage engine that reports how long each operation took and how it failed (for metrics). */
import type { Readable } from 'node:stream';
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
} from '../storage/types.js';

/** `errorCode` is set when the operation failed: the storage error code, else `error`. */
export type OperationObserver = (operation: string, seconds: number, errorCode?: string) => void;

export class MeteredStorage implements KeyValueStorage {
  constructor(
    readonly inner: KeyValueStorage,
    private readonly observe: OperationObserver,
  ) {}

  /** The engine's backend, for the handlers that use it directly (S3 direct uploads). */
  get backend(): unknown {
    return (this.inner as { backend?: unknown }).backend;
  }

  private async timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
    try {
      const result = await run();
      this.observe(operation, seconds());
      return result;
    } catch (err) {
      this.observe(operation, seconds(), errorCode(err));
      throw err;
    }
  }

  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async checkReady(): Promise<void> {
    await this.inner.checkReady?.();
  }
  loadOrCreateSigningSecret(): Promise<Buffer | null> {
    return this.inner.loadOrCreateSigningSecret?.() ?? Promise.resolve(null);
  }
  listStores(options?: ListStoresOptions): Promise<ListStoresResult> {
    return this.timed('listStores', () => this.inner.listStores(options));
  }
  getOrCreateStore(args: { name?: string; user: StorageUser }): Promise<{ store: StoreInfo; created: boolean }> {
    return this.timed('getOrCreateStore', () => this.inner.getOrCreateStore(args));
  }
  getStore(storeRef: string, user?: StorageUser): Promise<StoreInfo | null> {
    return this.timed('getStore', () => this.inner.getStore(storeRef, user));
  }
  updateStore(storeId: string, changes: { name?: string | null; generalAccess?: GeneralAccess }): Promise<StoreInfo> {
    return this.timed('updateStore', () => this.inner.updateStore(storeId, changes));
  }
  deleteStore(storeId: string): Promise<boolean> {
    return this.timed('deleteStore', () => this.inner.deleteStore(storeId));
  }
  listKeys(storeId: string, options?: ListKeysOptions): Promise<ListKeysResult> {
    return this.timed('listKeys', () => this.inner.listKeys(storeId, options));
  }
  getRecord(storeId: string, key: string): Promise<StoredRecord | null> {
    return this.timed('getRecord', () => this.inner.getRecord(storeId, key));
  }
  get checksMd5(): boolean | undefined {
    return this.inner.checksMd5;
  }
  putRecord(
    storeId: string,
    key: string,
    body: Readable | Uint8Array,
    options: PutRecordOptions,
  ): Promise<RecordInfo> {
    return this.timed('putRecord', () => this.inner.putRecord(storeId, key, body, options));
  }
  deleteRecord(storeId: string, key: string, options?: { conditions?: WriteConditions }): Promise<boolean> {
    return this.timed('deleteRecord', () => this.inner.deleteRecord(storeId, key, options));
  }
  sweepExpired(): Promise<string[]> {
    return this.timed('sweepExpired', () => this.inner.sweepExpired());
  }
}

/** By name and code, not `instanceof`, as in errors.ts (copies of the module may coexist). */
function errorCode(err: unknown): string {
  const { name, code } = (err ?? {}) as { name?: string; code?: unknown };
  if (name === 'StorageError' && typeof code === 'string') return code;
  if (name === 'PayloadTooLargeError') return 'payload-too-large';
  if (name === 'IntegrityMismatchError') return 'integrity-mismatch';
  return 'error';
}
