/** The server's options, their defaults and their checks. */
import type http from 'node:http';
import type { KeyValueStorage } from '../storage/types.js';
import type { S3StorageOptions } from '../storage/s3/config.js';
import type { ServerUser } from './auth.js';
import type { ServerLogger } from './context.js';
import { MAX_PAYLOAD_BYTES } from '../rules.js';
import type { RequestLogOptions } from './request-log.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8010;
/** 9 MiB, the platform's limit for one request body (after decoding). */
export const DEFAULT_MAX_PAYLOAD_BYTES = MAX_PAYLOAD_BYTES;
/** 1 GiB: the largest body a direct upload URL takes (after decoding). */
export const DEFAULT_MAX_DIRECT_UPLOAD_BYTES = 1024 * 1024 * 1024;
/** How long a direct upload URL is valid, by default (15 minutes) and at most (1 day). */
export const DEFAULT_DIRECT_UPLOAD_TTL_MILLIS = 15 * 60_000;
const MAX_DIRECT_UPLOAD_TTL_MILLIS = 24 * 60 * 60_000;
/** A client gets this long to send its request headers (stops slowloris). */
export const DEFAULT_HEADERS_TIMEOUT_MILLIS = 20_000;
/** ... and this long to send the whole request, body included. */
export const DEFAULT_REQUEST_TIMEOUT_MILLIS = 10 * 60_000;

/** Options of the API itself, whether it runs as a server or as a bare request handler. */
export interface ApiOptions {
  /** Require this token; requests with it act as the local user. */
  token?: string;
  /** Several users, each with its own token. */
  users?: ServerUser[];
  /** JSON file with users: `[{ "id", "username", "token" }]` or `{ "users": [...] }`. */
  usersFile?: string;
  /** Largest record body accepted by a plain PUT/POST, counted after decoding. Default 9,437,184. */
  maxPayloadBytes?: number;
  /** Injected clock (epoch millis), for tests. */
  now?: () => number;
  /** Where info, warnings and errors go. Default: warnings and errors to stderr, info nowhere. */
  logger?: Partial<ServerLogger>;
  /**
   * Secret for signed URLs (direct uploads, public URLs) and the stores' `urlSigningSecretKey`.
   * Default: `startServer` keeps one beside the stores it opens, in
   * `{storageDir}/.apify-kv/signing-secret` or `s3://BUCKET/PREFIX/.apify-kv/signing-secret`
   * (made on first start), so they survive restarts and every server over one prefix shares
   * it; a bare handler or a server over a given engine makes a random one per start.
   */
  signingSecret?: string | Buffer;
  /** How long a direct upload URL is valid. Default 15 minutes, at most 1 day. */
  directUploadTtlMillis?: number;
  /** Largest body a direct upload URL takes, counted after decoding. Default 1 GiB. */
  maxDirectUploadBytes?: number;
  /** Base of the URLs the API hands out. Default: from each request's Host header. */
  publicBaseUrl?: string;
  /**
   * Web origins (`http://host:port`) whose pages may call an API that has no token, besides
   * pages from this machine (loopback origins) and the server's own. `['*']` allows every origin
   * and every host name. An API with a token answers every origin, as the Apify API does.
   */
  allowedOrigins?: string[];
  /**
   * Simulate the platform's rate limit: each store (and the store collection) takes at most this
   * many requests per second; more are answered `429 rate-limit-exceeded` with `Retry-After`.
   * Default: no limit.
   */
  rateLimitPerSecond?: number;
}

