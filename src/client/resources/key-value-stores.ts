/**
 * The key-value-store resource: one method = one REST call of `/v2/key-value-stores`, all sent
 * through the HTTP layer. (`putRecord` of a body over the payload limit takes two calls: it asks
 * for a direct-upload URL, then uploads there.)
 */
import { decodeBody, encodeBody, parseEnvelope, type PreparedBody } from '../body.js';
import { readConsistently, type ConsistencyJournal, type ReadOutcome, type WriteNote } from '../http/consistency.js';
import { ApifyArgumentError, isApifyApiError } from '../http/errors.js';
import {
  encodePathSegment,
  type CallOptions,
  type HttpClient,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
} from '../http/http-client.js';
import { platform } from '../platform/node.js';
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
  KeyValueStoreRecord,
  KeyValueStoreRecordInfo,
  ListKeysOptions,
  ListStoresOptions,
  PaginatedList,
  PutRecordOptions,
  RecordBytes,
  RecordExistsOptions,
  RecordStream,
  UpdateStoreOptions,
  WaitOptions,
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

/** Turns a 404 into `null`; other errors pass through. */
function nullOn404(error: unknown): null {
  if (isNotFound(error)) return null;
  throw error;
}

/** Checks that a method got an options object, then picks and checks its per-call options. */
function callOptions(options: CallOptions | undefined, method: string): CallOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ApifyArgumentError('options', `${method} needs an options object`);
  }
  checkInteger(options.maxRetries, 'maxRetries', 0, 100);
  if (checkDuration(options.timeoutSecs, 'timeoutSecs') === 0) {
    throw new ApifyArgumentError('timeoutSecs', 'timeoutSecs must be greater than 0');
  }
  return { signal: options.signal, timeoutSecs: options.timeoutSecs, maxRetries: options.maxRetries };
}

/** Parses a store object's date fields. */
function toStore(raw: Record<string, unknown>): KeyValueStore {
  const store = { ...raw };
  for (const field of ['createdAt', 'modifiedAt', 'accessedAt']) {
    if (typeof store[field] === 'string') store[field] = new Date(store[field]);
  }
  return store as KeyValueStore;
}

/** A store object from an API answer. */
function storeOf(response: HttpResponse): KeyValueStore {
  return toStore(parseEnvelope(response.bytes));
}

/** Methods for key-value stores and their records. Get it as `client.keyValueStores`. */
export class KeyValueStoresClient {
  /** @internal */
  constructor(private readonly ctx: ResourceContext) {}

  /** Sends one request with the call's options. */
  private send(call: CallOptions, method: HttpMethod, path: string, more?: Partial<HttpRequest>): Promise<HttpResponse> {
    return this.ctx.http.request({ method, path, call, ...more });
  }

  /** Store id from the options, else the client's default; a clear error when there is none. */
  private storeIdOf(storeId: string | undefined): string {
    const id = storeId ?? this.ctx.defaultStoreId();
    if (id === undefined) {
      throw new ApifyArgumentError(
        'storeId',
        'no storeId given and no default: pass storeId, or set one with new ApifyClient({ storeId }) or client.setOptions({ storeId })',
      );
    }
    return checkStoreId(id);
  }

  /** The checked options every record method starts from. */
  private recordTarget(options: { storeId?: string; key: string } & CallOptions, method: string) {
    const call = callOptions(options, method);
    return { call, storeId: this.storeIdOf(options.storeId), key: checkRecordKey(options.key) };
  }

  /** Links the ids a store is known by (its id and its `username~name`) in the journal; returns them. */
  private linkStore(store: KeyValueStore): string[] {
    const ids = [store.id];
    if (store.username && store.name) ids.push(`${store.username}~${store.name}`);
    this.ctx.journal.sameStore(ids);
    return ids;
  }

  /** Remembers that a store exists (or not), under each of its ids. */
  private noteStore(ids: string[], exists: boolean): void {
    for (const id of ids) this.ctx.journal.note(id, undefined, { exists, at: this.ctx.now() } as WriteNote);
  }

