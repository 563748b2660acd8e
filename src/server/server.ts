/** Starting and stopping the HTTP server over a storage engine. */
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { FileStorage, LaggingStorage, resolveStorageDir } from '../storage/index.js';
import type { KeyValueStorage } from '../storage/types.js';
import { isS3Url, type S3StorageOptions } from '../storage/s3/config.js';
import { createHandler, type RequestHandler } from './app.js';
import { Authenticator, loadUsers, type ServerUser } from './auth.js';
import type { AppContext, ServerLogger } from './context.js';
import { OriginPolicy, parseAllowedOrigins } from './origins.js';
import { MAX_PAYLOAD_BYTES } from '../rules.js';
import { RateLimiter } from './rate-limit.js';
import { UrlSigner } from './signing.js';
import {
  answerAndDrop,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  limitConnectionsPerAddress,
  resolveConnectionCap,
} from './connection-limits.js';

export { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS };
import { Health } from './health.js';
import { createRequestLogger } from './logger.js';
import { ServerMetrics } from './metrics.js';
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

/** Options of a bare request handler (for mounting the API in another `node:http` server). */
export interface RequestHandlerOptions extends ApiOptions {
  /** The engine to serve; opened by the caller. */
  storage: KeyValueStorage;
}

function buildContext(
  options: Omit<RequestHandlerOptions, 'storage'> & { storage: KeyValueStorage },
  defaultBaseUrl: () => string,
  operations: Pick<AppContext, 'metrics' | 'requestLog'> = {},
): AppContext {
  checkApiOptions(options);
  const auth = new Authenticator(loadUsers(options));
  const logger = makeLogger(options.logger);
  const { metrics, requestLog } = operations;
  return {
    storage: metrics ? metrics.meter(options.storage) : options.storage,
    auth,
    origins: new OriginPolicy(auth.enabled, options.allowedOrigins, options.publicBaseUrl),
    signer: new UrlSigner(options.signingSecret),
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    maxDirectUploadBytes: options.maxDirectUploadBytes ?? DEFAULT_MAX_DIRECT_UPLOAD_BYTES,
    directUploadTtlMillis: options.directUploadTtlMillis ?? DEFAULT_DIRECT_UPLOAD_TTL_MILLIS,
    now: options.now ?? Date.now,
    logger,
    publicBaseUrl: options.publicBaseUrl,
    defaultBaseUrl,
    awaitingContinue: new WeakSet(),
    rateLimiter: options.rateLimitPerSecond ? new RateLimiter(options.rateLimitPerSecond, options.now) : undefined,
    health: new Health(options.storage, logger.warn),
    metrics,
    requestLog,
  };
}

/** The API as a plain `(req, res)` handler over an open storage engine. */
export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  return createHandler(buildContext(options, () => 'http://localhost'));
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
  /**
   * Store folders kept open for fsyncs (see `FileStorageOptions.maxOpenFolders`). Default 64,
   * lowered to an eighth of the open-files limit. Ignored with `storage`.
   */
  maxOpenFolders?: number;
  /**
   * Bytes all stores' key indexes may hold together (see `FileStorageOptions.indexBudgetBytes`).
   * Default 512 MiB. Ignored with `storage`.
   */
  indexBudgetBytes?: number;
  sweepIntervalMillis?: number;
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

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function checkCount(value: number | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
    throw new Error(`Option ${name} must be an integer from ${min} to ${max}.`);
  }
}

function checkApiOptions(options: ApiOptions): void {
  checkCount(options.maxPayloadBytes, 'maxPayloadBytes', 1);
  checkCount(options.maxDirectUploadBytes, 'maxDirectUploadBytes', 1);
  checkCount(options.directUploadTtlMillis, 'directUploadTtlMillis', 1000, MAX_DIRECT_UPLOAD_TTL_MILLIS);
  checkCount(options.rateLimitPerSecond, 'rateLimitPerSecond', 1, 1_000_000);
}

