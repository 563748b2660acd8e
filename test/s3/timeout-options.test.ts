/** The S3 timeout and attempt settings: flags, environment variables, their checks. */
import { describe, expect, it } from 'vitest';

import { parseServeArgs } from '../../src/server/index.js';
import { s3OptionsFromUrl } from '../../src/storage/s3/index.js';

describe('S3 timeout options', () => {
  it('come from serve flags', () => {
    const options = parseServeArgs([
      '--storage', 's3://bucket-a/p',
      '--s3-connect-timeout-ms', '1500',
      '--s3-request-timeout-ms', '4000',
      '--s3-max-attempts', '5',
    ]);
    expect(options.s3).toMatchObject({ connectTimeoutMillis: 1500, requestTimeoutMillis: 4000, maxAttempts: 5 });
    expect(() => parseServeArgs(['--storage', 's3://bucket-a/p', '--s3-request-timeout-ms', '0'])).toThrow(/--s3-request-timeout-ms/);
    expect(() => parseServeArgs(['--storage', 's3://bucket-a/p', '--s3-max-attempts', 'x'])).toThrow(/--s3-max-attempts/);
  });

  it('come from the environment unless given, and bad values are refused', () => {
    const env = { APIFY_KV_S3_CONNECT_TIMEOUT_MILLIS: '700', APIFY_KV_S3_REQUEST_TIMEOUT_MILLIS: '2500', APIFY_KV_S3_MAX_ATTEMPTS: '2' };
    expect(s3OptionsFromUrl('s3://bucket-a/p', {}, env)).toMatchObject({ connectTimeoutMillis: 700, requestTimeoutMillis: 2500, maxAttempts: 2 });
    expect(s3OptionsFromUrl('s3://bucket-a/p', { requestTimeoutMillis: 9000 }, env).requestTimeoutMillis).toBe(9000);
    expect(s3OptionsFromUrl('s3://bucket-a/p', {}, {})).toMatchObject({ connectTimeoutMillis: undefined, requestTimeoutMillis: undefined });
    expect(() => s3OptionsFromUrl('s3://bucket-a/p', {}, { APIFY_KV_S3_REQUEST_TIMEOUT_MILLIS: '0' })).toThrow(/APIFY_KV_S3_REQUEST_TIMEOUT_MILLIS/);
    expect(() => s3OptionsFromUrl('s3://bucket-a/p', {}, { APIFY_KV_S3_MAX_ATTEMPTS: '1.5' })).toThrow(/APIFY_KV_S3_MAX_ATTEMPTS/);
  });
});
