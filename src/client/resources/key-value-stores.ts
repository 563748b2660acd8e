/**
 * The key-value-store resource: one method = one REST call of `/v2/key-value-stores`, all sent
 * through the HTTP layer. (`putRecord` of a body over the payload limit takes two calls: it asks
 * for a direct-upload URL, then uploads there.)
 */
import { decodeBody, encodeBody, parseEnvelope, type PreparedBody } from '../body.js';
import { readConsistently, type ConsistencyJournal, type ReadOutcome } from '../http/consistency.js';
import { ApifyArgumentError, isApifyApiError } from '../http/errors.js';
import { encodePathSegment, type CallOptions, type HttpClient, type HttpResponse } from '../http/http-client.js';
import { platform } from '../platform/node.js';
import type {
  DeleteRecordOptions,
  DeleteStoreOptions,
  GetOrCreateStoreOptions,
  GetRecordOptions,
  GetStoreOptions,
  IterateKeysOptions,
  KeyValueStore,
  KeyValueStoreKey,
  KeyValueStoreKeys,
  KeyValueStoreRecord,
  ListKeysOptions,
  ListStoresOptions,
  PaginatedList,
  PutRecordOptions,
  RecordBytes,
  RecordExistsOptions,
  RecordStream,
  UpdateStoreOptions,
} from '../types.js';
import {
  checkDuration,
  checkInteger,
  checkOptionalString,
  checkRecordKey,
  checkStoreId,
  checkStoreName,
} from '../validation.js';

const STORES_PATH = '/v2/key-value-stores';
const GENERAL_ACCESS = ['RESTRICTED', 'ANYONE_WITH_ID_CAN_READ', 'ANYONE_WITH_NAME_CAN_READ', 'FOLLOW_USER_SETTING'];

/** What the resource needs from its client. @internal */
export interface ResourceContext {
  http: HttpClient;
  journal: ConsistencyJournal;
  /** The client's default store id. */
  defaultStoreId: () => string | undefined;
  /** Bodies larger than this go through a direct-upload URL. */
  maxPayloadBytes: () => number;
  /** Base URL, to resolve a relative upload URL. */
  baseUrl: string;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function storePath(storeId: string): string {
  return `${STORES_PATH}/${encodePathSegment(storeId)}`;
}

function recordPath(storeId: string, key: string): string {
  return `${storePath(storeId)}/records/${encodePathSegment(key)}`;
}

function isNotFound(error: unknown): boolean {
  return isApifyApiError(error) && error.statusCode === 404;
}

/** Picks and checks the per-call options. */
function callOptions(options: CallOptions): CallOptions {
  checkInteger(options.maxRetries, 'maxRetries', 0, 100);
  const timeoutSecs = checkDuration(options.timeoutSecs, 'timeoutSecs');
  if (timeoutSecs === 0) throw new ApifyArgumentError('timeoutSecs', 'timeoutSecs must be greater than 0');
  return { signal: options.signal, timeoutSecs: options.timeoutSecs, maxRetries: options.maxRetries };
}

function requireOptions<T>(options: T | undefined, method: string): T {
  if (typeof options !== 'object' || options === null) {
    throw new ApifyArgumentError('options', `${method} needs an options object`);
  }
  return options;
}

/** Parses a store object's date fields. */
function toStore(raw: Record<string, unknown>): KeyValueStore {
  const store = { ...raw } as Record<string, unknown>;
  for (const field of ['createdAt', 'modifiedAt', 'accessedAt']) {
    if (typeof store[field] === 'string') store[field] = new Date(store[field] as string);
  }
  return store as KeyValueStore;
}

/** Methods for key-value stores and their records. Get it as `client.keyValueStores`. */
export class KeyValueStoresClient {
  /** @internal */
  constructor(private readonly ctx: ResourceContext) {}

  /** Store id from the options, else the client's default; a clear error when there is none. */
  private storeIdOf(storeId: string | undefined): string {
    const id = storeId ?? this.ctx.defaultStoreId();
    if (id === undefined) {
      throw new ApifyArgumentError(
        'storeId',
        'no storeId given and the client has no default: pass storeId, or set it with new ApifyClient({ storeId }) or client.setOptions({ storeId })',
      );
    }
    return checkStoreId(id);
  }

