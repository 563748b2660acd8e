/** `KeyValueStore.updateValue` through the API of servers over S3 (two instances sharing one bucket). */
import { serveTestServersOverS3 } from '../support/s3-service.js';

serveTestServersOverS3();

// Loaded after the switch above, so that its servers run on S3.
await import('../sdk/update-value.test.js');
