/**
 * A lean axios adapter for Node, written straight on `node:http`/`node:https` with keep-alive
 * agents. axios's own `http` adapter does much more per request than this client needs
 * (proxy lookup from the environment, follow-redirects wrapping, progress and form-data
 * machinery); this one does only what the client uses, so each request costs little more
 * than a bare `http.request`.
 *
 * It supports: an absolute `url`; `method`; `headers`; a body that is a Buffer, Uint8Array,
 * ArrayBuffer, string or Node Readable (piped, never buffered); `timeout` (per attempt, up to the
 * whole body, or up to the headers of a streamed response; failing with `ECONNABORTED` as axios
 * does); `signal`; `responseType: 'stream'` (the body handed back unread) or anything else (the
 * body as a Buffer); gzip, deflate and br responses;
 * redirects (up to `maxRedirects`, default 21; the `Authorization` header is dropped when a
 * redirect leaves the origin); `validateStatus`; and, on the short path below, the client's progress
 * counts (bytes handed to the socket, bytes of the body received or read). `params`, `baseURL`,
 * proxies and axios's progress options are not supported: the client does not use them (and picks
 * axios's `http` adapter when proxy variables are set).
 *
 * The client itself hands its requests over on a shorter path: axios's config then holds only the
 * method, URL and adapter, and the rest (final headers, body, timeout, response type, signal)
 * travels in `config.call` as a {@link PreparedRequest}. axios's work per request grows with
 * everything its config holds (each key is merged, each header normalised twice), and none of it
 * is needed for these; axios and axios-retry still carry every attempt.
 *
 * Errors are AxiosErrors, as axios's adapters raise them, so the retry layer treats both alike:
 * socket failures keep their code (`ECONNRESET`, ...), an error status carries the response.
 */
import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import {
  AxiosError,
  AxiosHeaders,
  CanceledError,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { counter, writeCounted } from './node-progress.js';
import { readWhole } from './whole-body.js';
import type { PreparedRequest } from './types.js';

/**
 * One pair of keep-alive agents for the process: sockets are reused across calls and clients.
 * Node unrefs idle sockets, so they never keep a finished script alive.
 */
export const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

/** `User-Agent` of the client's requests in Node. */
export const USER_AGENT = 'apify-kv-client';

/** The response encodings the adapter decodes. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

type Headers = Record<string, string | string[]>;

/** Request headers as Node takes them; `false`, `null` and `undefined` values mean "do not send". */
function plainHeaders(source: InternalAxiosRequestConfig['headers'] | Record<string, string>): Headers {
  const headers: Headers = {};
  let userAgent = false;
  let acceptEncoding = false;
  for (const name of Object.keys(source ?? {})) {
    const value = (source as Record<string, unknown>)[name];
    if (value === false || value === null || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(String) : String(value);
    const lower = name.toLowerCase();
    userAgent ||= lower === 'user-agent';
    acceptEncoding ||= lower === 'accept-encoding';
  }
  if (!userAgent) headers['User-Agent'] = USER_AGENT;
  if (!acceptEncoding) headers['Accept-Encoding'] = ACCEPT_ENCODING;
  return headers;
}

/**
 * The header list Node writes as it is. Given a list, Node skips its per-header bookkeeping
 * (a good part of a small request's cost), but then adds no `Host` and, as the head is written
 * before the body is known, no `Content-Length`: both are added here.
 */
function headerList(headers: Headers, origin: Origin, bodyLength: number | undefined): string[] {
  const list: string[] = [];
  let host = false;
  let length = false;
  for (const name in headers) {
    const value = headers[name]!;
    const lower = name.toLowerCase();
    host ||= lower === 'host';
    length ||= lower === 'content-length' || lower === 'transfer-encoding';
    if (typeof value === 'string') list.push(name, value);
    else for (const item of value) list.push(name, item);
  }
  if (!host) list.push('Host', origin.host);
  if (!length && bodyLength !== undefined) list.push('Content-Length', String(bodyLength));
  return list;
}

function deleteHeader(headers: Headers, name: string): void {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) delete headers[key];
}

/**
 * Length of a body sent in one piece; undefined for a stream (sent chunked unless its length is
 * given) and for no body where none is expected.
 */
function bodyLength(method: string, data: unknown): number | undefined {
  if (data === undefined || data === null) return method === 'POST' || method === 'PUT' || method === 'PATCH' ? 0 : undefined;
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return data.byteLength;
  return undefined;
}

function isStream(data: unknown): data is Readable {
  return typeof (data as Readable | null)?.pipe === 'function';
}

/** Where a request goes. */
interface Target {
  href: string;
  origin: Origin;
  /** Path and query. */
  path: string;
}

interface Origin {
  text: string;
  secure: boolean;
  hostname: string;
  port: string;
  /** The `Host` header: the host as the URL gives it (IPv6 in brackets), and a port other than the default. */
  host: string;
}

/** Origins already parsed, by their text: a client sends to very few, and `new URL` is not cheap. */
const origins = new Map<string, Origin>();
/** A path that needs no normalisation: nothing to escape, no dot segment, no fragment. */
const PLAIN_PATH = /^\/[\w\-.~%!$&'()*+,;=:@/?]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?]|$)/;

/** Splits an absolute URL; throws for an invalid one. */
function parseTarget(href: string): Target {
  const slash = href.indexOf('/', href.indexOf('//') + 2);
  const path = slash < 0 ? '/' : href.slice(slash);
  const known = origins.get(slash < 0 ? href : href.slice(0, slash));
  if (known && PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path)) return { href, origin: known, path };
  const url = new URL(href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`Unsupported protocol ${url.protocol}`);
  const origin: Origin = {
    text: url.origin,
    secure: url.protocol === 'https:',
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port,
    // `url.host` leaves out a default port already.
    host: url.host,
  };
  if (origins.size < 100 && href.startsWith(`${url.origin}/`)) origins.set(url.origin, origin);
  return { href: url.href, origin, path: url.pathname + url.search };
}

/** A decoder for a compressed response body, or undefined when it is not compressed. */
function decoder(encoding: string | undefined): zlib.Gunzip | zlib.Unzip | zlib.BrotliDecompress | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
    case 'deflate':
      // Unzip takes both gzip and zlib-wrapped deflate; a lenient flush tolerates a missing trailer.
      return zlib.createUnzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliDecompress({
        flush: zlib.constants.BROTLI_OPERATION_FLUSH,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      });
    default:
      return undefined;
  }
}

