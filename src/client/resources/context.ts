/** What the resource clients share: their context, and the small helpers every call uses. */
import { ApifyArgumentError, isApifyApiError } from '../http/errors.js';
import type { CallOptions, HttpClient } from '../http/http-client.js';
import type { ProgressOptions } from '../http/progress.js';
import type { KeyValueStore, PaginatedIterator } from '../types.js';
import { checkDuration, checkInteger } from '../validation.js';
import type { ServerFeatures } from './conditions.js';
import type { JournaledReads } from './journaled-reads.js';

export const STORES_PATH = '/v2/key-value-stores';

/** What the resources need from their client. @internal */
export interface ResourceContext {
  http: HttpClient;
  reads: JournaledReads;
  /** What the server's answers said it supports (conditional writes). */
  features: ServerFeatures;
  /** The client's default store id. */
  defaultStoreId: () => string | undefined;
  /** Bodies larger than this go through a direct-upload URL. */
  maxPayloadBytes: () => number;
  /** Whether record bodies are checked end to end (`integrity.ts`). */
  integrity: () => boolean;
  /** The client's time limit of one attempt, in seconds (also the idle limit of a streamed body). */
  timeoutSecs: () => number;
  /** Base URL, to resolve a relative upload URL. */
  baseUrl: string;
  /** Origin of the public URLs the client hands out. */
  publicBaseUrl: string;
  now: () => number;
}

/** Turns a 404 into `null`; other errors pass through. */
export function nullOn404(error: unknown): null {
  if (isApifyApiError(error) && error.statusCode === 404) return null;
  throw error;
}

/** Names of the per-call options every method takes. */
const CALL_OPTION_NAMES = ['signal', 'timeoutSecs', 'maxRetries', 'totalTimeoutSecs', 'doNotRetryTimeouts'];

/**
 * Refuses an option name the method does not know (a typo would otherwise be ignored silently),
 * as apify-client v2 does. `known` are the method's own names, besides the per-call options.
 */
export function checkKnownOptions(options: object, method: string, known: readonly string[], argument = 'options'): void {
  for (const name of Object.keys(options)) {
    if (!CALL_OPTION_NAMES.includes(name) && !known.includes(name)) {
      const names = [...known, ...CALL_OPTION_NAMES].join(', ');
      throw new ApifyArgumentError(`${argument}.${name}`, `${method} does not know the option "${name}" (it takes ${names})`);
    }
  }
}

/**
 * Checks that a method got an options object with only the names it knows (`known`, besides the
 * per-call options), then picks and checks its per-call options. `method` is named as
 * `Class.method`: errors of the call carry it as `clientMethod`.
 */
export function callOptions(options: (CallOptions & ProgressOptions) | undefined, method: string, known: readonly string[] = []): CallOptions & ProgressOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ApifyArgumentError('options', `${method} needs an options object`);
  }
  checkKnownOptions(options, method, known);
  checkInteger(options.maxRetries, 'maxRetries', 0, 100);
  for (const name of ['onUploadProgress', 'onDownloadProgress'] as const) {
    const callback = options[name];
    if (callback !== undefined && typeof callback !== 'function') throw new ApifyArgumentError(name, `${name} must be a function`);
  }
  for (const name of ['timeoutSecs', 'totalTimeoutSecs'] as const) {
    if (checkDuration(options[name], name) === 0) throw new ApifyArgumentError(name, `${name} must be greater than 0`);
  }
  // The per-call options and the progress callbacks ride with the call (only methods that know
  // the callbacks let them through). One literal: this runs on every call.
  return {
    clientMethod: method,
    signal: options.signal,
    timeoutSecs: options.timeoutSecs,
    maxRetries: options.maxRetries,
    totalTimeoutSecs: options.totalTimeoutSecs,
    doNotRetryTimeouts: options.doNotRetryTimeouts,
    onUploadProgress: options.onUploadProgress,
    onDownloadProgress: options.onDownloadProgress,
  };
}

/** Parses a store object's date fields. */
export function toStore(raw: Record<string, unknown>): KeyValueStore {
  const store = { ...raw };
  for (const field of ['createdAt', 'modifiedAt', 'accessedAt']) {
    if (typeof store[field] === 'string') store[field] = new Date(store[field]);
  }
  return store as KeyValueStore;
}

/**
 * A first page that is also an async iterable of every item. Bad options reject the page (and
 * the iteration) rather than throwing at the call.
 */
export function paginate<Page, Item>(
  start: () => [Promise<Page>, (first: Promise<Page>) => AsyncIterator<Item>],
): PaginatedIterator<Page, Item> {
  let first: Promise<Page>;
  let iterate: (first: Promise<Page>) => AsyncIterator<Item>;
  try {
    [first, iterate] = start();
  } catch (error) {
    first = Promise.reject(error);
    iterate = () => ({ next: () => Promise.reject(error) });
  }
  // Whoever iterates instead of awaiting still sees a failure of the first page.
  first.catch(() => undefined);
  return Object.assign(first, { [Symbol.asyncIterator]: () => iterate(first) });
}
