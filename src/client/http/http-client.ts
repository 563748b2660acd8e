/**
 * The one HTTP layer: an axios instance, the retry loop that follows `retry.ts`, the token in the
 * `Authorization` header, and transport errors converted once into the client's own errors.
 *
 * Request path: `HttpClient.request` prepares the body once (compressing it if asked), then
 * sends attempts through the axios instance until one succeeds or the policy says stop. Whatever
 * adapter the instance has carries each attempt. The adapter comes from the client options, else
 * from the platform module (`platform/node.ts` in Node, `platform/browser.ts` in the browser),
 * which is where a custom Node adapter plugs in.
 *
 * The loop is our own rather than axios-retry's: that library re-sends a consumed stream as an
 * empty body, skips timeouts, and waits on timers a cancelled call cannot interrupt.
 */
import axios, { type AxiosAdapter, type AxiosError, type AxiosInstance, type AxiosRequestConfig } from 'axios';
import type { PreparedBody } from '../body.js';
import { platform } from '../platform/node.js';
import type { StreamSource } from '../platform/types.js';
import { ApifyApiError, ApifyNetworkError, redact, REDACTED } from './errors.js';
import { isRetryable, isTimeout, parseRetryAfter, retryDelayMillis, type RetryPolicy } from './retry.js';
import { abortReason } from './sleep.js';

/** HTTP methods the client uses. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** Name of an axios adapter, or an adapter function. */
export type AdapterOption = 'http' | 'fetch' | 'xhr' | AxiosAdapter;

/** Options every call accepts. */
export interface CallOptions {
  /** Aborts the call, including any wait between retries. The call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time limit of each attempt, in seconds. Overrides the client's `timeoutSecs`. */
  timeoutSecs?: number;
  /** Retries after the first attempt. Overrides the client's `maxRetries`. */
  maxRetries?: number;
}

/** One request, as the resource methods describe it. */
export interface HttpRequest {
  method: HttpMethod;
  /** Path below the base URL, each segment already encoded (see `encodePathSegment`). */
  path?: string;
  /** An absolute URL outside the API (a signed upload URL). The token is never sent there. */
  url?: string;
  /** Query parameters; undefined values are left out, booleans sent as `1`/`0`. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Extra request headers. */
  headers?: Record<string, string>;
  body?: PreparedBody;
  /** Gzip a buffered body when the platform compresses and the body is large enough. */
  compress?: boolean;
  /** `stream` hands the response body back unread; default `bytes` buffers it. */
  responseType?: 'bytes' | 'stream';
  /** False for a request that must not run twice; it is then retried only when surely not acted on. */
  idempotent?: boolean;
  call?: CallOptions;
}

/** An answer with a 2xx status. */
export interface HttpResponse {
  status: number;
  /** A response header, by case-insensitive name. */
  header(name: string): string | undefined;
  /** The body (`responseType: 'bytes'`). */
  bytes: Uint8Array;
  /** The unread body (`responseType: 'stream'`). */
  stream: unknown;
}

/** What the HTTP layer needs to know about the client. */
export interface HttpClientConfig {
  /** Origin (and optional path prefix) the API paths are appended to. */
  baseUrl: string;
  /** Current token; read on every request, so `setOptions` takes effect at once. */
  token: () => string | undefined;
  /** Current defaults of per-call options. */
  defaults: () => { timeoutSecs: number; retry: RetryPolicy };
  adapter?: AdapterOption;
  /** Waits between attempts; rejects when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** At most this much of an error body is read to find the server's message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const EMPTY = new Uint8Array(0);

/** Encodes one path segment. `!'()*` are encoded as well, so no key has a special meaning in a URL. */
export function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function queryString(query: HttpRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.append(name, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  // Tag checks, not instanceof: the buffer may come from another realm (an iframe, a VM context).
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return EMPTY;
}

/** The path of an absolute URL without its query (a signed URL's query is a secret). */
function pathOfUrl(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0]!;
  }
}

/** The one place requests are sent from. */
export class HttpClient {
  /** The axios instance; its adapter carries every attempt. */
  readonly axios: AxiosInstance;