export function makeLogger(logger: Partial<ServerLogger> | undefined): ServerLogger {
  return {
    info: logger?.info ?? (() => {}),
    warn: logger?.warn ?? ((m) => process.stderr.write(`${m}\n`)),
    error: logger?.error ?? ((m) => process.stderr.write(`${m}\n`)),
  };
}

/**
 * The raw answer to a request Node's HTTP parser refused (raw control characters or spaces in
 * the target, conflicting Content-Length headers, ...): a contract error like any other.
 */
function unparsableRequestAnswer(err: NodeJS.ErrnoException): string {
  const [status, type, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'invalid-input', 'The request headers are too large.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', 'request-timeout', 'The request was not received in time.']
        : ['400 Bad Request', 'invalid-input', 'The request is not valid HTTP/1.1.'];
  const body = JSON.stringify({ error: { type, message } });
  return (
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  checkCount(port, 'port', 0);
  if (port > 65535) throw new Error('Option port must be at most 65535.');
  checkApiOptions(options);
  checkCount(options.consistencyLagMillis, 'consistencyLagMillis', 0);
  checkCount(options.headersTimeoutMillis, 'headersTimeoutMillis', 1);
  checkCount(options.requestTimeoutMillis, 'requestTimeoutMillis', 0);
  checkCount(options.maxConnections, 'maxConnections', 1);
  checkCount(options.maxConnectionsPerAddress, 'maxConnectionsPerAddress', 0);
  checkCount(options.sweepIntervalMillis, 'sweepIntervalMillis', 0);
  checkCount(options.maxOpenFolders, 'maxOpenFolders', 0);
  checkCount(options.indexBudgetBytes, 'indexBudgetBytes', 0);
  const logger = makeLogger(options.logger);
  // Users and origins are checked before anything touches the disk.
  const users = loadUsers(options);
  parseAllowedOrigins(options.allowedOrigins);

  let ownsStorage = !options.storage || typeof options.storage === 'string';
  const storageDir = options.storageDir ?? resolveStorageDir(process.env);
  let storage: KeyValueStorage =
    typeof options.storage === 'string'
      ? await openS3(options.storage, options)
      : options.storage ??
    new FileStorage({
      storageDir,
      unnamedRetentionMillis: options.unnamedRetentionMillis,
      sweepIntervalMillis: options.sweepIntervalMillis,
      maxOpenFolders: options.maxOpenFolders,
      indexBudgetBytes: options.indexBudgetBytes,
      now: options.now,
    });
  await storage.open();
  // A storage we open ourselves (a folder, an S3 prefix) keeps the signing secret beside its
  // stores, so every server over it and every restart signs alike.
  let signingSecret = options.signingSecret;
  if (signingSecret === undefined && ownsStorage) {
    try {
      signingSecret = (await storage.loadOrCreateSigningSecret?.()) ?? undefined;
    } catch (err) {
      await storage.close();
      throw err;
    }
  }
  const lag = options.consistencyLagMillis ?? 0;
  if (lag > 0) {
    storage = new LaggingStorage(storage, { maxLagMillis: lag, now: options.now });
    ownsStorage = true;
    await storage.open();
  }

  let url = formatUrl(host, port);
  const ctx = buildContext(
    { ...options, users, token: undefined, usersFile: undefined, storage, logger, signingSecret },
    () => url,
    await loadOperations(options, storage),
  );
  const handler = createHandler(ctx);

  // Requests in progress. close() waits for the writes among them (their data must land);
  // reads are cut off, so a reader that stopped reading cannot hold the shutdown.
  const active = new Set<http.ServerResponse>();
  const activeWrites = new Set<http.ServerResponse>();
  let closing = false;
  let onIdle: (() => void) | null = null;
  const track = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const isWrite = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    active.add(res);
    if (isWrite) activeWrites.add(res);
    if (closing) res.setHeader('Connection', 'close');
    res.on('close', () => {
      active.delete(res);
      activeWrites.delete(res);
      if (activeWrites.size === 0) onIdle?.();
    });
    handler(req, res);
  };

  const headersTimeout = options.headersTimeoutMillis ?? DEFAULT_HEADERS_TIMEOUT_MILLIS;
  const requestTimeout = options.requestTimeoutMillis ?? DEFAULT_REQUEST_TIMEOUT_MILLIS;
  const server = http.createServer(
    {
      headersTimeout: requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout,
      requestTimeout,
      // How often those two limits are checked: a fraction of the shorter one, at most 5 s.
      connectionsCheckingInterval: Math.max(50, Math.min(5000, Math.floor(headersTimeout / 4))),
    },
    track,
  );
  const connectionCap = resolveConnectionCap(options.maxConnections);
  if (connectionCap.note) logger.warn(connectionCap.note);
  server.maxConnections = connectionCap.cap;
  limitConnectionsPerAddress(server, options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
  ctx.metrics?.watch(server);
  server.on('checkContinue', (req, res) => {
    // Answer "100 Continue" only once we know we want the body (see allowBody).
    ctx.awaitingContinue.add(req);
    track(req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const inFlight = (socket as { _httpMessage?: http.ServerResponse })._httpMessage;
    // Bytes after a request that said `Connection: close` are not a request (RFC 9112 9.6):
    // let that request's answer finish; the connection closes after it.
    if (err.code === 'HPE_CLOSED_CONNECTION' && inFlight && !inFlight.writableEnded) return;
    // As Node's own handler: answer only if no response already started on this connection,
    // then drop the connection (a half-closed one stays open while the client keeps sending).
    if (socket.writable && !inFlight?.headersSent) answerAndDrop(socket as net.Socket, unparsableRequestAnswer(err));
    else socket.destroy();
  });
  server.setTimeout(options.idleTimeoutMillis ?? 120_000);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (ownsStorage) await storage.close();
    throw err;
  }
  const realPort = (server.address() as AddressInfo).port;
  url = formatUrl(host, realPort);

  if (!ctx.auth.enabled && !isLoopbackHost(host)) {
    logger.warn(
      `WARNING: listening on ${host} without any token: anyone who can reach ${url} can read, change and delete every store. ` +
        'Use --token or --users-file, or bind to 127.0.0.1.',
    );
  }

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      ctx.health.draining = true;
      for (const res of active) if (!res.headersSent) res.setHeader('Connection', 'close');
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (activeWrites.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.shutdownTimeoutMillis ?? 30_000);
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await serverClosed;
      if (ownsStorage) await storage.close();
    })();
    return closed;
  };

  return { url, host, port: realPort, server, storage, close };
}

/** Metrics and the request logger, when asked for; their libraries are loaded only then. */
async function loadOperations(options: StartServerOptions, storage: KeyValueStorage): Promise<Pick<AppContext, 'metrics' | 'requestLog'>> {
  const metrics = options.metrics ? await ServerMetrics.create(storage) : undefined;
  const requestLog = options.requestLog ? await createRequestLogger(options.requestLog) : undefined;
  return { metrics, requestLog };
}

/** An `s3://` storage; its module (and through it the AWS SDK) is loaded only now. */
async function openS3(url: string, options: StartServerOptions): Promise<KeyValueStorage> {
  if (!isS3Url(url)) throw new Error(`Option storage must be a storage engine or an s3://BUCKET/PREFIX URL (got ${JSON.stringify(url)}).`);
  const { openS3Storage, loadS3Peers } = await import('../storage/s3/open.js');
  // Fails at once, with the packages to install, when the AWS SDK is missing.
  await loadS3Peers();
  return openS3Storage(url, options.s3, {
    unnamedRetentionMillis: options.unnamedRetentionMillis,
    sweepIntervalMillis: options.sweepIntervalMillis,
    now: options.now,
  });
}
