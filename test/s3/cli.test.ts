/**
 * The CLI suites that talk to a server over `--api-url` (push, pull, keys, get, put, the fault
 * and signal handling of transfers) against a server on S3: the same test files, their API
 * servers each on a fresh prefix of one bucket. The commands that open a storage folder
 * themselves (`--storage-dir`) are folder-only by design; those parts of the files run on their
 * folders here as well.
 */
import { serveTestServersOverS3 } from '../support/s3-service.js';

serveTestServersOverS3();

// Loaded after the switch above, so that their API servers run on S3.
await import('../cli/transfer.test.js');
await import('../cli/faults.test.js');