  /** Remembers that a store exists (or not), under its id and its `username~name`. */
  private noteStore(store: KeyValueStore | undefined, storeId: string | undefined, exists: boolean): void {
    const at = this.ctx.now();
    const ids = new Set<string>();
    if (storeId) ids.add(storeId);
    if (store?.id) ids.add(store.id);
    if (store?.username && store.name) ids.add(`${store.username}~${store.name}`);
    for (const id of ids) this.ctx.journal.note(id, undefined, exists ? { exists: true, at } : { exists: false, at });
  }

  /** Runs a read through the consistency journal (see `consistency.ts`). */
  private consistentRead(
    storeId: string,
    key: string | undefined,
    waitMillis: number,
    signal: AbortSignal | undefined,
    read: () => Promise<HttpResponse | null>,
    outcome: (response: HttpResponse | null) => ReadOutcome,
    discard?: (response: HttpResponse | null) => void,
  ): Promise<HttpResponse | null> {
    const note = this.ctx.journal.get(storeId, key);
    return readConsistently({
      read,
      outcome,
      note,
      noteDeadline: note ? this.ctx.journal.deadline(note) : 0,
      waitMillis,
      discard,
      signal,
      now: this.ctx.now,
      sleep: this.ctx.sleep,
    });
  }

  /**
   * Gets the store with this name, creating it if there is none (`POST /v2/key-value-stores?name=`).
   * Without a name, creates a new unnamed store (such a request is never repeated blindly).
   */
  async getOrCreateStore(options: GetOrCreateStoreOptions = {}): Promise<KeyValueStore> {
    const call = callOptions(options);
    const name = options.storeName === undefined ? undefined : checkStoreName(options.storeName);
    const response = await this.ctx.http.request({
      method: 'POST',
      path: STORES_PATH,
      query: { name },
      idempotent: name !== undefined,
      call,
    });
    const store = toStore(parseEnvelope(response.bytes));
    this.noteStore(store, undefined, true);
    return store;
  }

  /** Lists the token owner's stores (`GET /v2/key-value-stores`), one page. */
  async listStores(options: ListStoresOptions = {}): Promise<PaginatedList<KeyValueStore>> {
    const call = callOptions(options);
    const offset = checkInteger(options.offset, 'offset', 0);
    const limit = checkInteger(options.limit, 'limit', 1);
    if (options.ownership !== undefined && options.ownership !== 'ownedByMe' && options.ownership !== 'sharedWithMe') {
      throw new ApifyArgumentError('ownership', 'ownership must be "ownedByMe" or "sharedWithMe"');
    }
    const response = await this.ctx.http.request({
      method: 'GET',
      path: STORES_PATH,
      query: { offset, limit, desc: options.desc, unnamed: options.unnamed, ownership: options.ownership },
      call,
    });
    const list = parseEnvelope<PaginatedList<Record<string, unknown>>>(response.bytes);
    return { ...list, items: (list.items ?? []).map(toStore) };
  }

  /** Gets a store (`GET /v2/key-value-stores/{storeId}`); `null` when there is none. */
  async getStore(options: GetStoreOptions = {}): Promise<KeyValueStore | null> {
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const waitMillis = checkDuration(options.waitMillis, 'waitMillis') ?? 0;
    const response = await this.consistentRead(
      storeId,
      undefined,
      waitMillis,
      call.signal,
      () => this.ctx.http.request({ method: 'GET', path: storePath(storeId), call }).catch(nullOn404),
      (res) => ({ exists: res !== null }),
    );
    return response ? toStore(parseEnvelope(response.bytes)) : null;
  }

  /** Renames a store or changes its access (`PUT /v2/key-value-stores/{storeId}`). */
  async updateStore(options: UpdateStoreOptions): Promise<KeyValueStore> {
    requireOptions(options, 'updateStore');
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const changes = requireOptions(options.store, 'updateStore: store');
    const body: Record<string, unknown> = {};
    if (changes.name !== undefined) body.name = changes.name === null ? null : checkStoreName(changes.name, 'store.name');
    if (changes.generalAccess !== undefined) {
      if (!GENERAL_ACCESS.includes(changes.generalAccess)) {
        throw new ApifyArgumentError('store.generalAccess', `store.generalAccess must be one of ${GENERAL_ACCESS.join(', ')}`);
      }
      body.generalAccess = changes.generalAccess;
    }
    const response = await this.ctx.http.request({
      method: 'PUT',
      path: storePath(storeId),
      body: await encodeBody(body),
      call,
    });
    const store = toStore(parseEnvelope(response.bytes));
    this.noteStore(store, undefined, true);
    return store;
  }

