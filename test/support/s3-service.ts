/**
 * The S3 service the S3 suites run against: the one named by S3_ENDPOINT (with S3_ACCESS_KEY_ID
 * and S3_SECRET_ACCESS_KEY), else a throwaway Ceph RADOS Gateway started for the test file and
 * SIGKILLed after it (also when the tests fail).
 */
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';

import { startRgw } from '../../scripts/ceph/rgw.mjs';
import { S3Backend, type S3StorageOptions } from '../../src/storage/s3/index.js';
import { STORE_METADATA_FILE } from '../../src/storage/s3/layout.js';
import { useProcessStorage } from '../reliability/support/server-process.js';
import { useTestStorage } from '../server/helpers.js';

export interface S3Service {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startS3Service(): Promise<S3Service> {
  const endpoint = process.env.S3_ENDPOINT;
  if (endpoint) {
    const accessKeyId = process.env.S3_ACCESS_KEY_ID ?? process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.S3_SECRET_ACCESS_KEY ?? process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw new Error('S3_ENDPOINT is set but S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY are not.');
    return { endpoint, region: process.env.S3_REGION ?? 'us-east-1', accessKeyId, secretAccessKey, stop: async () => {} };
  }
  return startRgw({ memstoreBytes: 384 * 1024 * 1024 });
}

export function s3Client(service: S3Service): S3Client {
  return new S3Client({
    endpoint: service.endpoint,
    region: service.region,
    forcePathStyle: true,
    credentials: { accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(service: S3Service, prefix = 'kv'): Promise<string> {
  const bucket = `${prefix}-${randomBytes(6).toString('hex')}`;
  const client = s3Client(service);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

export interface S3Fixture {
  service: S3Service;
  bucket: string;
  /** A backend over the suite's bucket; a fresh prefix unless one is given. Closed after the file. */
  backend(prefix?: string, options?: Partial<S3StorageOptions>): Promise<S3Backend>;
}

/** Starts the service before the file's tests, one bucket for the file, and stops it after. */
export function useS3(): S3Fixture {
  const backends: S3Backend[] = [];
  const fixture = {} as S3Fixture;
  beforeAll(async () => {
    fixture.service = await startS3Service();
    fixture.bucket = await createBucket(fixture.service);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await fixture.service?.stop();
  }, 30_000);
  fixture.backend = async (prefix = `p-${randomBytes(4).toString('hex')}`, options = {}) => {
    const { service, bucket } = fixture;
    const backend = new S3Backend({
      bucket,
      prefix,
      endpoint: service.endpoint,
      region: service.region,
      forcePathStyle: true,
      accessKeyId: service.accessKeyId,
      secretAccessKey: service.secretAccessKey,
      ...options,
    });
    await backend.open();
    backends.push(backend);
    return backend;
  };
  return fixture;
}

/** The S3 prefix spawned servers use for a storage folder name: the same name, the same prefix. */
export function prefixForStorageDir(storageDir: string): string {
  return `proc-${createHash('sha256').update(storageDir).digest('hex').slice(0, 16)}`;
}

/**
 * Runs every `startTestServer` of the calling test file on S3: one service and bucket for the
 * file, a fresh prefix per server. Snapshots list the prefix's objects (with a digest of each
 * body) and its unfinished multipart uploads. Servers the file spawns as processes
 * (`spawnServer` of test/reliability) run on S3 too, one prefix per storage folder name.
 */
export function serveTestServersOverS3(): S3Fixture {
  const fixture = useS3();
  useProcessStorage({
    kind: 's3',
    args: (storageDir) => [
      '--storage',
      `s3://${fixture.bucket}/${prefixForStorageDir(storageDir)}`,
      '--s3-endpoint',
      fixture.service.endpoint,
      '--s3-region',
      fixture.service.region,
      '--s3-path-style',
      'true',
    ],
    env: () => ({ AWS_ACCESS_KEY_ID: fixture.service.accessKeyId, AWS_SECRET_ACCESS_KEY: fixture.service.secretAccessKey }),
    objects: async (storageDir, under = '') => {
      const prefix = prefixForStorageDir(storageDir);
      const all = await snapshotPrefix(fixture.service, fixture.bucket, prefix, { digestMetadata: true });
      const base = under ? `${under.replace(/\/+$/, '')}/` : '';
      return new Map(Object.entries(all).filter(([name]) => name.startsWith(base)).map(([name, digest]) => [name.slice(base.length), digest]));
    },
  });
  useTestStorage({
    kind: 's3',
    async fresh() {
      const { service, bucket } = fixture;
      const prefix = `srv-${randomBytes(4).toString('hex')}`;
      return {
        options: {
          storage: `s3://${bucket}/${prefix}`,
          s3: { endpoint: service.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
        },
        snapshot: () => snapshotPrefix(service, bucket, prefix),
      };
    },
  });
  return fixture;
}

async function snapshotPrefix(
  service: S3Service,
  bucket: string,
  prefix: string,
  options: { digestMetadata?: boolean } = {},
): Promise<Record<string, string>> {
  const client = s3Client(service);
  const out: Record<string, string> = {};
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const rel = object.Key!.slice(prefix.length + 1);
        if (rel.endsWith(`/${STORE_METADATA_FILE}`) && !options.digestMetadata) {
          out[rel] = 'present';
          continue;
        }
        const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
        const bytes = await body.Body!.transformToByteArray();
        out[rel] = createHash('sha256').update(bytes).digest('hex');
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
    for (const upload of uploads.Uploads ?? []) out[`multipart upload of ${upload.Key}`] = upload.UploadId ?? 'unfinished';
  } finally {
    client.destroy();
  }
  return out;
}
