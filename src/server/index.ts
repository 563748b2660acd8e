/**
 * `apify-kv-client/server`: an Apify-compatible key-value-store API over the local file storage.
 *
 * ```ts
 * import { startServer } from 'apify-kv-client/server';
 * const server = await startServer({ port: 0, storageDir: './storage' });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export {
  startServer,
  createRequestHandler,
  type ApiOptions,
  type RequestHandlerOptions,
  isLoopbackHost,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type StartServerOptions,
  type RunningServer,
} from './server.js';
export { S3PackagesMissingError, S3_PEER_PACKAGES } from '../storage/s3/peers.js';
export type { S3StorageOptions } from '../storage/s3/config.js';
export type { RecordBody, RecordStore, StorageBackend, StoreCatalog } from '../storage/backend.js';
export { serveFromCli, runServeCommand, parseServeArgs, SERVE_USAGE, SERVER_TOKEN_ENV, type ServeOptions } from './cli.js';
export type { RequestLogOptions, LogFormat, LogLevel } from './request-log.js';
export type { RequestHandler } from './app.js';
export type { ServerLogger } from './context.js';
// The storage engine the server runs on, for callers that inject their own (`storage` option).
export { FileStorage, LaggingStorage, resolveStorageDir, StorageError, PayloadTooLargeError } from '../storage/index.js';
export type * from '../storage/types.js';
export type { LaggingStorageOptions } from '../storage/lagging-storage.js';
export type { ServerUser } from './auth.js';
