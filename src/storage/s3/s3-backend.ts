/**
 * The S3 backend: stores in a bucket (AWS S3, Ceph RGW, MinIO, ...) under a prefix, laid out
 * as the Apify SDK lays out a folder (see `layout.ts`). Any number of servers may share one
 * bucket and prefix: what they must agree on lives in the bucket (see `catalog.ts`).
 */

import type { RecordStore, StorageBackend } from '../backend.js';
import { StorageError } from '../errors.js';
import { S3StoreCatalog } from './catalog.js';
import { DEFAULT_METADATA_CACHE_MILLIS, type S3StorageOptions } from './config.js';
import { hasObjectPerKeyLayout, S3Layout } from './layout.js';
import { LegacyS3RecordStore, type KeyHints } from './legacy-records.js';
import { S3RecordStore, type KnownSizes } from './records.js';
import { Bucket, isS3Failure, toStorageError, type S3RequestStats } from './s3-client.js';
import { loadS3Presigner } from './peers.js';
import { loadOrCreateS3Secret } from './signing-secret.js';
import { BoundedMap } from './util.js';

const DEFAULT_UPLOAD_URL_SECONDS = 900;

export class S3Backend implements StorageBackend {
  readonly kind = 's3';
  readonly catalog: S3StoreCatalog;
  readonly options: S3StorageOptions;
  private readonly bucket: Bucket;
  private readonly layout: S3Layout;
  private readonly hints: KeyHints = new BoundedMap(50_000);
  private readonly sizes: KnownSizes = new BoundedMap(50_000);
  /** Whether each store (by id) has its records one object per key: fixed for a store's life. */
  private readonly layouts = new BoundedMap<string, boolean>(100_000);

  constructor(options: S3StorageOptions) {
    this.options = options;
    this.bucket = new Bucket(options, options.bucket);
    this.layout = new S3Layout(options.prefix);
    this.catalog = new S3StoreCatalog(this.bucket, this.layout, options.metadataCacheMillis ?? DEFAULT_METADATA_CACHE_MILLIS);
  }

  async open(): Promise<void> {
    if (!(await this.bucket.exists())) {
      throw new Error(`S3 bucket "${this.options.bucket}" does not exist (or these credentials cannot see it).`);
    }
  }

  /** A HEAD of the bucket: it answers and these credentials may see it. */
  async checkReady(): Promise<void> {
    if (!(await this.bucket.exists())) throw new Error(`S3 bucket "${this.options.bucket}" does not exist.`);
  }

  /** Counts of the S3 requests made so far (for metrics). */
  get requestStats(): Readonly<S3RequestStats> {
    return this.bucket.stats;
  }

  async close(): Promise<void> {
    await this.catalog.settle();
    this.bucket.destroy();
  }

  records(storeId: string): RecordStore {
    return new LazyRecordStore(() => this.recordStore(storeId));
  }

  /** `PREFIX/.apify-kv/signing-secret`, shared by every server over this prefix. */
  loadOrCreateSecret(): Promise<Buffer> {
    return loadOrCreateS3Secret(this.bucket, this.layout.signingSecret());
  }

  /**
   * A presigned PUT of a record's raw body straight to the bucket. Capped in time (at most
   * `uploadUrlMaxSeconds`, default 900 s); in size by S3's single-PUT limit (5 GiB), or exactly
   * to `size` bytes when the uploader says the size up front (it is then signed).
   */
  async directUploadUrl(
    storeId: string,
    key: string,
    options: { expiresInSeconds?: number; contentType?: string; size?: number } = {},
  ): Promise<{ url: string; expiresAt: Date }> {
    const store = await this.recordStore(storeId);
    const cap = this.options.uploadUrlMaxSeconds ?? DEFAULT_UPLOAD_URL_SECONDS;
    const seconds = Math.max(1, Math.min(options.expiresInSeconds ?? cap, cap));
    const { sdk, s3 } = await this.bucket.ready();
    const { getSignedUrl } = await loadS3Presigner();
    const command = new sdk.PutObjectCommand({
      Bucket: this.options.bucket,
      Key: await store.uploadObjectName(key, options.contentType),
      ContentType: options.contentType,
      ContentLength: options.size,
    });
    const url = await getSignedUrl(s3, command, {
      expiresIn: seconds,
      signableHeaders: new Set(options.size !== undefined ? ['content-length'] : []),
    });
    return { url, expiresAt: new Date(Date.now() + seconds * 1000) };
  }

  private async recordStore(storeId: string): Promise<S3RecordStore | LegacyS3RecordStore> {
    const folder = await this.catalog.folderOf(storeId);
    if (!folder) throw new StorageError('store-not-found', `Store ${storeId} was not found.`);
    if (await this.hasObjectPerKeyLayout(storeId, folder)) {
      return new S3RecordStore(this.bucket, this.layout.recordsPrefix(folder), this.sizes);
    }
    return new LegacyS3RecordStore(this.bucket, this.layout, folder, this.hints);
  }

  /** Read once per store id from its metadata (a store keeps its layout for life). */
  private async hasObjectPerKeyLayout(storeId: string, folder: string): Promise<boolean> {
    const known = this.layouts.get(storeId);
    if (known !== undefined) return known;
    const metadata = await this.bucket.getText(this.layout.storeMetadata(folder));
    if (!metadata) throw new StorageError('store-not-found', `Store ${storeId} was not found.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata.text);
    } catch {
      parsed = null;
    }
    const objectPerKey = hasObjectPerKeyLayout(parsed);
    this.layouts.set(storeId, objectPerKey);
    return objectPerKey;
  }
}

/** Resolves the store's folder and layout on first use (two GETs per store id, then cached). */
class LazyRecordStore implements RecordStore {
  private store: Promise<RecordStore> | null = null;

  constructor(private readonly resolve: () => Promise<RecordStore>) {}

  private target(): Promise<RecordStore> {
    this.store ??= this.resolve().catch((error) => {
      this.store = null;
      throw error;
    });
    return this.store;
  }

  get: RecordStore['get'] = (key) => precise(async () => (await this.target()).get(key));
  put: RecordStore['put'] = (key, body, contentType, conditions) =>
    precise(async () => (await this.target()).put(key, body, contentType, conditions));
  delete: RecordStore['delete'] = (key, conditions) => precise(async () => (await this.target()).delete(key, conditions));
  list: RecordStore['list'] = (options) => precise(async () => (await this.target()).list(options));
}

/** A failure of S3 met outside a request's own call (a body that stopped mid-read) as a storage error. */
async function precise<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw isS3Failure(error) ? toStorageError(error, 'a record read or write') : error;
  }
}
