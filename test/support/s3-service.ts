/**
 * The S3 service the S3 suites run against: the one named by S3_ENDPOINT (with S3_ACCESS_KEY_ID
 * and S3_SECRET_ACCESS_KEY), else a throwaway Ceph RADOS Gateway started for the test file and
 * SIGKILLed after it (also when the tests fail).
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';

import { startRgw } from '../../scripts/ceph/rgw.mjs';
import { S3Backend } from '../../src/storage/s3/index.js';

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
  backend(prefix?: string): Promise<S3Backend>;
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
  fixture.backend = async (prefix = `p-${randomBytes(4).toString('hex')}`) => {
    const { service, bucket } = fixture;
    const backend = new S3Backend({
      bucket,
      prefix,
      endpoint: service.endpoint,
      region: service.region,
      forcePathStyle: true,
      accessKeyId: service.accessKeyId,
      secretAccessKey: service.secretAccessKey,
    });
    await backend.open();
    backends.push(backend);
    return backend;
  };
  return fixture;
}
