import { createHmac } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { DEFAULT_RETRY_POLICY } from '../client/http/retry.js';
import { signatureOfHmac } from '../client/signing.js';
import type { ApifyClient, ProgressCallback } from '../index.js';
import type {
  BodySource,
  KeyPage,
  ListKeysArgs,
  RecordBytes,
  RecordDigest,
  RecordStream,
  RequestSettings,
  TransferWatch,
  StorageBackend,
  StoreSummary,
} from './backend.js';
import { md5FromEtag, md5OfStream } from './digest.js';
import { KeyValueStoreError } from './errors.js';


interface ApiStore {
  id: string;
  name?: string | null;
  createdAt?: string | Date | null;
  modifiedAt?: string | Date | null;
  accessedAt?: string | Date | null;
  stats?: { storageBytes?: number } | null;
  urlSigningSecretKey?: string | null;
}

function toDate(value: string | Date | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function summarize(store: ApiStore): StoreSummary {
  return {
    id: store.id,
    name: store.name ?? null,
    createdAt: toDate(store.createdAt),
    modifiedAt: toDate(store.modifiedAt),
    accessedAt: toDate(store.accessedAt),
    storageBytes: typeof store.stats?.storageBytes === 'number' ? store.stats.storageBytes : null,
    urlSigningSecretKey: typeof store.urlSigningSecretKey === 'string' ? store.urlSigningSecretKey : null,
  };
}

function isNotFound(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'ApifyApiError' &&
    (error as { statusCode?: unknown }).statusCode === 404
  );
}

function toBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body === null || body === undefined) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function isTimeoutError(error: unknown): boolean {
  const e = error as { name?: unknown; type?: unknown };
  return e?.name === 'ApifyNetworkError' && e.type === 'timeout';
}

/** A failure another attempt may cure: no answer, or 408 / 429 / 5xx. */
function isTransient(error: unknown): boolean {
  const e = error as { name?: unknown; statusCode?: unknown };
  if (e?.name === 'ApifyNetworkError') return true;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 0;
  return e?.name === 'ApifyApiError' && (status === 408 || status === 429 || status >= 500);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a client call with `timeoutSecs` and `maxRetries`. The client retries timeouts like any
 * other transport failure, so with `doNotRetryTimeouts` the attempts are made here one by one
 * (each without the client's own retries) and a timeout ends them.
 */
async function withSettings<T>(
  settings: RequestSettings,
  resendable: boolean,
  call: (options: { timeoutSecs?: number; maxRetries?: number }) => Promise<T>,
): Promise<T> {
  const { timeoutSecs, maxRetries, doNotRetryTimeouts } = settings;
  if (!doNotRetryTimeouts) return call({ timeoutSecs, maxRetries });
  const retries = resendable ? (maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries) : 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call({ timeoutSecs, maxRetries: 0 });
    } catch (error) {
      if (isTimeoutError(error) || !isTransient(error) || attempt >= retries) throw error;
      await sleep(Math.random() * Math.min(5000, 200 * 2 ** attempt)); // full jitter
    }
  }
}

/** The client's progress callback that tells `watch` the bytes so far. */
function progressOf(watch: TransferWatch): ProgressCallback | undefined {
  const { onProgress } = watch;
  return onProgress && (({ loaded }) => onProgress(loaded));
}

/** The HTTP API (the Apify platform or the local server) through `ApifyClient`. */
export class CloudBackend implements StorageBackend {
  readonly kind = 'cloud';

  constructor(
    private readonly client: ApifyClient,
    /** API origin, for record URLs and messages. */
    readonly location: string,
  ) {}

  private get kvs() {
    return this.client.keyValueStores;
  }

