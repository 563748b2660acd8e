/**
 * The S3 calls the backend makes, in one place: client settings that Ceph RGW 16.2 and AWS
 * both accept, not-found / precondition detection, and conditional writes.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';

import type { S3StorageOptions } from './config.js';

export function createS3Client(options: S3StorageOptions): S3Client {
  return new S3Client({
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
  });
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

/** A thin layer over one bucket. */
export class Bucket {
  /**
   * How to send `If-Match` on PUT. The standard form is the quoted ETag; Ceph RGW 16.2 compares
   * it against the bare hex digest and so answers 412 to a correct quoted one. The first 412
   * is checked with a HEAD: when the object's ETag is the one we sent, the server wants the
   * bare form, and that is used from then on.
   */
  private ifMatchForm: 'quoted' | 'bare' = 'quoted';

  constructor(
    readonly s3: S3Client,
    readonly name: string,
  ) {}

  async exists(): Promise<boolean> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.name }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The object, or `null` when missing. */
  async get(key: string, options: { range?: string; ifMatch?: string } = {}): Promise<GetObjectCommandOutput | null> {
    try {
      return await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key, Range: options.range, IfMatch: options.ifMatch }));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The object's text and ETag, or `null` when missing. */
  async getText(key: string): Promise<{ text: string; etag: string } | null> {
    const res = await this.get(key);
    if (!res?.Body) return null;
    return { text: await res.Body.transformToString('utf8'), etag: res.ETag ?? '' };
  }

  async head(key: string): Promise<{ etag: string; size: number } | null> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { etag: res.ETag ?? '', size: res.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * One single PUT (atomic in S3; never a multipart upload, whose completion RGW 16.2 answers
   * with an empty ETag). Returns the new ETag, or `null` when the condition failed:
   * `ifNoneMatch: '*'` writes only a new object, `ifMatch` only over that version.
   */
  async put(
    key: string,
    body: Uint8Array | string,
    options: { contentType?: string; ifNoneMatch?: '*'; ifMatch?: string } = {},
  ): Promise<string | null> {
    const send = (ifMatch?: string) =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.name,
          Key: key,
          Body: body,
          ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
          ContentType: options.contentType,
          IfNoneMatch: options.ifNoneMatch,
          IfMatch: ifMatch,
        }),
      );
    const ifMatch = options.ifMatch === undefined ? undefined : this.formatIfMatch(options.ifMatch);
    try {
      const res = await send(ifMatch);
      return res.ETag ?? (await this.head(key))?.etag ?? '';
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      if (options.ifMatch === undefined || this.ifMatchForm === 'bare') return null;
      const current = await this.head(key);
      if (!current || bare(current.etag) !== bare(options.ifMatch)) return null;
      this.ifMatchForm = 'bare';
      try {
        const res = await send(bare(options.ifMatch));
        return res.ETag ?? (await this.head(key))?.etag ?? '';
      } catch (retryError) {
        if (isPreconditionFailed(retryError)) return null;
        throw retryError;
      }
    }
  }

  private formatIfMatch(etag: string): string {
    return this.ifMatchForm === 'bare' ? bare(etag) : `"${bare(etag)}"`;
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
  }

  list(options: { prefix: string; startAfter?: string; delimiter?: string; token?: string; maxKeys?: number }): Promise<ListObjectsV2CommandOutput> {
    return this.s3.send(
      new ListObjectsV2Command({
        Bucket: this.name,
        Prefix: options.prefix,
        StartAfter: options.token ? undefined : options.startAfter,
        ContinuationToken: options.token,
        Delimiter: options.delimiter,
        MaxKeys: options.maxKeys,
      }),
    );
  }
}
