/** Options of `ApifyClient`, their defaults and their checks. */
import { ApifyArgumentError } from './http/errors.js';
import type { AdapterOption, RequestInterceptorFunction } from './http/http-client.js';
import { DEFAULT_RETRY_POLICY } from './http/retry.js';
import { DEFAULT_RETRY_BUDGET, type RetryBudgetOptions } from './http/retry-budget.js';
import { checkDuration, checkInteger, checkStoreId } from './validation.js';

/** Options of {@link ApifyClient}. Every one is optional. */
export interface ApifyClientOptions {
  /** API token, sent as `Authorization: Bearer <token>`. Never put in a URL, never printed. */
  token?: string;
  /** API origin. Default `https://api.apify.com`; for a local server e.g. `http://127.0.0.1:8010`. */
  baseUrl?: string;
  /** Origin of the public URLs `getRecordPublicUrl` and `createKeysPublicUrl` hand out. Default: `baseUrl`. */
  publicBaseUrl?: string;
  /**
   * Text appended to the `User-Agent` header (Node; browsers do not let a page set it). Several
   * parts (an array, as apify-client v2 takes them) are appended separated by spaces.
   */
  userAgentSuffix?: string | string[];
  /** Store used by methods called without `storeId`. */
  storeId?: string;
  /** Retries after the first attempt of a request. Default 8. */
  maxRetries?: number;
  /** Time limit of each attempt, in seconds (and how long a streamed record body may stay silent). Default 360. */
  timeoutSecs?: number;
  /**
   * Time limit of a whole call, all attempts and the waits between them included, in seconds.
   * Default: none (each attempt has `timeoutSecs`, and retries are bounded by `maxRetries`).
   */
  totalTimeoutSecs?: number;
  /** Backoff base between retries, in ms; the wait before retry n is random in [0, base * 2^(n-1)]. Default 500. */
  minDelayBetweenRetriesMillis?: number;
  /** Cap of the backoff between retries, in ms. Default 30,000. */
  maxDelayBetweenRetriesMillis?: number;
  /** A server's `Retry-After` is honoured up to this many ms. Default 60,000. */
  maxRetryAfterMillis?: number;
  /**
   * How long after its own write this client keeps re-reading when a read contradicts that write
   * (read-your-writes), in ms. Default 10,000; 0 turns it off.
   */
  consistencyWindowMillis?: number;
  /** Bodies larger than this (bytes) go through a direct-upload URL. Default 9,437,184 (9 MiB). */
  maxPayloadBytes?: number;
  /**
   * End-to-end integrity of record bodies (default true): uploads of buffered bodies send their
   * MD5 as `Content-MD5` and check the ETag answered; full downloads are checked against their
   * ETag when it is an MD5. A mismatch is tried once more, then fails with an `ApifyApiError` of
   * type `integrity-mismatch`. Streamed bodies are not checked. `false` turns it off.
   */
  integrity?: boolean;
  /**
   * Client-side rate limiting. `'adaptive'`: after a `429`, requests to that store are paced at a
   * rate learned from the 429s (cut on each group of them, grown back along a cubic curve), so a
   * job with many workers sends few requests the server refuses. Default `'off'`: each request
   * goes out at once and only its own retries back off.
   */
  rateLimit?: 'adaptive' | 'off';
  /**
   * The retry budget shared by all requests of this client: retries spend tokens, successes give
   * them back; when it is empty, failures are no longer retried (the error says "retry budget
   * exhausted"), so an outage is not multiplied by the retry count. `429`s spend nothing.
   * Default `{ capacity: 500, retryCost: 5, timeoutCost: 10 }`; `false` turns it off.
   */
  retryBudget?: RetryBudgetOptions | false;
  /**
   * Axios adapter: `'http'`, `'fetch'`, `'xhr'` or an adapter function. Default in Node: the
   * client's own lean `node:http` adapter (axios's `http` adapter when `HTTP_PROXY`, `HTTPS_PROXY`
   * or `ALL_PROXY` is set, as it honours them); in the browser: `fetch`.
   */
  adapter?: AdapterOption;
  /**
   * Request hooks, as apify-client v2 takes them: each is registered on the client's axios
   * instance (`interceptors.request.use`, in this order, so axios runs the last one first) and
   * gets every attempt's axios config: `method`, `url` (without the query), `params`, `headers`
   * (the token's `Authorization` included) and `data` (the body as encoded bytes, compressed when
   * large). It returns the config, changed or not, or a Promise of it; a throw fails the call with
   * that error. A retry starts again from the client's config, so each attempt is hooked once.
   */
  requestInterceptors?: RequestInterceptorFunction[];
  /**
   * Replaces the clock used for waits between retries and re-reads (tests use a virtual one).
   * @internal
   */
  clock?: Clock;
}

