/**
 * The S3 calls the backend makes, in one place: client settings that Ceph RGW 16.2 and AWS
 * both accept, not-found / precondition detection, and conditional writes.
 *
 * The AWS SDK is loaded on first use (`peers.ts`), so a server or CLI that never asks for S3
 * storage never loads it, whatever imports this module, and runs without it installed.
 */
import type { Readable } from 'node:stream';

import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';

import { StorageError } from '../errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MILLIS, DEFAULT_MAX_ATTEMPTS, DEFAULT_REQUEST_TIMEOUT_MILLIS, type S3StorageOptions } from './config.js';
import { createObjectSigner, ObjectRequests, type HttpHandlerLike } from './object-requests.js';
import { loadS3Sdk, loadS3Signer, type S3Sdk } from './peers.js';

/** S3 calls made by one client: each call counts once, its retries apart. */
export interface S3RequestStats {
  requests: number;
  /** Calls that failed for good, except the answers we expect (not found, precondition failed). */
  errors: number;
  /** Attempts beyond the first, made by the SDK's retry strategy. */
  retries: number;
}

export function createS3Client(sdk: S3Sdk, options: S3StorageOptions, stats?: S3RequestStats): S3Client {
  const client = new sdk.S3Client({
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, sessionToken: options.sessionToken }
        : undefined,
    // RGW 16.2 refuses the default streaming upload with a trailing checksum (411 MissingContentLength).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMillis ?? DEFAULT_CONNECT_TIMEOUT_MILLIS,
      // Until the answer's headers arrive. Without `throwOnRequestTimeout` the handler only
      // logs a warning and the request waits on; with it, the request is destroyed.
      requestTimeout: options.requestTimeoutMillis ?? DEFAULT_REQUEST_TIMEOUT_MILLIS,
      throwOnRequestTimeout: true,
      // A body (up or down) that stops moving for this long.
      socketTimeout: options.requestTimeoutMillis ?? DEFAULT_REQUEST_TIMEOUT_MILLIS,
    },
  });
  if (stats) {
    // Outside the retry step, so it sees each call once with its final attempt count.
    client.middlewareStack.add(
      (next) => async (args) => {
        stats.requests++;
        try {
          const result = await next(args);
          stats.retries += Math.max(0, ((result.output as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) - 1);
          return result;
        } catch (error) {
          stats.retries += Math.max(0, ((error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) - 1);
          if (!isNotFound(error) && !isPreconditionFailed(error)) stats.errors++;
          throw error;
        }
      },
      { step: 'initialize', name: 'apifyKvRequestStats' },
    );
  }
  return client;
}

const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** Whether `error` came from S3 or the connection to it (not from our own code or a caller's stream). */
export function isS3Failure(error: unknown): boolean {
  if (error instanceof StorageError) return false;
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  return status(error) !== undefined || (name !== undefined && UNAVAILABLE_NAMES.has(name)) || (code !== undefined && NETWORK_CODES.has(code));
}

/**
 * An S3 failure as a storage error: the service down, slow, throttling or unreachable (after
 * the SDK's own retries) is `storage-unavailable` (503 + Retry-After); anything else S3 refused
 * (credentials, permissions, a missing bucket) is `storage-io-error`. The original is the cause.
 */
export function toStorageError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const { name, code, message } = (error ?? {}) as { name?: string; code?: string; message?: string };
  const httpStatus = status(error);
  const detail = name && name !== 'Error' ? name : code ?? message ?? 'unknown error';
  if (
    (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429)) ||
    (name !== undefined && UNAVAILABLE_NAMES.has(name)) ||
    (code !== undefined && NETWORK_CODES.has(code)) ||
    (httpStatus === undefined && /socket hang up|timed? ?out|aborted/i.test(message ?? ''))
  ) {
    const throttled = name === 'SlowDown' || httpStatus === 429 || /Throttl/.test(name ?? '');
    return new StorageError('storage-unavailable', `The S3 storage did not answer ${what} (${detail}); try again shortly.`, {
      cause: error,
      retryAfterSecs: throttled ? 2 : 1,
    });
  }
  return new StorageError('storage-io-error', `The S3 storage refused ${what} (${detail}).`, { cause: error });
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return status(error) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

export function isPreconditionFailed(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return status(error) === 412 || name === 'PreconditionFailed' || status(error) === 409;
}

const bare = (etag: string) => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

/** An object as read: its body (to read or discard) and what S3 says about it. */
export interface ObjectRead {
  body: Readable;
  size: number;
  etag: string;
  contentType: string | undefined;
  /** `x-amz-meta-*` values by their lower-case names (without the prefix). */
  metadata: Record<string, string>;
  modified: Date | undefined;
}

/** A whole (small) body. */
export async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const META_PREFIX = 'x-amz-meta-';

/**
 * A thin layer over one bucket: single-object calls through `ObjectRequests`, listings and
 * the rest through the SDK client.
 */
export class Bucket {
  /**
   * How to send `If-Match` on PUT. The standard form is the quoted ETag; Ceph RGW 16.2 compares
   * it against the bare hex digest and so answers 412 to a correct quoted one. The first 412
   * is checked with a HEAD: when the object's ETag is the one we sent, the server wants the
   * bare form, and that is used from then on.
   */
  private ifMatchForm: 'quoted' | 'bare' = 'quoted';

  private sdk: S3Sdk | undefined;
  private client: S3Client | undefined;
  private objects: ObjectRequests | undefined;
  readonly stats: S3RequestStats = { requests: 0, errors: 0, retries: 0 };

  constructor(
    private readonly options: S3StorageOptions,
    readonly name: string,
  ) {}

  /** The SDK and the client, loaded and made on first use. */
  async ready(): Promise<{ sdk: S3Sdk; s3: S3Client }> {
    if (!this.sdk || !this.client) {
      const sdk = await loadS3Sdk();
      this.client ??= createS3Client(sdk, this.options, this.stats);
      this.sdk = sdk;
    }
    return { sdk: this.sdk, s3: this.client };
  }

  private async requests(): Promise<ObjectRequests> {
    if (this.objects) return this.objects;
    const [{ s3 }, signerLib] = await Promise.all([this.ready(), loadS3Signer()]);
    // The client's own credentials provider (given keys, or the SDK's chain, cached), region and hash.
    const signer = createObjectSigner(signerLib, s3.config);
    this.objects = new ObjectRequests(this.options, s3.config.requestHandler as unknown as HttpHandlerLike, signer, (attempts, error) => {
      this.stats.requests++;
      this.stats.retries += attempts - 1;
      if (error && !isNotFound(error) && !isPreconditionFailed(error)) this.stats.errors++;
    });
    return this.objects;
  }

  destroy(): void {
    this.client?.destroy();
    this.client = undefined;
    this.objects = undefined;
  }

  async exists(): Promise<boolean> {
    try {
      const { sdk, s3 } = await this.ready();
      await s3.send(new sdk.HeadBucketCommand({ Bucket: this.name }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw toStorageError(error, `a look at bucket ${this.name}`);
    }
  }

  /** The object, or `null` when missing (or, with `ifMatch`, no longer that version). */
  async get(key: string, options: { range?: string; ifMatch?: string } = {}): Promise<ObjectRead | null> {
    const headers: Record<string, string> = {};
    if (options.range) headers.range = options.range;
    if (options.ifMatch) headers['if-match'] = options.ifMatch;
    try {
      const { headers: h, body } = await (await this.requests()).send('GET', key, headers);
      const metadata: Record<string, string> = {};
      for (const name of Object.keys(h)) if (name.startsWith(META_PREFIX)) metadata[name.slice(META_PREFIX.length)] = h[name]!;
      return {
        body,
        size: Number(h['content-length'] ?? 0),
        etag: h.etag ?? '',
        contentType: h['content-type'],
        metadata,
        modified: h['last-modified'] ? new Date(h['last-modified']) : undefined,
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      if (options.ifMatch !== undefined && isPreconditionFailed(error)) return null;
      throw toStorageError(error, 'a read');
    }
  }

  /** The object's text, ETag and time, or `null` when missing. */
  async getText(key: string): Promise<{ text: string; etag: string; modified: Date | undefined } | null> {
    const res = await this.get(key);
    if (!res) return null;
    try {
      return { text: (await readBody(res.body)).toString('utf8'), etag: res.etag, modified: res.modified };
    } catch (error) {
      throw toStorageError(error, 'a read');
    }
  }

  async head(key: string): Promise<{ etag: string; size: number } | null> {
    try {
      const { headers, body } = await (await this.requests()).send('HEAD', key);
      body.resume();
      return { etag: headers.etag ?? '', size: Number(headers['content-length'] ?? 0) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw toStorageError(error, 'a read');
    }
  }

  /**
   * One single PUT, atomic in S3 (bodies over one part go as a multipart upload instead: see
   * `multipart-put.ts`). Returns the new ETag, or `null` when the condition failed:
   * `ifNoneMatch: '*'` writes only a new object, `ifMatch` only over that version.
   */
  async put(
    key: string,
    body: Uint8Array | string,
    options: { contentType?: string; metadata?: Record<string, string>; ifNoneMatch?: '*'; ifMatch?: string } = {},
  ): Promise<string | null> {
    const requests = await this.requests();
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const headers: Record<string, string> = { 'content-length': String(bytes.byteLength) };
    if (options.contentType) headers['content-type'] = options.contentType;
    for (const [name, value] of Object.entries(options.metadata ?? {})) headers[META_PREFIX + name.toLowerCase()] = value;
    if (options.ifNoneMatch) headers['if-none-match'] = options.ifNoneMatch;
    const send = async (ifMatch?: string) => {
      const { headers: answer, body: rest } = await requests.send('PUT', key, ifMatch === undefined ? headers : { ...headers, 'if-match': ifMatch }, bytes);
      rest.resume();
      return answer.etag ?? (await this.head(key))?.etag ?? '';
    };
    const ifMatch = options.ifMatch === undefined ? undefined : this.formatIfMatch(options.ifMatch);
    try {
      return await send(ifMatch);
    } catch (error) {
      if (!isPreconditionFailed(error)) throw toStorageError(error, 'a write');
      if (options.ifMatch === undefined || this.ifMatchForm === 'bare') return null;
      const current = await this.head(key);
      if (!current || bare(current.etag) !== bare(options.ifMatch)) return null;
      this.ifMatchForm = 'bare';
      try {
        return await send(bare(options.ifMatch));
      } catch (retryError) {
        if (isPreconditionFailed(retryError)) return null;
        throw toStorageError(retryError, 'a write');
      }
    }
  }

  private formatIfMatch(etag: string): string {
    return this.ifMatchForm === 'bare' ? bare(etag) : `"${bare(etag)}"`;
  }

  async delete(key: string): Promise<void> {
    try {
      (await (await this.requests()).send('DELETE', key)).body.resume();
    } catch (error) {
      if (isNotFound(error)) return;
      throw toStorageError(error, 'a delete');
    }
  }

  async list(options: { prefix: string; startAfter?: string; delimiter?: string; token?: string; maxKeys?: number }): Promise<ListObjectsV2CommandOutput> {
    const { sdk, s3 } = await this.ready();
    try {
      return await s3.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.name,
          Prefix: options.prefix,
          StartAfter: options.token ? undefined : options.startAfter,
          ContinuationToken: options.token,
          Delimiter: options.delimiter,
          MaxKeys: options.maxKeys,
        }),
      );
    } catch (error) {
      throw toStorageError(error, 'a listing');
    }
  }
}
