/** The SDK KeyValueStore suite on its API backend, the server running on the S3 backend. */
import { serveTestServersOverS3 } from '../support/s3-service.js';

serveTestServersOverS3();

// Loaded after the switch above, so that its server runs on S3.
await import('../sdk/key-value-store.test.js');
