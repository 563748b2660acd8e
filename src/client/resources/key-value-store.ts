/**
 * A client bound to one store, with apify-client v2's names and results
 * (`client.keyValueStore(id)`). Its `@internal` methods are the one implementation of each REST
 * call: the seed's flat `keyValueStores` API calls them too. A record's read and write are
 * modules of their own (`record-read.ts`, `record-write.ts`).
 */
import { encodeBody } from '../body.js';
import { ApifyArgumentError, isApifyApiError } from '../http/errors.js';
import { encodePathSegment, type CallOptions, type HttpMethod, type HttpRequest, type HttpResponse } from '../http/http-client.js';
import type {
  KeysPublicUrlOptions,
  KeyValueStore,
  KeyValueStoreKey,
  KeyValueStoreKeys,
  KeyValueStoreRecordWithBody,
  PaginatedIterator,
  StoreDeleteRecordOptions,
  StoreGetRecordOptions,
  StoreListKeysOptions,
  StoreSetRecordOptions,
  KeyValueStoreRecord,
  StoreRecordInput,
  StoreUpdate,
  WaitOptions,
} from '../types.js';
import type { JsonValue, KeyValueClientListKeysResult, KeyValueListItem, ReturnTypeFromOptions } from '../v2-types.js';
import type { BulkInput, BulkOptions, BulkRecordInput, BulkResult } from './bulk.js';
import { CONDITION_OPTION_NAMES, conditionHeaders, noteFeatures, requireConditionalWrites } from './conditions.js';
import { iterateKeyPages } from './key-pages.js';
import { keysPublicUrl, recordPublicUrl, type SigningKey } from './public-urls.js';
import { readRecord, type RecordRead } from './record-read.js';
import { writeRecord, type RecordWrite } from './record-write.js';
import { checkDuration, checkInteger, checkOptionalString, checkRecordKey, checkStoreId, checkStoreName } from '../validation.js';
import { callOptions, checkKnownOptions, nullOn404, paginate, STORES_PATH, toStore, type ResourceContext } from './context.js';
import { GENERAL_ACCESS_VALUES, isGeneralAccess } from '../../rules.js';

/** The query of one page of keys. @internal */
export interface KeysQuery {
  exclusiveStartKey?: string;
  limit?: number;
  prefix?: string;
  collection?: string;
  signature?: string;
}

const C = 'KeyValueStoreClient';
/** Option names of `listKeys` (apify-client v2's). */
const LIST_KEYS_OPTIONS = ['limit', 'exclusiveStartKey', 'collection', 'prefix', 'signature'];

/**
 * The bulk methods, defined by `installBulkMethods` (bulk-methods.ts): in Node they are always
 * there; a browser page gets them by importing `apify-kv-client/browser/bulk` once.
 */
export interface KeyValueStoreClient {
  /**
   * Stores many records, `concurrency` at a time (8 by default), pulling them from `records` (any
   * iterable or async iterable) only as calls finish: `for await (const r of store.putRecords(items))`
   * yields `{ key, ok: true }` or `{ key, ok: false, error }` per record, in completion order.
   */
  putRecords(records: BulkInput<BulkRecordInput>, options?: BulkOptions): AsyncGenerator<BulkResult>;
  /** Reads many records as `putRecords` writes them: `{ key, ok: true, record }`, `record` undefined when there is none. */
  getRecords(keys: BulkInput<string>, options?: BulkOptions): AsyncGenerator<BulkResult<{ record: KeyValueStoreRecord<JsonValue> | undefined }>>;
  /** Deletes many records as `putRecords` writes them; a missing record is not an error. */
  deleteRecords(keys: BulkInput<string>, options?: BulkOptions): AsyncGenerator<BulkResult>;
}

/** Methods for one key-value store and its records. Get it as `client.keyValueStore(id)`. */
export class KeyValueStoreClient {
  /** The store reference: its id, `username~store-name` or `~store-name`. */
  readonly id: string;

  /**
   * `id` may also be `username/store-name`, which apify-client v2 takes for `username~store-name`
   * (only the first `/` is replaced, as v2 does). @internal
   */
  constructor(
    private readonly ctx: ResourceContext,
    id: string,
  ) {
    this.id = checkStoreId(typeof id === 'string' ? id.replace('/', '~') : id);
    this.path = `${STORES_PATH}/${encodePathSegment(this.id)}`;
  }

