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
}

export const DEFAULT_METADATA_CACHE_MILLIS = 1000;

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
 * APIFY_KV_S3_METADATA_CACHE_MILLIS.
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
    metadataCacheMillis: overrides.metadataCacheMillis ?? cacheMillisFromEnv(env.APIFY_KV_S3_METADATA_CACHE_MILLIS),
  };
}

function cacheMillisFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const millis = Number(value);
  if (!Number.isSafeInteger(millis) || millis < 0) {
    throw new Error(`APIFY_KV_S3_METADATA_CACHE_MILLIS must be a whole number of milliseconds (got ${JSON.stringify(value)}).`);
  }
  return millis;
}