  /** Runs a read through the consistency journal (see `consistency.ts`); 404 reads as `null`. */
  private consistentRead(
    options: WaitOptions & CallOptions,
    storeId: string,
    key: string | undefined,
    read: () => Promise<HttpResponse>,
    outcome: (response: HttpResponse | null) => ReadOutcome,
    discard?: (response: HttpResponse | null) => void,
  ): Promise<HttpResponse | null> {
    const note = this.ctx.journal.get(storeId, key);
    return readConsistently({
      read: () => read().catch(nullOn404),
      outcome,
      note,
      noteDeadline: note ? this.ctx.journal.deadline(note) : 0,
      waitMillis: checkDuration(options.waitMillis, 'waitMillis') ?? 0,
      discard,
      signal: options.signal,
      now: this.ctx.now,
      sleep: this.ctx.sleep,
    });
  }

  /**
   * Gets the store with this name, creating it if there is none (`POST /v2/key-value-stores?name=`).
   * Without a name, creates a new unnamed store (such a request is never repeated blindly).
   */
  async getOrCreateStore(options: GetOrCreateStoreOptions = {}): Promise<KeyValueStore> {
    const call = callOptions(options, 'getOrCreateStore');
    const name = options.storeName === undefined ? undefined : checkStoreName(options.storeName);
    const store = storeOf(await this.send(call, 'POST', STORES_PATH, { query: { name }, idempotent: name !== undefined }));
    this.noteStore(this.linkStore(store), true);
    return store;
  }

  /** Lists the token owner's stores (`GET /v2/key-value-stores`), one page. */
  async listStores(options: ListStoresOptions = {}): Promise<PaginatedList<KeyValueStore>> {
    const call = callOptions(options, 'listStores');
    const { desc, unnamed, ownership } = options;
    if (ownership !== undefined && ownership !== 'ownedByMe' && ownership !== 'sharedWithMe') {
      throw new ApifyArgumentError('ownership', 'ownership must be "ownedByMe" or "sharedWithMe"');
    }
    const query = { offset: checkInteger(options.offset, 'offset', 0), limit: checkInteger(options.limit, 'limit', 1), desc, unnamed, ownership };
    const list = parseEnvelope<PaginatedList<Record<string, unknown>>>((await this.send(call, 'GET', STORES_PATH, { query })).bytes);
    return { ...list, items: (list.items ?? []).map(toStore) };
  }

  /** Gets a store (`GET /v2/key-value-stores/{storeId}`); `null` when there is none. */
  async getStore(options: GetStoreOptions = {}): Promise<KeyValueStore | null> {
    const call = callOptions(options, 'getStore');
    const storeId = this.storeIdOf(options.storeId);
    const response = await this.consistentRead(
      options,
      storeId,
      undefined,
      () => this.send(call, 'GET', storePath(storeId)),
      (res) => ({ exists: res !== null }),
    );
    if (!response) return null;
    const store = storeOf(response);
    this.linkStore(store);
    return store;
  }

  /** Renames a store or changes its access (`PUT /v2/key-value-stores/{storeId}`). */
  async updateStore(options: UpdateStoreOptions): Promise<KeyValueStore> {
    const call = callOptions(options, 'updateStore');
    const storeId = this.storeIdOf(options.storeId);
    if (typeof options.store !== 'object' || options.store === null) {
      throw new ApifyArgumentError('store', 'updateStore needs store: { name?, generalAccess? }');
    }
    const { name, generalAccess } = options.store;
    const body: Record<string, unknown> = {};
    if (name !== undefined) body.name = name === null ? null : checkStoreName(name, 'store.name');
    if (generalAccess !== undefined) {
      if (!GENERAL_ACCESS.includes(generalAccess)) {
        throw new ApifyArgumentError('store.generalAccess', `store.generalAccess must be one of ${GENERAL_ACCESS.join(', ')}`);
      }
      body.generalAccess = generalAccess;
    }
    const store = storeOf(await this.send(call, 'PUT', storePath(storeId), { body: await encodeBody(body) }));
    this.noteStore(this.linkStore(store), true);
    return store;
  }