  /** The store (`GET /v2/key-value-stores/{id}`); `undefined` when there is none. */
  async get(options: CallOptions & WaitOptions = {}): Promise<KeyValueStore | undefined> {
    return (await this.fetchStore(callOptions(options, `${C}.get`, ['waitMillis']), options.waitMillis)) ?? undefined;
  }

  /** Changes the store's name, title or access (`PUT /v2/key-value-stores/{id}`). */
  async update(fields: StoreUpdate, options: CallOptions = {}): Promise<KeyValueStore> {
    return this.changeStore(callOptions(options, `${C}.update`), fields);
  }

  /** Deletes the store and all its records. A missing store is not an error. */
  async delete(options: CallOptions = {}): Promise<void> {
    return this.removeStore(callOptions(options, `${C}.delete`));
  }

  /**
   * One page of keys; also an async iterable of every key from there on, page after page
   * (`limit` then caps the total): `for await (const { key } of store.listKeys())`. As in
   * apify-client v2, `limit` is sent as given (the server answers pages of at most 1000 keys) and
   * 0 means no limit.
   */
  listKeys(options: StoreListKeysOptions = {}): PaginatedIterator<KeyValueClientListKeysResult, KeyValueListItem> {
    return paginate(() => {
      const call = callOptions(options, `${C}.listKeys`, LIST_KEYS_OPTIONS);
      const { exclusiveStartKey, prefix, collection, signature } = options;
      const limit = checkInteger(options.limit, 'limit', 0) || undefined;
      const query: KeysQuery = { exclusiveStartKey, limit, prefix, collection, signature };
      return [this.keysPage(call, query, Infinity), (first) => this.iterateKeys(call, query, first)];
    }) as PaginatedIterator<KeyValueClientListKeysResult, KeyValueListItem>;
  }

  /**
   * A record (`GET .../records/{key}`): `{ key, value, contentType }`, or `undefined` when there is
   * none. The value is decoded by its content type, or raw bytes with `buffer`, or a stream with
   * `stream`.
   */
  getRecord(key: string): Promise<KeyValueStoreRecord<JsonValue> | undefined>;
  getRecord<Options extends StoreGetRecordOptions = StoreGetRecordOptions>(
    key: string,
    options: Options,
  ): Promise<KeyValueStoreRecord<ReturnTypeFromOptions<Options>> | undefined>;
  async getRecord(key: string, options: StoreGetRecordOptions = {}): Promise<KeyValueStoreRecord<unknown> | undefined> {
    const record = await this.readRecord({
      call: callOptions(options, `${C}.getRecord`, ['buffer', 'stream', 'disableRedirect', 'signature', 'waitMillis', 'onDownloadProgress']),
      key: checkRecordKey(key),
      as: options.stream ? 'stream' : options.buffer ? 'bytes' : 'value',
      attachment: true,
      signature: checkOptionalString(options.signature, 'signature'),
      waitMillis: options.waitMillis,
    });
    if (!record) return undefined;
    // The ETag rides along unlisted, so the result still equals apify-client v2's (spread, JSON, deep equality).
    const result = { key: record.key, value: record.body, contentType: record.contentType };
    return Object.defineProperty(result, 'etag', { value: record.etag, enumerable: false });
  }

  /** Whether a record exists (`HEAD .../records/{key}`). */
  async recordExists(key: string, options: CallOptions & WaitOptions = {}): Promise<boolean> {
    return (await this.headRecord(callOptions(options, `${C}.recordExists`, ['waitMillis']), checkRecordKey(key), options.waitMillis)) !== null;
  }

  /**
   * Stores a record (`PUT .../records/{key}`); see `putRecord` of `client.keyValueStores` for bodies.
   * `ifMatch` / `ifNoneMatch` make it conditional (see `StoreSetRecordOptions`).
   */
  async setRecord(record: StoreRecordInput, options: StoreSetRecordOptions = {}): Promise<void> {
    if (typeof record !== 'object' || record === null) throw new ApifyArgumentError('record', 'setRecord needs { key, value }');
    checkKnownOptions(record, `${C}.setRecord`, ['key', 'value', 'contentType', 'contentLength'], 'record');
    const call = callOptions(options, `${C}.setRecord`, [...CONDITION_OPTION_NAMES, 'onUploadProgress']);
    return this.writeRecord({
      call,
      conditions: conditionHeaders(options),
      key: checkRecordKey(record.key),
      value: record.value,
      contentType: checkOptionalString(record.contentType, 'contentType'),
      contentLength: checkInteger(record.contentLength, 'contentLength', 0),
      jsonIndent: 2,
    });
  }

