export { S3Backend } from './s3-backend.js';
export { isS3Url, parseS3Url, s3OptionsFromUrl, type S3StorageOptions } from './config.js';
export { loadS3Sdk } from './s3-client.js';
export { openS3Storage } from './open.js';