/** Time source and wait function of a client. @internal */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Options `setOptions` can change on a live client. */
export type SettableClientOptions = Pick<ApifyClientOptions, 'token' | 'storeId' | 'maxRetries' | 'timeoutSecs' | 'totalTimeoutSecs'>;

/** Default API origin. */
export const DEFAULT_BASE_URL = 'https://api.apify.com';
/** Default time limit of each attempt, in seconds: long enough for a large record on a slow link. */
export const DEFAULT_TIMEOUT_SECS = 360;
/** Default consistency window, in ms. */
export const DEFAULT_CONSISTENCY_WINDOW_MILLIS = 10_000;
/** The API's payload limit, in bytes. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 9_437_184;

/** Options after defaults and checks: one field per option name, no other (see `resolveOptions`). @internal */
export interface ResolvedOptions extends Record<keyof ApifyClientOptions, unknown> {
  token: string | undefined;
  baseUrl: string;
  publicBaseUrl: string;
  userAgentSuffix: string | undefined;
  storeId: string | undefined;
  maxRetries: number;
  timeoutSecs: number;
  totalTimeoutSecs: number | undefined;
  minDelayBetweenRetriesMillis: number;
  maxDelayBetweenRetriesMillis: number;
  maxRetryAfterMillis: number;
  consistencyWindowMillis: number;
  maxPayloadBytes: number;
  integrity: boolean;
  adapter: AdapterOption | undefined;
  requestInterceptors: RequestInterceptorFunction[] | undefined;
  clock: Clock | undefined;
  rateLimit: 'adaptive' | 'off';
  retryBudget: Required<RetryBudgetOptions> | false;
}

function checkToken(token: unknown): string | undefined {
  if (token === undefined || token === null || token === '') return undefined;
  if (typeof token !== 'string' || /[\s]/.test(token)) {
    throw new ApifyArgumentError('token', 'token must be a string without whitespace');
  }
  return token;
}

function checkTimeout(value: unknown): number | undefined {
  const secs = checkDuration(value, 'timeoutSecs');
  if (secs === 0) throw new ApifyArgumentError('timeoutSecs', 'timeoutSecs must be greater than 0');
  return secs;
}

function checkTotalTimeout(value: unknown): number | undefined {
  const secs = checkDuration(value, 'totalTimeoutSecs');
  if (secs === 0) throw new ApifyArgumentError('totalTimeoutSecs', 'totalTimeoutSecs must be greater than 0');
  return secs;
}

function checkBaseUrl(value: unknown, argument = 'baseUrl'): string {
  if (value === undefined) return DEFAULT_BASE_URL;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ApifyArgumentError(argument, `${argument} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApifyArgumentError(argument, `${argument} must be an absolute http(s) URL`);
  }
  if (url.search || url.username || url.password) {
    throw new ApifyArgumentError(argument, `${argument} must not carry a query or credentials: pass the token as \`token\``);
  }
  // Paths are appended as `/v2/...`: drop a trailing slash, and a `/v2` the user may have included.
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '').replace(/\/v2$/, '');
}

/** One string from a string or an array of them (as v2 takes it), none with a line break. */
function checkUserAgentSuffix(suffix: unknown): string | undefined {
  if (suffix === undefined) return undefined;
  const parts = Array.isArray(suffix) ? (suffix as unknown[]) : [suffix];
  if (!parts.every((part) => typeof part === 'string' && !/[\r\n]/.test(part))) {
    throw new ApifyArgumentError('userAgentSuffix', 'userAgentSuffix must be a string, or an array of strings, without line breaks');
  }
  return (parts as string[]).filter(Boolean).join(' ');
}