  /** A 404 while writing or listing means the store itself is gone. */
  private async storeCall<T>(storeId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isNotFound(error)) {
        throw new KeyValueStoreError('store-not-found', `Store ${JSON.stringify(storeId)} does not exist.`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async listStores({ unnamed }: { unnamed?: boolean }): Promise<StoreSummary[]> {
    const out: StoreSummary[] = [];
    for (let offset = 0; ; ) {
      const page = await this.kvs.listStores({ offset, limit: 1000, unnamed });
      out.push(...(page.items as ApiStore[]).map(summarize));
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) return out;
    }
  }

  async getStore(ref: string): Promise<StoreSummary | null> {
    let store;
    try {
      store = await this.kvs.getStore({ storeId: ref });
    } catch (error) {
      // Not even the shape of a store id: there is no such store (the caller reports a bad name).
      if ((error as { name?: unknown }).name === 'ApifyArgumentError') return null;
      throw error;
    }
    if (store) return summarize(store as ApiStore);
    // The Apify platform finds the caller's own store by name only as `~name`.
    if (!ref.includes('~')) {
      try {
        const own = await this.kvs.getStore({ storeId: `~${ref}` });
        if (own) return summarize(own as ApiStore);
      } catch {
        // a server that does not know the `~name` form: the store is just not there
      }
    }
    return null;
  }

  async getOrCreateStore(name: string): Promise<{ store: StoreSummary; created: boolean }> {
    const existing = await this.getStore(name);
    if (existing) return { store: existing, created: false };
    return { store: summarize((await this.kvs.getOrCreateStore({ storeName: name })) as ApiStore), created: true };
  }

  async renameStore(id: string, name: string | null): Promise<StoreSummary> {
    return this.storeCall(id, async () =>
      summarize((await this.kvs.updateStore({ storeId: id, store: { name } })) as ApiStore),
    );
  }

  async deleteStore(id: string): Promise<boolean> {
    // The client treats a missing store as deleted already, so ask first to answer honestly.
    const existed = (await this.kvs.getStore({ storeId: id })) !== null;
    await this.kvs.deleteStore({ storeId: id });
    return existed;
  }

  async listKeys(storeId: string, args: ListKeysArgs): Promise<KeyPage> {
    const page = await this.storeCall(storeId, () => this.kvs.listKeys({ storeId, ...args }));
    return {
      items: page.items.map(({ key, size }: { key: string; size: number }) => ({ key, size })),
      nextExclusiveStartKey: page.isTruncated ? (page.nextExclusiveStartKey ?? null) : null,
    };
  }

  async getRecord(storeId: string, key: string): Promise<RecordBytes | null> {
    const record = await this.kvs.getRecord({ storeId, key, disableBodyParser: true });
    if (!record) return null;
    return { contentType: record.contentType ?? 'application/octet-stream', body: toBytes(record.body), etag: record.etag };
  }

  async openRecord(storeId: string, key: string, watch: TransferWatch = {}): Promise<RecordStream | null> {
    const record = await this.kvs.getRecord({ storeId, key, stream: true, onDownloadProgress: progressOf(watch) });
    if (!record) return null;
    return { contentType: record.contentType ?? 'application/octet-stream', stream: record.body as Readable };
  }

  async recordDigest(storeId: string, key: string): Promise<RecordDigest | null> {
    // A HEAD is enough when the ETag is the body's quoted md5 (as the local server's is) and the
    // size is known: then no body is downloaded.
    const info = await this.kvs.getRecordInfo({ storeId, key });
    if (!info) return null;
    const etagMd5 = md5FromEtag(info.etag);
    if (etagMd5 && info.size !== undefined) return { contentType: info.contentType, size: info.size, md5: etagMd5 };
    // Any other ETag (or none): hash the body as it streams by.
    const record = await this.openRecord(storeId, key);
    if (!record) return null;
    const { md5, size } = await md5OfStream(record.stream);
    return { contentType: record.contentType, size, md5 };
  }

  async putRecord(storeId: string, key: string, body: BodySource, contentType: string, settings: RequestSettings & TransferWatch = {}): Promise<void> {
    // A file is given as an fs stream: the client can reopen it for a retry.
    const data = () => (Buffer.isBuffer(body) || body instanceof Readable ? body : createReadStream(body.path));
    const resendable = !(body instanceof Readable);
    await this.storeCall(storeId, () =>
      withSettings(settings, resendable, (call) =>
        this.kvs.putRecord({ storeId, key, body: data(), contentType, onUploadProgress: progressOf(settings), ...call }),
      ),
    );
  }

  async deleteRecord(storeId: string, key: string, settings: RequestSettings = {}): Promise<void> {
    await this.storeCall(storeId, () => withSettings(settings, true, (call) => this.kvs.deleteRecord({ storeId, key, ...call })));
  }

  async putRecordIf(storeId: string, key: string, body: Buffer, contentType: string, etag: string | null): Promise<boolean> {
    const store = this.client.keyValueStore(storeId);
    const conditions = etag === null ? { ifNoneMatch: '*' as const } : { ifMatch: etag };
    return unlessPreconditionFailed(() => this.storeCall(storeId, () => store.setRecord({ key, value: body, contentType }, conditions)));
  }

  async deleteRecordIf(storeId: string, key: string, etag: string): Promise<boolean> {
    const store = this.client.keyValueStore(storeId);
    return unlessPreconditionFailed(() => this.storeCall(storeId, () => store.deleteRecord(key, { ifMatch: etag })));
  }

  async recordExists(storeId: string, key: string): Promise<boolean> {
    return this.kvs.recordExists({ storeId, key });
  }

  publicUrl(store: StoreSummary, key: string): string {
    // On the server the store lives on (the platform's SDK points at api.apify.com), signed as
    // the platform signs it when the store's signing key is known: it then opens without a token.
    const url = `${this.location.replace(/\/+$/, '')}/v2/key-value-stores/${encodeURIComponent(store.id)}/records/${encodeURIComponent(key)}`;
    const secret = store.urlSigningSecretKey;
    if (!secret) return url;
    return `${url}?signature=${signatureOfHmac(createHmac('sha256', secret).update(key).digest('hex'))}`;
  }

  async recordFileUrl(): Promise<undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    // Nothing to release: the client's keep-alive sockets do not hold the process open.
  }
}

/** True when `write` went through; false when the server answered 412 (its condition failed). */
async function unlessPreconditionFailed(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    const e = error as { name?: unknown; statusCode?: unknown };
    if (e?.name === 'ApifyApiError' && e.statusCode === 412) return false;
    throw error;
  }
}
