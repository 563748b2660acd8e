export { S3Backend } from './s3-backend.js';
export { isS3Url, parseS3Url, s3OptionsFromUrl, type S3StorageOptions } from './config.js';
export { loadS3Peers, loadS3Presigner, loadS3Sdk, S3_PEER_PACKAGES, S3PackagesMissingError } from './peers.js';
export { openS3Storage } from './open.js';