/** Applies defaults and checks every option. @internal */
export function resolveOptions(options: ApifyClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ApifyArgumentError('options', 'ApifyClient options must be an object');
  }
  const duration = (name: keyof ApifyClientOptions, fallback: number) => checkDuration(options[name], name) ?? fallback;
  const baseUrl = checkBaseUrl(options.baseUrl);
  const suffix = checkUserAgentSuffix(options.userAgentSuffix);
  const resolved: ResolvedOptions = {
    token: checkToken(options.token),
    baseUrl,
    publicBaseUrl: options.publicBaseUrl === undefined ? baseUrl : checkBaseUrl(options.publicBaseUrl, 'publicBaseUrl'),
    userAgentSuffix: suffix || undefined,
    totalTimeoutSecs: checkTotalTimeout(options.totalTimeoutSecs),
    storeId: options.storeId === undefined ? undefined : checkStoreId(options.storeId),
    maxRetries: checkInteger(options.maxRetries, 'maxRetries', 0, 100) ?? DEFAULT_RETRY_POLICY.maxRetries,
    timeoutSecs: checkTimeout(options.timeoutSecs) ?? DEFAULT_TIMEOUT_SECS,
    minDelayBetweenRetriesMillis: duration('minDelayBetweenRetriesMillis', DEFAULT_RETRY_POLICY.baseDelayMillis),
    maxDelayBetweenRetriesMillis: duration('maxDelayBetweenRetriesMillis', DEFAULT_RETRY_POLICY.maxDelayMillis),
    maxRetryAfterMillis: duration('maxRetryAfterMillis', DEFAULT_RETRY_POLICY.maxRetryAfterMillis),
    consistencyWindowMillis: duration('consistencyWindowMillis', DEFAULT_CONSISTENCY_WINDOW_MILLIS),
    maxPayloadBytes: checkInteger(options.maxPayloadBytes, 'maxPayloadBytes', 1) ?? DEFAULT_MAX_PAYLOAD_BYTES,
    integrity: checkIntegrity(options.integrity),
    adapter: options.adapter,
    requestInterceptors: checkInterceptors(options.requestInterceptors),
    clock: options.clock,
    rateLimit: checkRateLimit(options.rateLimit),
    retryBudget: checkRetryBudget(options.retryBudget),
  };
  // The resolved options carry exactly the option names, so any other name is unknown: refused
  // (a typo would else be ignored), as apify-client v2 refuses it.
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(resolved, name)) throw new ApifyArgumentError(`options.${name}`, `ApifyClient does not know the option "${name}"`);
  }
  return resolved;
}

function checkInterceptors(value: unknown): RequestInterceptorFunction[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((hook) => hook == null || typeof hook === 'function')) {
    throw new ApifyArgumentError('requestInterceptors', 'requestInterceptors must be an array of functions');
  }
  return value.length ? [...(value as RequestInterceptorFunction[])] : undefined;
}

function checkIntegrity(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value === 'boolean') return value;
  throw new ApifyArgumentError('integrity', 'integrity must be true or false');
}

function checkRateLimit(value: unknown): 'adaptive' | 'off' {
  if (value === undefined) return 'off';
  if (value === 'adaptive' || value === 'off') return value;
  throw new ApifyArgumentError('rateLimit', "rateLimit must be 'adaptive' or 'off'");
}

function checkRetryBudget(value: unknown): Required<RetryBudgetOptions> | false {
  if (value === false) return false;
  if (value === undefined) return { ...DEFAULT_RETRY_BUDGET };
  if (typeof value !== 'object' || value === null) {
    throw new ApifyArgumentError('retryBudget', 'retryBudget must be an object ({ capacity, retryCost, timeoutCost }) or false');
  }
  const given = value as RetryBudgetOptions;
  for (const name of Object.keys(given)) {
    if (!(name in DEFAULT_RETRY_BUDGET)) throw new ApifyArgumentError('retryBudget', `retryBudget has no option "${name}"`);
  }
  return {
    capacity: checkInteger(given.capacity, 'retryBudget.capacity', 0) ?? DEFAULT_RETRY_BUDGET.capacity,
    retryCost: checkInteger(given.retryCost, 'retryBudget.retryCost', 0) ?? DEFAULT_RETRY_BUDGET.retryCost,
    timeoutCost: checkInteger(given.timeoutCost, 'retryBudget.timeoutCost', 0) ?? DEFAULT_RETRY_BUDGET.timeoutCost,
  };
}

/** Checks the options `setOptions` may change; returns only those given. @internal */
export function resolveSettable(options: SettableClientOptions): Partial<ResolvedOptions> {
  if (typeof options !== 'object' || options === null) {
    throw new ApifyArgumentError('options', 'setOptions needs an options object');
  }
  const out: Partial<ResolvedOptions> = {};
  if ('token' in options) out.token = checkToken(options.token);
  if ('storeId' in options) out.storeId = options.storeId === undefined ? undefined : checkStoreId(options.storeId);
  if (options.maxRetries !== undefined) out.maxRetries = checkInteger(options.maxRetries, 'maxRetries', 0, 100);
  if (options.timeoutSecs !== undefined) out.timeoutSecs = checkTimeout(options.timeoutSecs);
  if ('totalTimeoutSecs' in options) out.totalTimeoutSecs = checkTotalTimeout(options.totalTimeoutSecs);
  return out;
}
