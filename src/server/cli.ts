/** `apify-kv serve`: start the server from the command line and stop it cleanly on a signal. */
import { parseArgs } from 'node:util';
import { parseAllowedOrigins } from './origins.js';
import { isS3Url, parseS3Url } from '../storage/s3/config.js';
import { DEFAULT_HOST, DEFAULT_PORT, startServer, type RunningServer, type StartServerOptions } from './server.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './request-log.js';

/** The variable `serve` takes its token from when `--token` is not given (flags show in `ps`). */
export const SERVER_TOKEN_ENV = 'APIFY_KV_SERVER_TOKEN';

export interface ServeOptions extends StartServerOptions {
  /** Where the "Listening on" line goes. Default stdout. */
  stdout?: NodeJS.WritableStream;
  /** Where warnings and errors go. Default stderr. */
  stderr?: NodeJS.WritableStream;
}

/**
 * Starts the server, prints `Listening on http://HOST:PORT`, and on SIGINT/SIGTERM stops
 * accepting connections, finishes requests in flight, closes the storage and exits 0.
 * A second signal exits at once with 1.
 */
export async function serveFromCli(options: ServeOptions = {}): Promise<RunningServer> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const running = await startServer({
    ...options,
    // Request lines go where "Listening on" goes, readable unless asked for JSON.
    requestLog: { format: 'pretty', level: 'info', destination: stdout, ...options.requestLog },
    logger: {
      info: (m) => stdout.write(`${m}\n`),
      warn: (m) => stderr.write(`${m}\n`),
      error: (m) => stderr.write(`${m}\n`),
      ...options.logger,
    },
  });
  stdout.write(`Listening on ${running.url}\n`);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    stderr.write(`Received ${signal}, finishing requests in flight...\n`);
    running.close().then(
      () => process.exit(0),
      (err: Error) => {
        stderr.write(`Shutdown failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return running;
}

export const SERVE_USAGE = `Usage: apify-kv serve [options]

Options:
  --host HOST                 interface to bind (default ${DEFAULT_HOST})
  --port PORT                 port, 0 for any free one (default ${DEFAULT_PORT})
  --storage-dir DIR           storage root (default $APIFY_LOCAL_STORAGE_DIR, $CRAWLEE_STORAGE_DIR or ./storage)
  --storage s3://BUCKET/PREFIX
                              keep the stores in S3 instead (any number of servers may share
                              one bucket); credentials and region from $AWS_* variables;
                              needs npm install @aws-sdk/client-s3 @aws-sdk/s3-request-presigner
  --s3-endpoint URL           S3 endpoint, e.g. http://127.0.0.1:7480 (default $AWS_ENDPOINT_URL)
  --s3-region REGION          S3 region (default $AWS_REGION or us-east-1)
  --s3-path-style true|false  path-style URLs (default true with an endpoint; $AWS_S3_FORCE_PATH_STYLE)
  --s3-connect-timeout-ms N   longest wait for a connection to S3 (default 3000)
  --s3-request-timeout-ms N   longest wait for an S3 answer to begin or a body to move (default 10000)
  --s3-max-attempts N         attempts per S3 call, retries included (default 3)
  --token TOKEN               require this API token (default $${SERVER_TOKEN_ENV}; prefer the
                              variable: a flag's value shows in process lists)
  --users-file FILE           JSON file with users and their tokens
  --max-payload-bytes N       largest record body of a plain PUT (default 9437184)
  --max-direct-upload-bytes N largest record body through a direct upload URL (default 1073741824)
  --max-connections N         connections served at once; more are closed (default 1000,
                              lowered to what the open-files limit, ulimit -n, leaves room for)
  --max-open-folders N        store folders kept open for fsyncs, across all stores; the least
                              recently used is closed beyond it (default 64, lowered to an
                              eighth of the open-files limit; 0 keeps none open)
  --index-memory-mib N        memory all stores' key indexes may hold together; beyond it the
                              least recently used idle store's index is dropped and loaded
                              again at its next use (default 512)
  --max-connections-per-address N
                              connections one client address may hold; more are closed
                              (default 256; 0 for no limit, e.g. behind a local reverse proxy)
  --consistency-lag-ms N      simulate eventual consistency for up to N ms after writes (default 0)
  --rate-limit N              simulate the platform's rate limit: N requests per second per
                              store, more answered 429 with Retry-After (default off)
  --allow-origin ORIGIN       without a token, also answer web pages from ORIGIN (repeatable;
                              * for any); pages from this machine are always answered
  --metrics                   serve Prometheus metrics at /metrics (with a token when the
                              server has any)
  --log-format pretty|json    one line per request, readable or JSON (default pretty)
  --log-level LEVEL           trace, debug, info, warn, error, fatal or silent (default info;
                              probes and scrapes log at debug, 5xx answers at error)
  -h, --help                  show this help`;

/**
 * Parses `serve` flags (without the command name) into server options. Throws on bad input.
 * The token comes from `--token`, else from `$APIFY_KV_SERVER_TOKEN` in `env`.
 */
export function parseServeArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): StartServerOptions & { help?: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'storage-dir': { type: 'string' },
      storage: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-region': { type: 'string' },
      's3-path-style': { type: 'string' },
      's3-connect-timeout-ms': { type: 'string' },
      's3-request-timeout-ms': { type: 'string' },
      's3-max-attempts': { type: 'string' },
      token: { type: 'string' },
      'users-file': { type: 'string' },
      'max-payload-bytes': { type: 'string' },
      'max-direct-upload-bytes': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'max-open-folders': { type: 'string' },
      'index-memory-mib': { type: 'string' },
      'consistency-lag-ms': { type: 'string' },
      'rate-limit': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      metrics: { type: 'boolean' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const int = (value: string | undefined, flag: string, min: number) => {
    if (value === undefined) return undefined;
    if (!/^\d{1,15}$/.test(value) || Number(value) < min) throw new Error(`${flag} must be an integer >= ${min}.`);
    return Number(value);
  };
  const mib = (value: number | undefined) => (value === undefined ? undefined : value * 1024 * 1024);
  if (values.storage !== undefined && !isS3Url(values.storage)) throw new Error('--storage must be an s3://BUCKET/PREFIX URL (use --storage-dir for a folder).');
  if (values.storage !== undefined && values['storage-dir'] !== undefined) throw new Error('Use either --storage or --storage-dir, not both.');
  if (values.storage !== undefined) parseS3Url(values.storage);
  const logFormat = values['log-format'];
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) throw new Error(`--log-format must be one of ${LOG_FORMATS.join(', ')}.`);
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}.`);
  const envToken = values.token === undefined ? env[SERVER_TOKEN_ENV] : undefined;
  // Set but empty is a mistake (an unset variable in a compose file, say), not "no token".
  if (envToken === '') throw new Error(`$${SERVER_TOKEN_ENV} is set but empty: give it a token, or unset it.`);
  const pathStyle = values['s3-path-style'];
  if (pathStyle !== undefined && pathStyle !== 'true' && pathStyle !== 'false') throw new Error('--s3-path-style must be true or false.');
  return {
    host: values.host,
    port: int(values.port, '--port', 0),
    storageDir: values['storage-dir'],
    storage: values.storage,
    s3:
      values.storage === undefined
        ? undefined
        : {
            endpoint: values['s3-endpoint'],
            region: values['s3-region'],
            forcePathStyle: pathStyle === undefined ? undefined : pathStyle === 'true',
            connectTimeoutMillis: int(values['s3-connect-timeout-ms'], '--s3-connect-timeout-ms', 1),
            requestTimeoutMillis: int(values['s3-request-timeout-ms'], '--s3-request-timeout-ms', 1),
            maxAttempts: int(values['s3-max-attempts'], '--s3-max-attempts', 1),
          },
    token: values.token ?? envToken,
    usersFile: values['users-file'],
    maxPayloadBytes: int(values['max-payload-bytes'], '--max-payload-bytes', 1),
    maxDirectUploadBytes: int(values['max-direct-upload-bytes'], '--max-direct-upload-bytes', 1),
    maxConnections: int(values['max-connections'], '--max-connections', 1),
    maxConnectionsPerAddress: int(values['max-connections-per-address'], '--max-connections-per-address', 0),
    maxOpenFolders: int(values['max-open-folders'], '--max-open-folders', 0),
    indexBudgetBytes: mib(int(values['index-memory-mib'], '--index-memory-mib', 0)),
    consistencyLagMillis: int(values['consistency-lag-ms'], '--consistency-lag-ms', 0),
    rateLimitPerSecond: int(values['rate-limit'], '--rate-limit', 1),
    allowedOrigins: values['allow-origin'] && parseAllowedOrigins(values['allow-origin']),
    metrics: values.metrics,
    requestLog:
      logFormat === undefined && logLevel === undefined ? undefined : { format: logFormat as LogFormat | undefined, level: logLevel as LogLevel | undefined },
    help: values.help,
  };
}

/** The whole `serve` command: parse flags, print help or errors, serve. Resolves with the exit code on failure. */
export async function runServeCommand(argv: readonly string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<RunningServer | number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let options;
  try {
    options = parseServeArgs(argv);
  } catch (err) {
    stderr.write(`${(err as Error).message}\n\n${SERVE_USAGE}\n`);
    return 2;
  }
  if (options.help) {
    stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const { help: _help, ...serverOptions } = options;
  try {
    return await serveFromCli({ ...serverOptions, stdout, stderr });
  } catch (err) {
    stderr.write(`Cannot start the server: ${(err as Error).message}\n`);
    return 1;
  }
}