  /** Deletes a store and all its records (`DELETE /v2/key-value-stores/{storeId}`). A missing store is not an error. */
  async deleteStore(options: DeleteStoreOptions): Promise<void> {
    requireOptions(options, 'deleteStore');
    const call = callOptions(options);
    // Deliberately no fallback to the default store: deleting must name its target.
    const storeId = checkStoreId(options.storeId);
    await this.ctx.http.request({ method: 'DELETE', path: storePath(storeId), call }).catch(nullOn404);
    this.noteStore(undefined, storeId, false);
  }

  /**
   * Reads a record (`GET .../records/{key}`); `null` when there is none. The body is decoded by
   * its content type (JSON parsed, text as a string, anything else as bytes), or returned as raw
   * bytes with `disableBodyParser`, or as an unread stream with `stream`.
   */
  getRecord(options: GetRecordOptions & { stream: true }): Promise<KeyValueStoreRecord<RecordStream> | null>;
  getRecord(options: GetRecordOptions & { disableBodyParser: true }): Promise<KeyValueStoreRecord<RecordBytes> | null>;
  getRecord<Body = unknown>(options: GetRecordOptions): Promise<KeyValueStoreRecord<Body> | null>;
  async getRecord(options: GetRecordOptions): Promise<KeyValueStoreRecord<unknown> | null> {
    requireOptions(options, 'getRecord');
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const key = checkRecordKey(options.key);
    const waitMillis = checkDuration(options.waitMillis, 'waitMillis') ?? 0;
    const stream = options.stream === true;
    const response = await this.consistentRead(
      storeId,
      key,
      waitMillis,
      call.signal,
      () =>
        this.ctx.http
          .request({
            method: 'GET',
            path: recordPath(storeId, key),
            query: { attachment: options.attachment || undefined },
            responseType: stream ? 'stream' : 'bytes',
            call,
          })
          .catch(nullOn404),
      (res) =>
        res === null
          ? { exists: false }
          : { exists: true, etag: res.header('etag'), digest: stream ? undefined : () => platform.digest(res.bytes) },
      (res) => {
        if (res && stream) platform.discardStream(res.stream);
      },
    );
    if (!response) return null;
    const contentType = response.header('content-type') ?? 'application/octet-stream';
    let body: unknown;
    if (stream) body = platform.userStream(response.stream);
    else if (options.disableBodyParser) body = platform.userBytes(response.bytes);
    else body = decodeBody(response.bytes, contentType);
    return { key, body, contentType };
  }

  /**
   * Stores a record (`PUT .../records/{key}`). Bodies of 1 KiB or more are gzip-compressed in
   * Node. A body over `maxPayloadBytes`, or one the server refuses as too large (413), is uploaded
   * through a direct-upload URL when the server offers one.
   */
  async putRecord(options: PutRecordOptions): Promise<void> {
    requireOptions(options, 'putRecord');
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const key = checkRecordKey(options.key);
    const body = await encodeBody(options.body, checkOptionalString(options.contentType, 'contentType'));
    const size = body.bytes ? body.bytes.byteLength : await body.stream!.size();
    const large = size !== undefined && size > this.ctx.maxPayloadBytes();
    let uploaded = large && (await this.directUpload(storeId, key, body, call));
    let etag: string | undefined;
    if (!uploaded) {
      try {
        const response = await this.ctx.http.request({
          method: 'PUT',
          path: recordPath(storeId, key),
          body,
          compress: true,
          call,
        });
        etag = response.header('etag');
      } catch (error) {
        // The server's limit may be lower than ours: a body that can be sent again goes the direct way.
        const replayable = body.bytes !== undefined || body.stream?.replayable === true;
        const tooLarge = isApifyApiError(error) && error.statusCode === 413;
        if (!tooLarge || !replayable || large) throw error;
        uploaded = await this.directUpload(storeId, key, body, call);
        if (!uploaded) throw error;
      }
    }
    this.ctx.journal.note(storeId, key, {
      exists: true,
      at: this.ctx.now(),
      etag,
      digest: body.bytes && this.ctx.journal.enabled ? platform.digest(body.bytes) : undefined,
    });
  }

