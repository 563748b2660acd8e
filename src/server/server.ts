/** Starting and stopping the HTTP server over a storage engine. */
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { FileStorage, LaggingStorage, resolveStorageDir } from '../storage/index.js';
import type { KeyValueStorage } from '../storage/types.js';
import { isS3Url } from '../storage/s3/config.js';
import { createHandler, type RequestHandler } from './app.js';
import { Authenticator, loadUsers } from './auth.js';
import type { AppContext, ServerLogger } from './context.js';
import { OriginPolicy, parseAllowedOrigins } from './origins.js';
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
import {
  checkApiOptions,
  checkServerOptions,
  DEFAULT_DIRECT_UPLOAD_TTL_MILLIS,
  DEFAULT_HEADERS_TIMEOUT_MILLIS,
  DEFAULT_HOST,
  DEFAULT_MAX_DIRECT_UPLOAD_BYTES,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_MILLIS,
  isLoopbackHost,
  type ApiOptions,
  type RunningServer,
  type StartServerOptions,
} from './server-options.js';

export * from './server-options.js';

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

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
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
  checkServerOptions(options);
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