  /** Deletes a record. A missing record is not an error (except with `ifMatch`: then 412). */
  async deleteRecord(key: string, options: StoreDeleteRecordOptions = {}): Promise<void> {
    const call = callOptions(options, `${C}.deleteRecord`, ['ifMatch']);
    return this.removeRecord(call, checkRecordKey(key), conditionHeaders({ ifMatch: options.ifMatch }));
  }

  /**
   * A URL that reads the record. When this client may see the store's `urlSigningSecretKey` (it
   * owns the store), the URL carries a signature that opens it without a token.
   */
  async getRecordPublicUrl(key: string): Promise<string> {
    checkRecordKey(key);
    return recordPublicUrl(this.publicUrl(), key, await this.signingKey());
  }

  /**
   * A URL that lists the store's keys (with the given options). When this client may see the
   * store's signing key, the URL is signed; it expires after `expiresInSecs` when given (in the
   * options, as apify-client v2 takes it, or as the second argument).
   */
  async createKeysPublicUrl(options: KeysPublicUrlOptions = {}, expiresInSecs?: number): Promise<string> {
    if (typeof options !== 'object' || options === null) throw new ApifyArgumentError('options', 'createKeysPublicUrl needs an options object');
    // v2 refuses `signature` here: the URL carries its own (made from the store's signing key).
    checkKnownOptions(options, `${C}.createKeysPublicUrl`, ['limit', 'exclusiveStartKey', 'collection', 'prefix', 'expiresInSecs']);
    const { expiresInSecs: inOptions, ...query } = options;
    const expires = checkDuration(inOptions ?? expiresInSecs, 'expiresInSecs');
    const expiresAt = expires ? this.ctx.now() + expires * 1000 : 0;
    return keysPublicUrl(this.publicUrl(), query, await this.signingKey(), expiresAt);
  }

  private publicUrl(): string {
    return `${this.ctx.publicBaseUrl}${STORES_PATH}/${encodePathSegment(this.id)}`;
  }

  private async signingKey(): Promise<SigningKey | undefined> {
    const store = await this.get();
    const key = store?.urlSigningSecretKey;
    return typeof key === 'string' && key ? { key, storeId: store!.id } : undefined;
  }

  // ---- The REST calls, shared with the flat `keyValueStores` API. ----

  private send(call: CallOptions, method: HttpMethod, path: string, more?: Partial<HttpRequest>): Promise<HttpResponse> {
    return this.ctx.http.request({ method, path, call, ...more });
  }

  /** The store's path, encoded once: every record call starts from it. */
  private readonly path: string;

  private recordPath(key: string): string {
    return `${this.path}/records/${encodePathSegment(key)}`;
  }

  /** `GET` of the store, through the journal; null when there is none. @internal */
  async fetchStore(call: CallOptions, waitMillis?: number): Promise<KeyValueStore | null> {
    const response = await this.ctx.reads.read({
      store: this.id,
      key: undefined,
      waitMillis: checkDuration(waitMillis, 'waitMillis') ?? 0,
      signal: call.signal,
      read: () => this.send(call, 'GET', this.path).catch(nullOn404),
      outcome: (res) => ({ exists: res !== null }),
    });
    noteFeatures(this.ctx.features, response);
    if (!response) return null;
    const store = toStore(response.data());
    this.ctx.reads.learn(store, this.id);
    return store;
  }

  /** `PUT` of the store's fields. @internal */
  async changeStore(call: CallOptions, fields: StoreUpdate): Promise<KeyValueStore> {
    if (typeof fields !== 'object' || fields === null) {
      throw new ApifyArgumentError('store', 'a store update needs an object: { name?, title?, generalAccess? }');
    }
    const { name, title, generalAccess } = fields;
    const body: Record<string, unknown> = {};
    if (name !== undefined) body.name = name === null ? null : checkStoreName(name, 'store.name');
    if (title !== undefined) body.title = title === null ? null : checkOptionalString(title, 'store.title');
    if (generalAccess !== undefined) {
      if (generalAccess !== null && !isGeneralAccess(generalAccess)) {
        throw new ApifyArgumentError('store.generalAccess', `store.generalAccess must be one of ${GENERAL_ACCESS_VALUES.join(', ')}, or null`);
      }
      body.generalAccess = generalAccess;
    }
    // Plain `application/json`, as apify-client v2 labels a store update.
    const response = await this.send(call, 'PUT', this.path, { body: await encodeBody(body, 'application/json') });
    const store = toStore(response.data());
    this.ctx.reads.learn(store, this.id);
    this.ctx.reads.noteWrite(store.id, undefined, { exists: true, at: this.ctx.now() });
    return store;
  }

