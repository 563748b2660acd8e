/**
 * One log line per request: request id, method, route template, status, duration and bytes.
 * Never the raw path, the query or a header, so neither a record key nor a token (which may
 * ride in `?token=`) reaches the log. Also feeds the request metrics. The logger itself (pino)
 * is made in `logger.ts`, loaded only when requests are logged.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { LIVE_PATH, READY_PATH } from './health.js';
import type { ServerMetrics } from './metrics.js';
import { routeTemplate } from './routes.js';
import { findWebFile } from './web.js';

export const METRICS_PATH = '/metrics';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RequestLogOptions {
  /** `json`: one JSON object a line; `pretty` (default): one readable line. */
  format?: LogFormat;
  /** Request lines are `info` (`error` for 5xx, `debug` for probes and scrapes). Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default stdout. */
  destination?: { write(line: string): unknown };
}

/** A request id we take from the client: visible ASCII, no spaces, bounded (it goes into logs and headers). */
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const REQUEST_ID_HEADER = 'X-Request-Id';
const QUIET_PATHS: ReadonlySet<string> = new Set([LIVE_PATH, READY_PATH, METRICS_PATH]);
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH']);

const requestIds = new WeakMap<IncomingMessage, string>();

/** The id a request got (for error lines about it), if requests are logged. */
export function requestIdOf(req: IncomingMessage): string | undefined {
  return requestIds.get(req);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** `handler`, logging each request to `log` and counting it in `metrics` once its answer ends. */
export function observeRequests(handler: Handler, log: Logger | undefined, metrics: ServerMetrics | undefined): Handler {
  return (req, res) => {
    const start = process.hrtime.bigint();
    let id: string | undefined;
    if (log) {
      const given = req.headers['x-request-id'];
      id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
      requestIds.set(req, id);
      res.setHeader(REQUEST_ID_HEADER, id);
    }
    const bytes = countBytes(req, res);
    res.once('close', () => {
      const route = routeTemplate(req.url ?? '/', QUIET_PATHS, (path) => findWebFile(path) !== null);
      const method = METHODS.has(req.method ?? '') ? req.method! : 'other';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics?.observeRequest({ route, method, status: res.statusCode, seconds, bytesIn: bytes.in, bytesOut: bytes.out });
      if (!log) return;
      const level = res.statusCode >= 500 ? 'error' : QUIET_PATHS.has(route) ? 'debug' : 'info';
      if (!log.isLevelEnabled(level)) return;
      log[level](
        {
          reqId: id,
          method,
          route,
          status: res.statusCode,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          bytesIn: bytes.in,
          bytesOut: bytes.out,
          // The client left (or was cut off) before the whole answer went out.
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
    handler(req, res);
  };
}

/**
 * Body bytes in and out, counted as they pass: what the client sent (before decoding) and what
 * we wrote. Counting at `push`/`write` leaves the streams' flow alone.
 */
function countBytes(req: IncomingMessage, res: ServerResponse): { in: number; out: number } {
  const counts = { in: 0, out: 0 };
  const size = (chunk: unknown, encoding?: unknown) =>
    typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk instanceof Uint8Array ? chunk.length : 0;
  const push = req.push;
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
    counts.in += size(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    counts.out += size(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  const end = res.end;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') counts.out += size(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
  return counts;
}
