/**
 * The platform's rate limit, simulated: each store (and the store collection) takes at most N
 * requests per second, and a request over that is answered `429 rate-limit-exceeded` with a
 * `Retry-After`, as the Apify API does. Off unless the server is started with a limit, so jobs can
 * be tried locally against the platform's behaviour before they run there.
 *
 * One token bucket per resource: it holds up to N tokens (one second's worth of burst) and refills
 * continuously at N per second; a request takes one token or is refused.
 */
import { ApiError } from './errors.js';

/** Buckets idle this long are full again, and are dropped to bound memory. */
const IDLE_DROP_MILLIS = 60_000;
/** The bucket map is pruned of idle buckets when it grows past this many. */
const PRUNE_ABOVE = 10_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** Requests refused so far (for metrics and tests). */
  refused = 0;

  constructor(
    /** Requests per second each resource takes. */
    readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isFinite(perSecond) || perSecond <= 0) throw new Error('The rate limit must be a positive number of requests per second.');
  }

  /** Takes one token for `resource`, or throws the 429 the platform answers. */
  take(resource: string): void {
    const now = this.now();
    let bucket = this.buckets.get(resource);
    if (!bucket) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune(now);
      bucket = { tokens: this.perSecond, updatedAt: now };
      this.buckets.set(resource, bucket);
    } else {
      const refill = ((now - bucket.updatedAt) / 1000) * this.perSecond;
      bucket.tokens = Math.min(this.perSecond, bucket.tokens + refill);
      bucket.updatedAt = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    this.refused++;
    // Whole seconds until one token is back (at least 1: Retry-After has no fractions).
    const waitSecs = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
    throw rateLimitExceeded(this.perSecond, waitSecs);
  }

  private prune(now: number): void {
    for (const [resource, bucket] of this.buckets) {
      if (now - bucket.updatedAt > IDLE_DROP_MILLIS) this.buckets.delete(resource);
    }
  }
}

export const rateLimitExceeded = (perSecond: number, retryAfterSecs: number) =>
  new ApiError(
    429,
    'rate-limit-exceeded',
    `You have exceeded the rate limit of ${perSecond} requests per second for this resource.`,
    { 'Retry-After': String(retryAfterSecs) },
  );