export interface StartServerOptions extends ApiOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; `0` picks a free one. Default 8010. */
  port?: number;
  /** Storage root; default `resolveStorageDir()` (env `APIFY_LOCAL_STORAGE_DIR`, `CRAWLEE_STORAGE_DIR`, or `./storage`). */
  storageDir?: string;
  /**
   * Use this engine instead of a `FileStorage` on `storageDir`. The caller keeps ownership:
   * `close()` does not close it (unless `consistencyLagMillis` wraps it: the wrapper closes what it wraps).
   * Or `s3://BUCKET/PREFIX`: stores in S3 (the server opens and closes it; see `s3`).
   */
  storage?: KeyValueStorage | string;
  /** For an `s3://` storage: endpoint, region, path style, credentials. Unset ones come from AWS_* variables. */
  s3?: Partial<Omit<S3StorageOptions, 'bucket' | 'prefix'>>;
  /** Simulate eventual consistency: reads may see the previous state for up to this long after a write. Default 0 (off). */
  consistencyLagMillis?: number;
  /** Unnamed stores expire this long after their last access. Default 7 days. */
  unnamedRetentionMillis?: number;
  /** How often expired unnamed stores are swept (also once at start). Default 1 hour; 0 = only at start. Ignored with `storage`. */
  sweepIntervalMillis?: number;
  /**
   * Store folders kept open for fsyncs (see `FileStorageOptions.maxOpenFolders`). Default 64,
   * lowered to an eighth of the open-files limit. Ignored with `storage`.
   */
  maxOpenFolders?: number;
  /** A connection idle this long is closed. Default 2 minutes. */
  idleTimeoutMillis?: number;
  /** A client that has not sent all its request headers this long after it started is cut off. Default 20 s. */
  headersTimeoutMillis?: number;
  /** A client that has not sent its whole request (body included) within this long is cut off. Default 10 minutes; 0 = no limit. */
  requestTimeoutMillis?: number;
  /**
   * Connections beyond this many at once are closed as they arrive. Default 1000, lowered to
   * what the process's open-files limit leaves room for (see `connection-limits.ts`).
   */
  maxConnections?: number;
  /** Connections one client address may hold at once; more are closed as they arrive. Default 256; 0 = no limit. */
  maxConnectionsPerAddress?: number;
  /** On `close()`, requests still running after this long are cut. Default 30 s. */
  shutdownTimeoutMillis?: number;
  /** Serve Prometheus metrics at `GET /metrics` (with a token when the server has any). Default off. */
  metrics?: boolean;
  /** Log one line per request (see `RequestLogOptions`). Default: no request lines. */
  requestLog?: RequestLogOptions;
}

export interface RunningServer {
  /** `http://host:port`, with the real port. */
  url: string;
  host: string;
  port: number;
  server: http.Server;
  storage: KeyValueStorage;
  /** Stops accepting connections, lets running requests finish, then closes the storage it opened. */
  close(): Promise<void>;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

function checkCount(value: number | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
    throw new Error(`Option ${name} must be an integer from ${min} to ${max}.`);
  }
}

export function checkApiOptions(options: ApiOptions): void {
  checkCount(options.maxPayloadBytes, 'maxPayloadBytes', 1);
  checkCount(options.maxDirectUploadBytes, 'maxDirectUploadBytes', 1);
  checkCount(options.directUploadTtlMillis, 'directUploadTtlMillis', 1000, MAX_DIRECT_UPLOAD_TTL_MILLIS);
  checkCount(options.rateLimitPerSecond, 'rateLimitPerSecond', 1, 1_000_000);
}

/** Throws on an option out of range, before anything is opened or bound. */
export function checkServerOptions(options: StartServerOptions): void {
  checkCount(options.port, 'port', 0, 65535);
  checkApiOptions(options);
  checkCount(options.consistencyLagMillis, 'consistencyLagMillis', 0);
  checkCount(options.headersTimeoutMillis, 'headersTimeoutMillis', 1);
  checkCount(options.requestTimeoutMillis, 'requestTimeoutMillis', 0);
  checkCount(options.maxConnections, 'maxConnections', 1);
  checkCount(options.maxConnectionsPerAddress, 'maxConnectionsPerAddress', 0);
  checkCount(options.sweepIntervalMillis, 'sweepIntervalMillis', 0);
  checkCount(options.maxOpenFolders, 'maxOpenFolders', 0);
}
