/** What the HTTP layer takes and gives: requests as the resources describe them, answers, options. */
import type { AxiosAdapter, AxiosRequestConfig } from 'axios';
import type { PreparedBody } from '../body.js';
import type { AdaptiveRateLimiter } from './adaptive-rate.js';
import type { ApifyApiError } from './errors.js';
import type { ProgressOptions } from './progress.js';
import type { RetryBudget } from './retry-budget.js';
import type { RetryPolicy } from './retry.js';

/** HTTP methods the client uses. */
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** Name of an axios adapter, or an adapter function. */
export type AdapterOption = 'http' | 'fetch' | 'xhr' | AxiosAdapter;

/**
 * A request hook, as apify-client v2 takes it (`requestInterceptors`): registered on the client's
 * axios instance, it gets each attempt's axios config (method, url, params, headers, the body as
 * encoded bytes) before it is sent and returns it, changed or not, or a Promise of it. A throw
 * fails the call with that error.
 */
export type RequestInterceptorFunction =
  | ((config: AxiosRequestConfig) => AxiosRequestConfig | Promise<AxiosRequestConfig>)
  | null
  | undefined;

/** Options every call accepts. */
export interface CallOptions {
  /** Aborts the call, including any wait between retries. The call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time limit of each attempt, in seconds. Overrides the client's `timeoutSecs`. */
  timeoutSecs?: number;
  /** Retries after the first attempt. Overrides the client's `maxRetries`. */
  maxRetries?: number;
  /**
   * Time limit of the whole call, all attempts and waits between them included, in seconds.
   * Overrides the client's `totalTimeoutSecs`.
   */
  totalTimeoutSecs?: number;
  /** Do not retry an attempt that timed out (other failures are still retried). */
  doNotRetryTimeouts?: boolean;
  /** @internal The client method making the call, for `ApifyApiError.clientMethod`. */
  clientMethod?: string;
}

/** One request, as the resource methods describe it. */
export interface HttpRequest {
  method: HttpMethod;
  /** Path below the base URL, each segment already encoded (see `encodePathSegment`). */
  path?: string;
  /** An absolute URL outside the API (a signed upload URL). The token is never sent there. */
  url?: string;
  /** Query parameters; undefined values are left out, booleans sent as `1`/`0` (as apify-client v2 does). */
  query?: Record<string, string | number | boolean | undefined>;
  /** Extra request headers. */
  headers?: Record<string, string>;
  body?: PreparedBody;
  /** Compress a buffered body when the platform compresses and the body is large enough. */
  compress?: boolean;
  /** `stream` hands the response body back unread; default `bytes` buffers it. */
  responseType?: 'bytes' | 'stream';
  /** False for a request that must not run twice; it is then retried only when surely not acted on. */
  idempotent?: boolean;
  /** The call's options; its progress callbacks watch this request's body and answer. */
  call?: CallOptions & ProgressOptions;
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
  /** The `data` of an API answer (`{"data": ...}`); a malformed or empty one throws an `invalid-response` error. */
  data<T>(): T;
  /** An `ApifyApiError` about this answer (a body the client cannot use). */
  invalid(type: string, message: string): ApifyApiError;
}

/** The client's defaults of per-call options. */
export interface CallDefaults {
  timeoutSecs: number;
  /** Time limit of a whole call; undefined = none. */
  totalTimeoutSecs?: number;
  retry: RetryPolicy;
}

/** What the HTTP layer needs to know about the client. */
export interface HttpClientConfig {
  /** Origin (and optional path prefix) the API paths are appended to. */
  baseUrl: string;
  /** Current token; read on every request, so `setOptions` takes effect at once. */
  token: () => string | undefined;
  /** Current defaults of per-call options. */
  defaults: () => CallDefaults;
  adapter?: AdapterOption;
  /** Waits between attempts; rejects when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The client's clock: Retry-After dates and call deadlines are read against it. */
  now: () => number;
  /** Appended to the `User-Agent` header, where the platform sends one. */
  userAgentSuffix?: string;
  /** Paces requests per store after 429s (`rateLimit: 'adaptive'`); none = requests go out at once. */
  rateLimiter?: AdaptiveRateLimiter;
  /** Retries spend from it; none = retries are bounded only by each call's policy. */
  retryBudget?: RetryBudget;
  /** Request hooks (v2's `requestInterceptors`), registered on the axios instance in this order. */
  requestInterceptors?: RequestInterceptorFunction[];
}
