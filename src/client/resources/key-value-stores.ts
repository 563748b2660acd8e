/**
 * The flat key-value-store API (`client.keyValueStores`): each method names its store in its
 * options (or uses the client's default) and hands the call to the collection client or to the
 * client bound to that store, which hold the one implementation of each REST call.
 */
import { ApifyArgumentError } from '../http/errors.js';
import type { CallOptions, HttpResponse } from '../http/http-client.js';
import type {
  DeleteRecordOptions,
  DeleteStoreOptions,
  GetOrCreateStoreOptions,
  GetRecordInfoOptions,
  GetRecordOptions,
  GetStoreOptions,
  IterateKeysOptions,
  KeyValueStore,
  KeyValueStoreKey,
  KeyValueStoreKeys,
  KeyValueStoreRecordWithBody,
  KeyValueStoreRecordInfo,
  ListKeysOptions,
  ListStoresOptions,
  PaginatedIterator,
  PaginatedList,
  PutRecordOptions,
  RecordBytes,
  RecordExistsOptions,
  RecordStream,
  UpdateStoreOptions,
} from '../types.js';
import { checkInteger, checkOptionalString, checkRecordKey, checkStoreId } from '../validation.js';
import { callOptions, type ResourceContext } from './context.js';
import type { KeyValueStoreCollectionClientGetOrCreateOptions } from '../v2-types.js';
import type { BulkInput, BulkOptions, BulkResult } from './bulk.js';
import { KeyValueStoreClient } from './key-value-store.js';
import { KeyValueStoreCollectionClient } from './store-collection.js';

const C = 'KeyValueStoresClient';

/** Option names of the record methods (besides the per-call options), named once: they are checked on every call. */
const RECORD_OPTIONS = ['storeId', 'key'];
const GET_RECORD_OPTIONS = [...RECORD_OPTIONS, 'stream', 'disableBodyParser', 'attachment', 'waitMillis', 'onDownloadProgress'];
const PUT_RECORD_OPTIONS = [...RECORD_OPTIONS, 'body', 'contentType', 'contentLength', 'onUploadProgress'];
const HEAD_RECORD_OPTIONS = [...RECORD_OPTIONS, 'waitMillis'];

/**
 * The bulk methods, defined by `installBulkMethods` (bulk-methods.ts): in Node they are always
 * there; a browser page gets them by importing `apify-kv-client/browser/bulk` once.
 */
export interface KeyValueStoresClient {
  /**
   * Stores many records `{ key, body, contentType? }`, as `keyValueStore(id).putRecords` does
   * (bounded concurrency, one result per record as an async iterable).
   */
  putRecords(records: BulkInput<Pick<PutRecordOptions, 'key' | 'body' | 'contentType'>>, options?: BulkOptions & { storeId?: string }): AsyncGenerator<BulkResult>;
  /** Reads many records, as `keyValueStore(id).getRecords` does: `{ key, ok: true, record }`, `record` null when there is none. */
  getRecords(keys: BulkInput<string>, options?: BulkOptions & { storeId?: string }): AsyncGenerator<BulkResult<{ record: KeyValueStoreRecordWithBody | null }>>;
  /** Deletes many records, as `keyValueStore(id).deleteRecords` does. */
  deleteRecords(keys: BulkInput<string>, options?: BulkOptions & { storeId?: string }): AsyncGenerator<BulkResult>;
}

/** Methods for key-value stores and their records. Get it as `client.keyValueStores`. */
export class KeyValueStoresClient {
  private readonly collection: KeyValueStoreCollectionClient;
  /** The store client of the last call (it holds nothing but the store's reference). */
  private lastStore: KeyValueStoreClient | undefined;

  /** @internal */
  constructor(private readonly ctx: ResourceContext) {
    this.collection = new KeyValueStoreCollectionClient(ctx);
  }

  /** The client bound to a store: the given one, else the client's default, else a clear error. @internal */
  storeClient(storeId: string | undefined): KeyValueStoreClient {
    const id = storeId ?? this.ctx.defaultStoreId();
    if (id === undefined) {
      throw new ApifyArgumentError(
        'storeId',
        'no storeId given and no default: pass storeId, or set one with new ApifyClient({ storeId }) or client.setOptions({ storeId })',
      );
    }
    // The flat API names its store on every call, most often the same one: its client is kept.
    if (this.lastStore?.id !== id) this.lastStore = new KeyValueStoreClient(this.ctx, id);
    return this.lastStore;
  }