  /** Deletes a store and all its records (`DELETE /v2/key-value-stores/{storeId}`). A missing store is not an error. */
  async deleteStore(options: DeleteStoreOptions): Promise<void> {
    const call = callOptions(options, 'deleteStore');
    // Deliberately no fallback to the default store: deleting must name its target.
    const storeId = checkStoreId(options.storeId);
    await this.send(call, 'DELETE', storePath(storeId)).catch(nullOn404);
    // Its records went with it: reads of them must not wait for versions this client wrote before.
    this.noteStore(this.ctx.journal.forgetStore(storeId), false);
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
    const { call, storeId, key } = this.recordTarget(options, 'getRecord');
    const stream = options.stream === true;
    const response = await this.consistentRead(
      options,
      storeId,
      key,
      () =>
        this.send(call, 'GET', recordPath(storeId, key), {
          query: { attachment: options.attachment || undefined },
          responseType: stream ? 'stream' : 'bytes',
        }),
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
    const body = stream
      ? platform.userStream(response.stream)
      : options.disableBodyParser
        ? platform.userBytes(response.bytes)
        : decodeBody(response.bytes, contentType);
    return { key, body, contentType, etag: response.header('etag') };
  }

  /**
   * Stores a record (`PUT .../records/{key}`). Bodies of 1 KiB or more are gzip-compressed in
   * Node. A body over `maxPayloadBytes`, or one the server refuses as too large (413), is uploaded
   * through a direct-upload URL when the server offers one.
   */
  async putRecord(options: PutRecordOptions): Promise<void> {
    const { call, storeId, key } = this.recordTarget(options, 'putRecord');
    const body = await encodeBody(options.body, checkOptionalString(options.contentType, 'contentType'));
    const size = body.bytes ? body.bytes.byteLength : await body.stream!.size();
    const large = size !== undefined && size > this.ctx.maxPayloadBytes();
    let etag: string | undefined;
    if (!(large && (await this.directUpload(call, storeId, key, body)))) {
      try {
        etag = (await this.send(call, 'PUT', recordPath(storeId, key), { body, compress: true })).header('etag');
      } catch (error) {
        // The server's limit may be lower than ours: a body that can be sent again goes the direct way.
        const replayable = body.bytes !== undefined || body.stream?.replayable === true;
        const tooLarge = isApifyApiError(error) && error.statusCode === 413;
        if (!tooLarge || !replayable || large || !(await this.directUpload(call, storeId, key, body))) throw error;
      }
    }
    // The server's ETag identifies the version; without one, a digest of the bytes does.
    const digest = !etag && body.bytes && this.ctx.journal.enabled ? platform.digest(body.bytes) : undefined;
    this.ctx.journal.note(storeId, key, { exists: true, at: this.ctx.now(), etag, digest });
  }

  /**
   * Uploads a large body to a signed URL the server hands out. Returns false when the server has
   * no such endpoint (404), so the caller falls back to a plain PUT.
   */
  private async directUpload(call: CallOptions, storeId: string, key: string, body: PreparedBody): Promise<boolean> {
    const response = await this.send(call, 'GET', `${recordPath(storeId, key)}/direct-upload-url`).catch(nullOn404);
    const signedUrl = response && parseEnvelope<{ signedUrl?: unknown } | undefined>(response.bytes)?.signedUrl;
    if (typeof signedUrl !== 'string' || signedUrl === '') return false;
    // The signed URL carries its own authorisation: the token is not sent there.
    await this.ctx.http.request({ method: 'PUT', url: new URL(signedUrl, this.ctx.baseUrl).href, body, call });
    return true;
  }

  /** Deletes a record (`DELETE .../records/{key}`). A missing record is not an error. */
  async deleteRecord(options: DeleteRecordOptions): Promise<void> {
    const { call, storeId, key } = this.recordTarget(options, 'deleteRecord');
    await this.send(call, 'DELETE', recordPath(storeId, key)).catch(nullOn404);
    this.ctx.journal.note(storeId, key, { exists: false, at: this.ctx.now() });
  }

  /** `HEAD .../records/{key}`, through the journal; `null` when there is no such record. */
  private headRecord(options: RecordExistsOptions, method: string): Promise<HttpResponse | null> {
    const { call, storeId, key } = this.recordTarget(options, method);
    return this.consistentRead(
      options,
      storeId,
      key,
      () => this.send(call, 'HEAD', recordPath(storeId, key)),
      // HEAD has no body: only the ETag, when the server sends one, can tell versions apart.
      (res) => (res === null ? { exists: false } : { exists: true, etag: res.header('etag') }),
    );
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
    const call = callOptions(options, 'listKeys');
    const storeId = this.storeIdOf(options.storeId);
    const limit = checkInteger(options.limit, 'limit', 1, 1000);
    const query = {
      exclusiveStartKey: checkOptionalString(options.exclusiveStartKey, 'exclusiveStartKey'),
      limit,
      prefix: checkOptionalString(options.prefix, 'prefix'),
      collection: checkOptionalString(options.collection, 'collection'),
    };
    const page = parseEnvelope<Partial<KeyValueStoreKeys>>((await this.send(call, 'GET', `${storePath(storeId)}/keys`, { query })).bytes) ?? {};
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
