import { StorageService, type StorageServiceOptions } from '../service.js';
import { s3OptionsFromUrl, type S3StorageOptions } from './config.js';
import { S3Backend } from './s3-backend.js';

export { loadS3Peers } from './peers.js';

/**
 * The key-value storage over `s3://BUCKET/PREFIX`: the storage service over the S3 backend.
 * Whatever `overrides` leaves out comes from the AWS_* environment variables.
 */
export function openS3Storage(
  url: string,
  overrides: Partial<Omit<S3StorageOptions, 'bucket' | 'prefix'>> = {},
  serviceOptions: StorageServiceOptions = {},
): StorageService & { backend: S3Backend } {
  const backend = new S3Backend(s3OptionsFromUrl(url, overrides));
  return new StorageService(backend, serviceOptions) as StorageService & { backend: S3Backend };
}