  constructor(private readonly config: HttpClientConfig) {
    const defaults = platform.transportDefaults();
    this.axios = axios.create({
      ...defaults,
      adapter: config.adapter ?? defaults.adapter,
      // Only 2xx is a success; everything else goes through the retry loop and `toClientError`.
      validateStatus: (status) => status >= 200 && status < 300,
      // Bodies are encoded and decoded by the client itself.
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      // The API enforces its own limits; large records take the direct-upload path.
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  /** Sends a request (with retries) and returns its 2xx answer, or throws the client's error. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const defaults = this.config.defaults();
    const call = req.call ?? {};
    const policy: RetryPolicy =
      call.maxRetries === undefined ? defaults.retry : { ...defaults.retry, maxRetries: call.maxRetries };
    const timeoutSecs = call.timeoutSecs ?? defaults.timeoutSecs;
    const url = (req.url ?? this.config.baseUrl + req.path) + queryString(req.query);

    // `false` keeps axios from adding a header of its own (it would label an empty POST as a form).
    const headers: Record<string, string | false> = { 'Content-Type': false, ...req.headers };
    const token = req.url ? undefined : this.config.token();
    if (token) headers.Authorization = `Bearer ${token}`;

    let data: unknown;
    let streamSource: StreamSource | undefined;
    if (req.body) {
      headers['Content-Type'] = req.body.contentType;
      if (req.body.bytes) {
        let bytes = req.body.bytes;
        const compressed = req.compress ? await platform.compress(bytes) : undefined;
        if (compressed) {
          bytes = compressed.data;
          headers['Content-Encoding'] = compressed.encoding;
        }
        data = platform.requestData(bytes);
      } else if (req.body.stream) {
        streamSource = req.body.stream;
        const size = await streamSource.size();
        if (size !== undefined) headers['Content-Length'] = String(size);
        data = streamSource.open();
      }
    }

    const stream = req.responseType === 'stream';
    const idempotent = req.idempotent !== false;
    const axiosConfig: AxiosRequestConfig = {
      method: req.method,
      url,
      headers,
      signal: call.signal,
      timeout: Math.max(1, Math.round(timeoutSecs * 1000)),
      responseType: stream ? 'stream' : 'arraybuffer',
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.axios.request({ ...axiosConfig, data });
        return {
          status: response.status,
          header: (name) => {
            const value = response.headers[name.toLowerCase()];
            return value === undefined || value === null ? undefined : String(value);
          },
          bytes: stream ? EMPTY : toBytes(response.data),
          stream: stream ? response.data : undefined,
        };
      } catch (error) {
        const retry =
          attempt <= policy.maxRetries &&
          axios.isAxiosError(error) &&
          !call.signal?.aborted &&
          // A one-shot stream was consumed by the failed attempt; re-sending would send it empty.
          (!streamSource || streamSource.replayable) &&
          isRetryable(error, idempotent);
        if (!retry) throw await this.toClientError(error, req, call.signal, attempt);
        // The failed answer's body will not be read; free its socket.
        if (stream && error.response) platform.discardStream(error.response.data);
        const retryAfter = parseRetryAfter(error.response?.headers?.['retry-after'], Date.now());
        // Rejects with the signal's reason when the call is cancelled meanwhile.
        await this.config.sleep(retryDelayMillis(policy, attempt, retryAfter), call.signal);
        if (streamSource) data = streamSource.open();
      }
    }
  }

  /** Converts whatever axios threw into the client's error, once, with secrets removed. */
  private async toClientError(
    error: unknown,
    req: HttpRequest,
    signal: AbortSignal | undefined,
    attempt: number,
  ): Promise<unknown> {
    if (signal?.aborted) return abortReason(signal);
    if (!axios.isAxiosError(error)) return error;
    const secrets = [this.config.token()];
    const method = req.method;
    const path = redact(req.path ?? pathOfUrl(req.url ?? ''), secrets);
    const response = error.response;
    const cause = sanitize(error, secrets);

    if (response && response.status >= 300) {
      let bytes: Uint8Array;
      try {
        bytes =
          req.responseType === 'stream'
            ? await platform.readStream(response.data, MAX_ERROR_BODY_BYTES)
            : toBytes(response.data);
      } catch {
        bytes = EMPTY;
      }
      const { type, message } = parseErrorBody(bytes);
      return new ApifyApiError(
        {
          method,
          path,
          attempt,
          statusCode: response.status,
          type: type ?? 'unknown-error',
          serverMessage: redact(message ?? `Request failed with status code ${response.status}`, secrets),
        },
        cause,
      );
    }
    const timeout = isTimeout(error);
    return new ApifyNetworkError(
      {
        method,
        path,
        attempt,
        type: timeout ? 'timeout' : 'network-error',
        code: error.code,
        detail: redact(error.message || String(error.code ?? 'request failed'), secrets),
      },
      cause,
    );
  }
}

function parseErrorBody(bytes: Uint8Array): { type?: string; message?: string } {
  if (bytes.byteLength === 0) return {};
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { error?: { type?: unknown; message?: unknown } };
    const type = typeof parsed.error?.type === 'string' ? parsed.error.type : undefined;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
    return { type, message };
  } catch {
    return {};
  }
}

/**
 * Strips an axios error down to what is safe to keep as `cause`: no request object (its raw
 * headers hold the token), no agents or sockets, the `Authorization` header redacted, and no
 * secret in its message or stack.
 */
function sanitize(error: AxiosError, secrets: (string | undefined)[]): AxiosError {
  const config = error.config;
  if (config) {
    const headers: Record<string, unknown> = {};
    const source = (config.headers ?? {}) as { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
    const plain = typeof source.toJSON === 'function' ? source.toJSON() : source;
    for (const [name, value] of Object.entries(plain)) {
      headers[name] = name.toLowerCase() === 'authorization' ? `Bearer ${REDACTED}` : value;
    }
    error.config = {
      method: config.method,
      url: config.url === undefined ? undefined : redact(config.url.split('?')[0]!, secrets),
      timeout: config.timeout,
      headers,
    } as unknown as typeof error.config;
  }
  delete (error as { request?: unknown }).request;
  if (error.response) {
    const { status, statusText, headers } = error.response;
    error.response = { status, statusText, headers, data: undefined } as unknown as typeof error.response;
  }
  // The transport's own errors down the cause chain get the same treatment.
  let link: unknown = error;
  for (let depth = 0; depth < 5 && link instanceof Error; depth++) {
    link.message = redact(link.message, secrets);
    if (link.stack) link.stack = redact(link.stack, secrets);
    link = link.cause;
  }
  return error;
}
