/**
 * Client-side adaptive rate limiting: learn how fast a resource (a store) may be called from the
 * server's `429` answers, and space requests so that few of them happen.
 *
 * Until the first 429 a resource is not limited at all. A 429 sets its rate to a fraction (BETA)
 * of the rate at which it was answering successfully just before; from there the rate grows back
 * along a cubic curve (as TCP CUBIC and the AWS SDK's adaptive retry mode do): fast while far below
 * the rate that last failed, slowly near it, then faster again to probe for more. Requests are
 * paced, not bursted: each takes the next free slot `1 / rate` seconds after the previous one.
 *
 * Many requests in flight at once all meet the same limit, so 429s arrive in groups: a 429 cuts
 * the rate only when its request was sent after the last cut (the others were paced by the old
 * rate, and that rate is already cut).
 */

/** The rate after a cut, as a fraction of the rate that was being achieved. */
const BETA = 0.7;
/** Scale of the cubic growth (requests per second per second cubed). */
const CUBIC_SCALE = 0.4;
/** The rate never goes below this (requests per second). */
const MIN_RATE = 0.5;
/** Successes are counted in this many slots ... */
const SLOTS = 10;
/** ... of this many ms each: the measured rate is the last second's successes. */
const SLOT_MILLIS = 100;
/** At most this many resources are tracked; the least recently used is forgotten. */
const MAX_RESOURCES = 1000;

/** What the limiter needs of the client's clock. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** One resource's state. */
class ResourceRate {
  /** Allowed requests per second; Infinity until the first throttle. */
  rate = Infinity;
  /** The rate achieved right before the last cut (the curve's plateau). */
  private plateau = 0;
  private lastCut = -Infinity;
  /** When the next request may start. */
  private nextSlot = 0;
  private readonly successes = new Array<number>(SLOTS).fill(0);
  private slotStart = 0;
  private slotIndex = 0;

  /** Milliseconds the caller must wait before sending (0 = now); books the slot. */
  reserve(now: number): number {
    if (this.rate === Infinity) return 0;
    const start = Math.max(now, this.nextSlot);
    this.nextSlot = start + 1000 / this.rate;
    return start - now;
  }

  onSuccess(now: number): void {
    this.advance(now);
    this.successes[this.slotIndex]!++;
    if (this.rate === Infinity) return;
    // Time since the cut, in seconds, shifted so the curve passes the plateau at `k`.
    const k = Math.cbrt((this.plateau * (1 - BETA)) / CUBIC_SCALE);
    const t = (now - this.lastCut) / 1000;
    const grown = CUBIC_SCALE * (t - k) ** 3 + this.plateau;
    // Never run far ahead of what is really being achieved (an idle resource must not build up
    // an unbounded allowance).
    const achieved = this.measured(now);
    this.rate = Math.max(MIN_RATE, Math.min(grown, Math.max(2 * achieved, this.plateau)));
  }

  /** A 429 for a request sent at `sentAt`: cut the rate, unless an earlier cut already covers it. */
  onThrottle(now: number, sentAt: number): void {
    if (sentAt < this.lastCut) return;
    const achieved = this.measured(now);
    // The rate that failed: what was being achieved, and at most what was allowed.
    const failed = Math.min(this.rate, achieved > 0 ? achieved : this.rate === Infinity ? MIN_RATE / BETA : this.rate);
    this.plateau = Math.max(MIN_RATE, failed);
    this.rate = Math.max(MIN_RATE, this.plateau * BETA);
    this.lastCut = now;
    // Slots booked at the old rate are rebooked at the new one.
    this.nextSlot = Math.min(this.nextSlot, now + 1000 / this.rate);
  }

  /** Successes per second over the last second. */
  private measured(now: number): number {
    this.advance(now);
    let total = 0;
    for (const count of this.successes) total += count;
    return total;
  }

  private advance(now: number): void {
    if (this.slotStart === 0) this.slotStart = now;
    let steps = Math.floor((now - this.slotStart) / SLOT_MILLIS);
    if (steps <= 0) return;
    this.slotStart += steps * SLOT_MILLIS;
    steps = Math.min(steps, SLOTS);
    for (let i = 0; i < steps; i++) {
      this.slotIndex = (this.slotIndex + 1) % SLOTS;
      this.successes[this.slotIndex] = 0;
    }
  }
}

/** Adaptive rate limits, one per resource. */
export class AdaptiveRateLimiter {
  private readonly resources = new Map<string, ResourceRate>();

  constructor(private readonly clock: LimiterClock) {}

  /**
   * Waits until a request to `resource` may be sent, and returns that time (for `record`);
   * rejects when `signal` aborts meanwhile.
   */
  async acquire(resource: string, signal?: AbortSignal): Promise<number> {
    const wait = this.state(resource).reserve(this.clock.now());
    if (wait > 0) await this.clock.sleep(wait, signal);
    return this.clock.now();
  }

  /** Reports how a request to `resource` sent at `sentAt` ended: `throttled` for a 429. */
  record(resource: string, throttled: boolean, sentAt = this.clock.now()): void {
    const state = this.state(resource);
    if (throttled) state.onThrottle(this.clock.now(), sentAt);
    else state.onSuccess(this.clock.now());
  }

  /** The allowed rate of `resource` in requests per second (Infinity = not limited yet). */
  rateOf(resource: string): number {
    return this.resources.get(resource)?.rate ?? Infinity;
  }

  private state(resource: string): ResourceRate {
    let state = this.resources.get(resource);
    if (state) {
      // Map order is insertion order: re-inserting keeps the most recent last.
      this.resources.delete(resource);
    } else {
      state = new ResourceRate();
      if (this.resources.size >= MAX_RESOURCES) this.resources.delete(this.resources.keys().next().value!);
    }
    this.resources.set(resource, state);
    return state;
  }
}

/**
 * The resource an API path belongs to, as the platform limits it: the store named by
 * `/v2/key-value-stores/{store}/...`, or the store collection.
 */
export function resourceOfPath(path: string | undefined): string {
  if (!path) return 'external';
  const match = /^\/v2\/key-value-stores(?:\/([^/?]+))?/.exec(path);
  return match ? (match[1] ?? '') : path;
}