  /** The checked options every record method starts from. */
  private target(options: { storeId?: string; key: string } & CallOptions, method: string, known: readonly string[]) {
    const call = callOptions(options, `${C}.${method}`, known);
    return { call, store: this.storeClient(options.storeId), key: checkRecordKey(options.key) };
  }

  /**
   * Gets the store with this name, creating it if there is none (`POST /v2/key-value-stores?name=`).
   * Without a name, creates a new unnamed store (such a request is never repeated blindly).
   */
  async getOrCreateStore(options: GetOrCreateStoreOptions = {}): Promise<KeyValueStore> {
    const call = callOptions(options, `${C}.getOrCreateStore`, ['storeName', 'schema']);
    return this.collection.create(options.storeName, call, options.schema);
  }

  /** apify-client v2's name of {@link getOrCreateStore}: `getOrCreate(name?, { schema })`. */
  async getOrCreate(name?: string, options: KeyValueStoreCollectionClientGetOrCreateOptions & CallOptions = {}): Promise<KeyValueStore> {
    return this.collection.getOrCreate(name, options);
  }

  /**
   * Lists the token owner's stores (`GET /v2/key-value-stores`): one page, which is also an
   * async iterable of every store from `offset` on (`limit` then caps the total).
   */
  listStores(options: ListStoresOptions = {}): PaginatedIterator<PaginatedList<KeyValueStore>, KeyValueStore> {
    return this.collection.listStores(options, `${C}.listStores`);
  }

  /** apify-client v2's name of {@link listStores}. */
  list(options: ListStoresOptions = {}): PaginatedIterator<PaginatedList<KeyValueStore>, KeyValueStore> {
    return this.collection.listStores(options, `${C}.list`);
  }

  /** Gets a store (`GET /v2/key-value-stores/{storeId}`); `null` when there is none. */
  async getStore(options: GetStoreOptions = {}): Promise<KeyValueStore | null> {
    const call = callOptions(options, `${C}.getStore`, ['storeId', 'waitMillis']);
    return this.storeClient(options.storeId).fetchStore(call, options.waitMillis);
  }

  /** Renames a store, or changes its title or access (`PUT /v2/key-value-stores/{storeId}`). */
  async updateStore(options: UpdateStoreOptions): Promise<KeyValueStore> {
    const call = callOptions(options, `${C}.updateStore`, ['storeId', 'store']);
    if (typeof options.store !== 'object' || options.store === null) {
      throw new ApifyArgumentError('store', 'updateStore needs store: { name?, title?, generalAccess? }');
    }
    return this.storeClient(options.storeId).changeStore(call, options.store);
  }

  /** Deletes a store and all its records (`DELETE /v2/key-value-stores/{storeId}`). A missing store is not an error. */
  async deleteStore(options: DeleteStoreOptions): Promise<void> {
    const call = callOptions(options, `${C}.deleteStore`, ['storeId']);
    // Deliberately no fallback to the default store: deleting must name its target.
    return new KeyValueStoreClient(this.ctx, checkStoreId(options.storeId)).removeStore(call);
  }

  /**
   * Reads a record (`GET .../records/{key}`); `null` when there is none. The body is decoded by
   * its content type (JSON parsed, text as a string, anything else as bytes), or returned as raw
   * bytes with `disableBodyParser`, or as an unread stream with `stream`. A JSON record that does
   * not parse is an `ApifyApiError` of type `invalid-json-record`.
   */
  getRecord(options: GetRecordOptions & { stream: true }): Promise<KeyValueStoreRecordWithBody<RecordStream> | null>;
  getRecord(options: GetRecordOptions & { disableBodyParser: true }): Promise<KeyValueStoreRecordWithBody<RecordBytes> | null>;
  getRecord<Body = unknown>(options: GetRecordOptions): Promise<KeyValueStoreRecordWithBody<Body> | null>;
  async getRecord(options: GetRecordOptions): Promise<KeyValueStoreRecordWithBody<unknown> | null> {
    const { call, store, key } = this.target(options, 'getRecord', GET_RECORD_OPTIONS);
    const as = options.stream === true ? 'stream' : options.disableBodyParser ? 'bytes' : 'value';
    return store.readRecord({ call, key, as, attachment: options.attachment, waitMillis: options.waitMillis });
  }