/**
 * Response headers for axios. Node already gives lower-case names; copying them into an
 * AxiosHeaders directly spares axios a second normalisation of every header.
 */
function responseHeaders(headers: http.IncomingHttpHeaders): AxiosHeaders {
  return Object.assign(new AxiosHeaders(), headers);
}

const isSuccess = (status: number) => status >= 200 && status < 300;

/** The axios adapter. */
export function nodeAdapter(config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
  const prepared = (config as { call?: PreparedRequest }).call;
  // The client's short path (see the top of this file), or an ordinary axios config.
  const input = prepared?.shortPath
    ? {
        headers: prepared.headers as Headers,
        data: prepared.data,
        timeout: prepared.timeoutMillis,
        stream: prepared.stream,
        signal: prepared.signal,
        validateStatus: isSuccess,
        upload: prepared.upload,
        download: prepared.download,
      }
    : {
        headers: plainHeaders(config.headers),
        data: config.data,
        timeout: config.timeout,
        stream: config.responseType === 'stream',
        signal: config.signal as AbortSignal | undefined,
        validateStatus: config.validateStatus,
        upload: undefined,
        download: undefined,
      };
  return new Promise((resolve, reject) => {
    const signal = input.signal;
    let req: http.ClientRequest | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;

    const cleanUp = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      cleanUp();
      req?.destroy();
      reject(error);
    };
    const finish = (response: AxiosResponse) => {
      if (settled) return;
      cleanUp();
      const validate = input.validateStatus;
      if (!validate || validate(response.status)) {
        resolve(response);
        return;
      }
      const code = response.status >= 400 && response.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
      reject(new AxiosError(`Request failed with status code ${response.status}`, code, config, req, response));
    };
    function onAbort() {
      fail(new CanceledError(undefined, config, req));
    }

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = input.timeout;
    if (timeout) {
      timer = setTimeout(() => {
        fail(new AxiosError(`timeout of ${timeout}ms exceeded`, AxiosError.ECONNABORTED, config, req));
      }, timeout);
    }

    const send = (target: Target, method: string, headers: Headers, data: unknown, redirectsLeft: number) => {
      const { secure, hostname, port } = target.origin;
      const request = (secure ? https : http).request({
        method,
        hostname,
        port,
        path: target.path,
        headers: headerList(headers, target.origin, bodyLength(method, data)) as never,
        agent: secure ? agents.https : agents.http,
      });
      req = request;
      request.on('error', (error) => {
        // A request left behind by a redirect no longer decides the outcome.
        if (req === request) fail(AxiosError.from(error, undefined, config, request));
      });
      request.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (location && status >= 300 && status < 400 && status !== 304) {
          const next = redirect(target, method, headers, data, status, location);
          if (next) {
            res.resume();
            if (redirectsLeft <= 0) {
              fail(new AxiosError('Maximum number of redirects exceeded', 'ERR_FR_TOO_MANY_REDIRECTS', config, request));
            } else {
              send(next.target, next.method, next.headers, next.data, redirectsLeft - 1);
            }
            return;
          }
        }

        let body: Readable = res;
        // The body's length, when it arrives as it is stored.
        const length = res.headers['content-encoding'] ? undefined : Number(res.headers['content-length'] ?? NaN);
        const total = length !== undefined && Number.isSafeInteger(length) ? length : undefined;
        const unzip = method === 'HEAD' || status === 204 || status === 304 ? undefined : decoder(res.headers['content-encoding']);
        if (unzip) {
          body = pipeline(res, unzip, () => undefined);
          delete res.headers['content-encoding'];
          delete res.headers['content-length'];
        }
        const response: AxiosResponse = {
          status,
          statusText: res.statusMessage ?? '',
          headers: responseHeaders(res.headers),
          config,
          request,
          data: body,
        };
        // Only a record's body is counted, not an error answer's.
        const download = isSuccess(status) ? input.download : undefined;
        if (input.stream) {
          // Counted as the reader takes the body, so the count ends with its last byte.
          if (download) response.data = pipeline(body, counter(download, total), () => undefined);
          finish(response);
          return;
        }
        readWhole(body, total, download, (data) => {
          response.data = data;
          finish(response);
        });
        // A body cut off half way: a network error, retried like one.
        const broken = (error?: Error & { code?: string }) =>
          fail(AxiosError.from(error ?? new Error('response body cut off'), error?.code ?? 'ECONNRESET', config, request));
        body.on('error', broken);
        res.on('close', () => {
          if (!res.complete) broken();
        });
      });

      if (data === undefined || data === null) request.end();
      else if (isStream(data)) {
        // A body that failed before it was handed over (a file that could not be opened again).
        const early = (data as Readable).errored as (Error & { code?: string }) | null;
        if (early) {
          fail(AxiosError.from(early, early.code ?? AxiosError.ERR_BAD_REQUEST, config, request));
          return;
        }
        // The body's own code (ENOENT for a file gone before a retry) tells whether to try again.
        data.on('error', (error: Error & { code?: string }) =>
          fail(AxiosError.from(error, error.code ?? AxiosError.ERR_BAD_REQUEST, config, request)),
        );
        data.pipe(request);
        // pipe() holds the source back while the socket is full: what was read is about what went.
        const upload = input.upload;
        let sent = 0;
        if (upload) data.on('data', (chunk: Uint8Array | string) => upload.report((sent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length)));
      } else if (input.upload && data instanceof Uint8Array) writeCounted(request, data, input.upload);
      else if (typeof data === 'string' || data instanceof Uint8Array) request.end(data);
      else if (data instanceof ArrayBuffer) request.end(Buffer.from(data));
      else fail(new AxiosError('Request body must be a Buffer, string or Readable', AxiosError.ERR_BAD_OPTION_VALUE, config));
    };

    let target: Target;
    try {
      target = parseTarget(config.url ?? '');
    } catch (error) {
      fail(new AxiosError(`Invalid URL ${config.url}: ${(error as Error).message}`, AxiosError.ERR_INVALID_URL, config));
      return;
    }
    send(target, (config.method ?? 'get').toUpperCase(), input.headers, input.data, config.maxRedirects ?? 21);
  });
}

/**
 * The request a redirect asks for, or undefined when it cannot be followed (a stream body
 * cannot be sent twice): then the 3xx answer itself is the result.
 */
function redirect(from: Target, method: string, headers: Headers, data: unknown, status: number, location: string) {
  let target: Target;
  try {
    target = parseTarget(new URL(location, from.href).href);
  } catch {
    return undefined;
  }
  const next = { target, method, headers: { ...headers }, data };
  // As browsers do: 303 turns any request into a GET, 301 and 302 turn a POST into one.
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    next.method = 'GET';
    next.data = undefined;
    for (const name of ['content-type', 'content-length', 'content-encoding']) deleteHeader(next.headers, name);
  } else if (isStream(data)) {
    return undefined;
  }
  // Credentials are meant for the API, not for whatever host it points to.
  if (target.origin.text !== from.origin.text) deleteHeader(next.headers, 'authorization');
  return next;
}