  /**
   * Uploads a large body to a signed URL the server hands out. Returns false when the server has
   * no such endpoint (404), so the caller falls back to a plain PUT.
   */
  private async directUpload(storeId: string, key: string, body: PreparedBody, call: CallOptions): Promise<boolean> {
    let signedUrl: unknown;
    try {
      const response = await this.ctx.http.request({
        method: 'GET',
        path: `${recordPath(storeId, key)}/direct-upload-url`,
        call,
      });
      signedUrl = parseEnvelope<{ signedUrl?: unknown } | undefined>(response.bytes)?.signedUrl;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
    if (typeof signedUrl !== 'string' || signedUrl === '') return false;
    // The signed URL carries its own authorisation: the token is not sent there.
    const url = new URL(signedUrl, this.ctx.baseUrl).href;
    await this.ctx.http.request({ method: 'PUT', url, body, call });
    return true;
  }

  /** Deletes a record (`DELETE .../records/{key}`). A missing record is not an error. */
  async deleteRecord(options: DeleteRecordOptions): Promise<void> {
    requireOptions(options, 'deleteRecord');
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const key = checkRecordKey(options.key);
    await this.ctx.http.request({ method: 'DELETE', path: recordPath(storeId, key), call }).catch(nullOn404);
    this.ctx.journal.note(storeId, key, { exists: false, at: this.ctx.now() });
  }

  /** Whether a record exists (`HEAD .../records/{key}`). */
  async recordExists(options: RecordExistsOptions): Promise<boolean> {
    requireOptions(options, 'recordExists');
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const key = checkRecordKey(options.key);
    const waitMillis = checkDuration(options.waitMillis, 'waitMillis') ?? 0;
    const response = await this.consistentRead(
      storeId,
      key,
      waitMillis,
      call.signal,
      () => this.ctx.http.request({ method: 'HEAD', path: recordPath(storeId, key), call }).catch(nullOn404),
      // HEAD has no body: only the ETag, when the server sends one, can tell versions apart.
      (res) => (res === null ? { exists: false } : { exists: true, etag: res.header('etag') }),
    );
    return response !== null;
  }

  /** Lists one page of keys (`GET .../keys`), in UTF-8 binary order. */
  async listKeys(options: ListKeysOptions = {}): Promise<KeyValueStoreKeys> {
    const call = callOptions(options);
    const storeId = this.storeIdOf(options.storeId);
    const exclusiveStartKey = checkOptionalString(options.exclusiveStartKey, 'exclusiveStartKey');
    const limit = checkInteger(options.limit, 'limit', 1, 1000);
    const prefix = checkOptionalString(options.prefix, 'prefix');
    const collection = checkOptionalString(options.collection, 'collection');
    const response = await this.ctx.http.request({
      method: 'GET',
      path: `${storePath(storeId)}/keys`,
      query: { exclusiveStartKey, limit, prefix, collection },
      call,
    });
    const page = parseEnvelope<Partial<KeyValueStoreKeys>>(response.bytes) ?? {};
    const items = page.items ?? [];
    return {
      items,
      count: page.count ?? items.length,
      limit: page.limit ?? limit ?? 1000,
      exclusiveStartKey: page.exclusiveStartKey ?? null,
      isTruncated: page.isTruncated === true,
      nextExclusiveStartKey: page.nextExclusiveStartKey ?? null,
    };
  }

  /**
   * Iterates over all keys of a store, page by page: `for await (const { key, size } of ...)`.
   * Stops on the last page (`isTruncated: false` or no next key), and also if the server ever
   * hands back a next key that does not move forward.
   */
  async *iterateKeys(options: IterateKeysOptions = {}): AsyncGenerator<KeyValueStoreKey, void, undefined> {
    const { pageSize, exclusiveStartKey, ...rest } = options;
    const limit = checkInteger(pageSize, 'pageSize', 1, 1000);
    let after = checkOptionalString(exclusiveStartKey, 'exclusiveStartKey');
    for (;;) {
      const page = await this.listKeys({ ...rest, exclusiveStartKey: after, limit });
      yield* page.items;
      const next = page.nextExclusiveStartKey;
      if (!page.isTruncated || next === null || next === after) return;
      after = next;
    }
  }
}

/** Turns a 404 into `null`; other errors pass through. */
function nullOn404(error: unknown): null {
  if (isNotFound(error)) return null;
  throw error;
}
