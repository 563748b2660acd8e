/** One call as it travels through axios and axios-retry: its state across attempts. */
import type { AxiosRequestConfig } from 'axios';
import type { PreparedRequest, StreamSource } from '../platform/types.js';
import type { ProgressReporter } from './progress.js';
import type { RetryPolicy } from './retry.js';

/**
 * One call: what the retry hooks need to know about it, and the request as the platform's own
 * adapter takes it (see `PreparedRequest`). It travels with the axios config; being a class
 * instance, axios passes it on by reference instead of copying it into each attempt.
 */
export class Call implements PreparedRequest {
  /** The attempt under way (1 = the first). */
  attempt = 1;
  /** Wait before the next attempt, set when a retry is decided. */
  nextDelay = 0;
  /** Retry-budget tokens this call's retries spent. */
  budgetSpent = 0;
  /** Set when a retry was refused because the retry budget was empty. */
  budgetExhausted = false;
  /** When the attempt under way was let through by the rate limiter. */
  sentAt = 0;
  /** Progress of the body going up and of the answer coming down, when the caller watches them. */
  upload?: ProgressReporter;
  download?: ProgressReporter;
  /** A new config for the next attempt, when request hooks may have changed the last one. */
  fresh?: () => CallConfig;
  constructor(
    /** What the rate limiter counts this call against (a store, or the store collection). */
    readonly resource: string,
    readonly policy: RetryPolicy,
    readonly idempotent: boolean,
    readonly signal: AbortSignal | undefined,
    /** The body, when it is a stream. */
    readonly source: StreamSource | undefined,
    /** Whether the response body is handed back unread. */
    readonly stream: boolean,
    readonly headers: Record<string, string>,
    /** The body of the next attempt. */
    public data: unknown,
    /** Time limit of the attempt under way: the per-attempt limit, cut to what the deadline leaves. */
    public timeoutMillis: number,
    readonly shortPath: boolean,
    readonly attemptMillis: number,
    /** End of the whole call on the client's clock; Infinity = none. */
    readonly deadline: number,
    readonly retryTimeouts: boolean,
  ) {}
}

export type CallConfig = AxiosRequestConfig & { call?: Call };

/** Time limit of the next attempt: the per-attempt limit, or what is left before the deadline. */
export function attemptTimeout(call: Call, now: number): number {
  return Math.max(1, Math.min(call.attemptMillis, Math.floor(call.deadline - now)));
}