  /**
   * Stores a record (`PUT .../records/{key}`). Bodies of 1 KiB or more are brotli-compressed in
   * Node. A body over `maxPayloadBytes` (a stream of unknown length is read ahead to find out), or
   * one the server refuses as too large (413), is uploaded through a direct-upload URL when the
   * server offers one.
   */
  async putRecord(options: PutRecordOptions): Promise<void> {
    const { call, store, key } = this.target(options, 'putRecord', PUT_RECORD_OPTIONS);
    return store.writeRecord({
      call,
      key,
      value: options.body,
      contentType: checkOptionalString(options.contentType, 'contentType'),
      contentLength: checkInteger(options.contentLength, 'contentLength', 0),
    });
  }

  /** Deletes a record (`DELETE .../records/{key}`). A missing record is not an error; a missing store is. */
  async deleteRecord(options: DeleteRecordOptions): Promise<void> {
    const { call, store, key } = this.target(options, 'deleteRecord', RECORD_OPTIONS);
    return store.removeRecord(call, key);
  }

  /** `HEAD .../records/{key}`, through the journal; `null` when there is no such record. */
  private async headRecord(options: RecordExistsOptions, method: string): Promise<HttpResponse | null> {
    const { call, store, key } = this.target(options, method, HEAD_RECORD_OPTIONS);
    return store.headRecord(call, key, options.waitMillis);
  }

  /** Whether a record exists (`HEAD .../records/{key}`). */
  async recordExists(options: RecordExistsOptions): Promise<boolean> {
    return (await this.headRecord(options, 'recordExists')) !== null;
  }

  /**
   * A record's content type, size and ETag, without its body (`HEAD .../records/{key}`); `null`
   * when there is none.
   */
  async getRecordInfo(options: GetRecordInfoOptions): Promise<KeyValueStoreRecordInfo | null> {
    const response = await this.headRecord(options, 'getRecordInfo');
    if (!response) return null;
    const length = response.header('content-length');
    return {
      key: options.key,
      contentType: response.header('content-type') ?? 'application/octet-stream',
      // The length of a compressed answer is not the body's.
      size: length && /^\d+$/.test(length) && !response.header('content-encoding') ? Number(length) : undefined,
      etag: response.header('etag'),
    };
  }

  /** Lists one page of keys (`GET .../keys`), in UTF-8 binary order. */
  async listKeys(options: ListKeysOptions = {}): Promise<KeyValueStoreKeys> {
    const call = callOptions(options, `${C}.listKeys`, ['storeId', 'exclusiveStartKey', 'limit', 'prefix', 'collection', 'signature']);
    const { exclusiveStartKey, limit, prefix, collection, signature } = options;
    return this.storeClient(options.storeId).keysPage(call, { exclusiveStartKey, limit, prefix, collection, signature });
  }

  /**
   * Iterates over all keys of a store, page by page: `for await (const { key, size } of ...)`.
   * Stops on the last page (`isTruncated: false` or no next key), and also if the server ever
   * hands back a next key that does not move forward.
   */
  async *iterateKeys(options: IterateKeysOptions = {}): AsyncGenerator<KeyValueStoreKey, void, undefined> {
    const call = callOptions(options, `${C}.iterateKeys`, ['storeId', 'exclusiveStartKey', 'prefix', 'collection', 'pageSize']);
    const pageSize = checkInteger(options.pageSize, 'pageSize', 1, 1000);
    const exclusiveStartKey = checkOptionalString(options.exclusiveStartKey, 'exclusiveStartKey');
    const { prefix, collection } = options;
    yield* this.storeClient(options.storeId).iterateKeys(call, { exclusiveStartKey, prefix, collection, pageSize });
  }
}