  /** `DELETE` of the store; its notes go with it, under every reference. @internal */
  async removeStore(call: CallOptions): Promise<void> {
    // Looked up first: once deleted, the store behind an alias can no longer be asked for.
    const storeId = await this.ctx.reads.beforeDelete(this.id, call.signal);
    await this.send(call, 'DELETE', this.path).catch(nullOn404);
    this.ctx.reads.afterDelete(storeId);
  }

  /** `GET` of a record (see `record-read.ts`). @internal */
  readRecord(r: RecordRead): Promise<KeyValueStoreRecordWithBody | null> {
    return readRecord(this.ctx, this.id, this.recordPath(r.key), r);
  }

  /** `PUT` of a record (see `record-write.ts`). @internal */
  writeRecord(w: RecordWrite): Promise<void> {
    return writeRecord(this.ctx, this.id, this.path, this.recordPath(w.key), w);
  }

  /** Throws unless the server honours conditions (learned from its answers, else asked once). */
  private requireConditions(call: CallOptions): Promise<void> {
    return requireConditionalWrites(this.ctx.features, this.ctx.baseUrl, () => this.send(call, 'GET', this.path));
  }

  /** `DELETE` of a record; `conditions` are `If-Match` headers. @internal */
  async removeRecord(call: CallOptions, key: string, conditions?: Record<string, string>): Promise<void> {
    if (conditions) await this.requireConditions(call);
    // A missing record is fine; a missing store is not (its 404 has another type).
    await this.send(call, 'DELETE', this.recordPath(key), { headers: conditions, idempotent: !conditions }).catch((error: unknown) => {
      if (!(isApifyApiError(error) && error.statusCode === 404 && error.type === 'record-not-found')) throw error;
    });
    if (!conditions) this.ctx.reads.noteWrite(this.id, key, { exists: false, at: this.ctx.now() });
  }

  /** `HEAD` of a record, through the journal; null when there is none. @internal */
  headRecord(call: CallOptions, key: string, waitMillis?: number): Promise<HttpResponse | null> {
    return this.ctx.reads.read({
      store: this.id,
      key,
      waitMillis: checkDuration(waitMillis, 'waitMillis') ?? 0,
      signal: call.signal,
      read: () => this.send(call, 'HEAD', this.recordPath(key)).catch(nullOn404),
      // HEAD has no body: only the ETag, when the server sends one, can tell versions apart.
      outcome: (res) => {
        noteFeatures(this.ctx.features, res);
        return res === null ? { exists: false } : { exists: true, etag: res.header('etag') };
      },
    });
  }

  /** One page of keys. @internal */
  async keysPage(call: CallOptions, q: KeysQuery, maxLimit = 1000): Promise<KeyValueStoreKeys> {
    const limit = checkInteger(q.limit, 'limit', 1, maxLimit);
    const query = {
      exclusiveStartKey: checkOptionalString(q.exclusiveStartKey, 'exclusiveStartKey'),
      limit,
      prefix: checkOptionalString(q.prefix, 'prefix'),
      collection: checkOptionalString(q.collection, 'collection'),
      signature: checkOptionalString(q.signature, 'signature'),
    };
    const page = (await this.send(call, 'GET', `${this.path}/keys`, { query })).data<Partial<KeyValueStoreKeys>>();
    const items = page.items ?? [];
    return {
      items,
      count: page.count ?? items.length,
      limit: page.limit ?? Math.min(limit ?? 1000, 1000),
      exclusiveStartKey: page.exclusiveStartKey ?? null,
      isTruncated: page.isTruncated === true,
      nextExclusiveStartKey: page.nextExclusiveStartKey ?? null,
    };
  }

  /** Every key from the query on, page by page (see `iterateKeyPages`). @internal */
  iterateKeys(call: CallOptions, q: KeysQuery & { pageSize?: number }, first?: Promise<KeyValueStoreKeys>): AsyncGenerator<KeyValueStoreKey, void, undefined> {
    return iterateKeyPages(q, (query, maxLimit) => this.keysPage(call, query, maxLimit), first);
  }
}
