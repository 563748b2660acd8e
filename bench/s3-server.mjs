// One `apify-kv` server over S3 for bench/s3.mjs, in its own process: the storage URL is
// argv[2], the endpoint and credentials come from the AWS_* variables. Sends its URL over IPC.
import { startServer } from '../dist/server/index.js';

const server = await startServer({ host: '127.0.0.1', port: 0, storage: process.argv[2] });
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
// Gone with the benchmark, however it ends.
process.on('disconnect', () => process.exit(0));
process.send({ url: server.url });
