/**
 * The reliability suites (the fault run through a fault-injecting proxy, the load run, the
 * bad-input fuzzing) over S3: the same test files, their server processes started with
 * `--storage s3://BUCKET/PREFIX` on one throwaway gateway. Over S3 the fault run and the fuzzing
 * send fewer requests and the load run asks fewer per client (each suite says so): every request
 * costs S3 round trips to a gateway sharing the machine's cores.
 */
import { serveTestServersOverS3 } from '../support/s3-service.js';

serveTestServersOverS3();

// Loaded after the switch above, so that their servers run on S3.
await import('../reliability/fault-run.test.js');
await import('../reliability/load.test.js');
await import('../reliability/fuzz.test.js');
