/**
 * The retry policy, as plain data plus two pure functions: which failures are worth another
 * attempt, and how long to wait before it.
 */
import type { AxiosError } from 'axios';

/** How failed requests are retried. All times in milliseconds. */
export interface RetryPolicy {
  /** Attempts after the first one. 0 turns retries off. */
  maxRetries: number;
  /** Backoff base: the wait before retry n is drawn from [0, min(max, base * 2^(n-1))]. */
  baseDelayMillis: number;
  /** Cap of the exponential backoff. */
  maxDelayMillis: number;
  /** A server's `Retry-After` is honoured up to this long. */
  maxRetryAfterMillis: number;
}

/** Defaults suited to long batch jobs: patient, but bounded (at most about 90 s of waiting in all). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxRetries: 8,
  baseDelayMillis: 500,
  maxDelayMillis: 30_000,
  maxRetryAfterMillis: 60_000,
};

/** Codes axios uses for a request that ran out of time. */
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);

/**
 * Codes of failures another attempt cannot fix: a cancelled call, mistakes in the request itself,
 * an unknown host name.
 */
const PERMANENT_CODES = new Set([
  'ERR_CANCELED',
  'ERR_BAD_OPTION',
  'ERR_BAD_OPTION_VALUE',
  'ERR_NOT_SUPPORT',
  'ERR_INVALID_URL',
  'ERR_DEPRECATED',
  'ERR_FR_TOO_MANY_REDIRECTS',
  'ERR_FORM_DATA_DEPTH_EXCEEDED',
  'ENOTFOUND',
  // Local failures no attempt can fix: a file body that cannot be (re)opened, a response body
  // that is not valid gzip, deflate or brotli data.
  'ENOENT',
  'EACCES',
  'EISDIR',
  'ENOTDIR',
  'EPERM',
  'Z_DATA_ERROR',
  'Z_BUF_ERROR',
  'Z_NEED_DICT',
  'ERR_BROTLI_INVALID_PARAM',
  'ERR__ERROR_FORMAT_PADDING_1',
]);

/** TLS certificate failures (`CERT_HAS_EXPIRED`, `SELF_SIGNED_CERT_IN_CHAIN`, ...) are permanent too. */
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS/;

function isPermanent(code: unknown): boolean {
  return typeof code === 'string' && (PERMANENT_CODES.has(code) || CERTIFICATE_CODE.test(code));
}

/** True when an axios error is a timeout of one attempt. */
export function isTimeout(error: AxiosError): boolean {
  return !!error.code && TIMEOUT_CODES.has(error.code);
}

/**
 * True when the request failed without an error status: no answer at all, or an answer whose
 * body broke off half way (axios then keeps the 2xx response on the error).
 */
export function isTransportFailure(error: AxiosError): boolean {
  return !error.response || error.response.status < 300;
}

/**
 * Whether a failed attempt deserves another one.
 * @param idempotent false for a request that must not run twice (creating an unnamed store):
 *   it is only retried when the server certainly did not act on it (429, a refused connection).
 */
export function isRetryable(error: AxiosError, idempotent: boolean): boolean {
  const code = error.code;
  if (isPermanent(code) || isPermanent((error.cause as { code?: unknown } | undefined)?.code)) return false;
  if (!isTransportFailure(error)) {
    const status = error.response!.status;
    // 429 is the one answer that says the server turned the request away without acting on it.
    if (!idempotent) return status === 429;
    return status === 408 || status === 429 || status >= 500;
  }
  if (!idempotent) return code === 'ECONNREFUSED';
  // A body that broke off half way (axios keeps the 2xx response on the error).
  if (error.response) return true;
  // Timeouts, resets, refused connections, `ERR_NETWORK` of the fetch adapter, ...; an error
  // without any code is not a transport failure but a fault, and is not repeated.
  return !!code;
}

/** Parses a `Retry-After` header (seconds, or an HTTP date) into milliseconds; 0 when absent. */
export function parseRetryAfter(value: unknown, now: number): number {
  if (typeof value !== 'string' || value.trim() === '') return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, date - now);
}

/**
 * Wait before retry number `retry` (1 = the first retry): capped exponential backoff with full
 * jitter, but never shorter than the server's `Retry-After` (itself capped).
 */
export function retryDelayMillis(
  policy: RetryPolicy,
  retry: number,
  retryAfterMillis = 0,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMillis, policy.baseDelayMillis * 2 ** Math.max(0, retry - 1));
  const backoff = Math.floor(random() * ceiling);
  return Math.max(backoff, Math.min(retryAfterMillis, policy.maxRetryAfterMillis));
}
