/**
 * The server's API contract suites (stores, records, bodies, the official apify-client, the
 * streamed zip, Content-MD5 checks, shutdown with a restart on the same prefix) run again on the S3 backend: the
 * same test files, each server on a fresh prefix of one bucket.
 */
import { serveTestServersOverS3 } from '../support/s3-service.js';

serveTestServersOverS3();

// Loaded after the switch above, so that their servers run on S3.
await import('../server/stores.test.js');
await import('../server/records.test.js');
await import('../server/bodies.test.js');
await import('../server/content-md5.test.js');
await import('../server/official-client.test.js');
await import('../server/zip-stream.test.js');
await import('../server/shutdown.test.js');
