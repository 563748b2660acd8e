/**
 * Where an S3 storage lives and how to reach it: `s3://BUCKET/PREFIX` plus the endpoint,
 * region, path style and credentials, from options or the standard AWS_* variables.
 * No AWS SDK import here, so the CLI can parse `--storage` without loading it.
 */
export interface S3StorageOptions {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
  /** e.g. `http://127.0.0.1:7480`; omitted for AWS S3 itself. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by Ceph RGW and MinIO without DNS. */
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Longest life of a direct-upload URL, in seconds. Default 900. */
  uploadUrlMaxSeconds?: number;
  /**
   * How long a store's metadata read from the bucket is used before it is read again
   * (`APIFY_KV_S3_METADATA_CACHE_MILLIS`). Default 1000; 0 reads it on every request. Within
   * it, a store deleted, renamed or given other access on another instance may still look as
   * before here.
   */
  metadataCacheMillis?: number;
  /**
   * Longest wait for a TCP (or TLS) connection to S3 (`APIFY_KV_S3_CONNECT_TIMEOUT_MILLIS`).
   * Default 3000.
   */
  connectTimeoutMillis?: number;
  /**
   * Longest wait for one S3 request's answer to begin, and for a pause while its body streams
   * (`APIFY_KV_S3_REQUEST_TIMEOUT_MILLIS`). Default 10000. The request is then aborted.
   */
  requestTimeoutMillis?: number;
  /** Attempts per S3 call, the first included (`APIFY_KV_S3_MAX_ATTEMPTS`). Default 3. */
  maxAttempts?: number;
}

export const DEFAULT_METADATA_CACHE_MILLIS = 1000;
export const DEFAULT_CONNECT_TIMEOUT_MILLIS = 3000;
export const DEFAULT_REQUEST_TIMEOUT_MILLIS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 3;

export const S3_URL_SCHEME = 's3://';

export function isS3Url(storage: string): boolean {
  return storage.startsWith(S3_URL_SCHEME);
}

/** Parses `s3://BUCKET[/PREFIX]`; throws a clear error on anything else. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  if (!isS3Url(url)) throw new Error(`Not an S3 storage URL (expected s3://BUCKET/PREFIX): ${url}`);
  const rest = url.slice(S3_URL_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`Not a valid S3 bucket name in ${url}: ${JSON.stringify(bucket)}.`);
  }
  if (prefix.split('/').some((part) => part === '.' || part === '..' || part === '')) {
    if (prefix !== '') throw new Error(`Not a valid S3 key prefix in ${url}: ${JSON.stringify(prefix)}.`);
  }
  return { bucket, prefix };
}

/**
 * Options for `s3://BUCKET/PREFIX` with the rest taken from `overrides`, else the environment:
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION,
 * AWS_S3_FORCE_PATH_STYLE (true when an endpoint is set, unless `false`),
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, and
 * APIFY_KV_S3_METADATA_CACHE_MILLIS, APIFY_KV_S3_CONNECT_TIMEOUT_MILLIS,
 * APIFY_KV_S3_REQUEST_TIMEOUT_MILLIS, APIFY_KV_S3_MAX_ATTEMPTS.
 */
export function s3OptionsFromUrl(
  url: string,
  overrides: Partial<Omit<S3StorageOptions, 'bucket' | 'prefix'>> = {},
  env: NodeJS.ProcessEnv = process.env,
): S3StorageOptions {
  const { bucket, prefix } = parseS3Url(url);
  const endpoint = overrides.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const pathStyleEnv = env.AWS_S3_FORCE_PATH_STYLE;
  const forcePathStyle =
    overrides.forcePathStyle ?? (pathStyleEnv !== undefined ? pathStyleEnv === 'true' || pathStyleEnv === '1' : Boolean(endpoint));
  return {
    bucket,
    prefix,
    endpoint,
    region: overrides.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle,
    accessKeyId: overrides.accessKeyId ?? env.AWS_ACCESS_KEY_ID,
    secretAccessKey: overrides.secretAccessKey ?? env.AWS_SECRET_ACCESS_KEY,
    sessionToken: overrides.sessionToken ?? env.AWS_SESSION_TOKEN,
    uploadUrlMaxSeconds: overrides.uploadUrlMaxSeconds,
    metadataCacheMillis: overrides.metadataCacheMillis ?? wholeFromEnv(env, 'APIFY_KV_S3_METADATA_CACHE_MILLIS', 0),
    connectTimeoutMillis: overrides.connectTimeoutMillis ?? wholeFromEnv(env, 'APIFY_KV_S3_CONNECT_TIMEOUT_MILLIS', 1),
    requestTimeoutMillis: overrides.requestTimeoutMillis ?? wholeFromEnv(env, 'APIFY_KV_S3_REQUEST_TIMEOUT_MILLIS', 1),
    maxAttempts: overrides.maxAttempts ?? wholeFromEnv(env, 'APIFY_KV_S3_MAX_ATTEMPTS', 1),
  };
}

function wholeFromEnv(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be a whole number >= ${min} (got ${JSON.stringify(value)}).`);
  }
  return n;
}
