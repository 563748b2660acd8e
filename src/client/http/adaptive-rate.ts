/**
 * Client-side adaptive rate limiting: learn how fast a resource (a store) may be called from the
 * server's `429` answers, and space requests so that few of them happen.
 *
 * Until the first 429 a resource is not limited at all. A 429 sets its rate to a fraction (BETA)
 * of the rate requests were being answered at just before; from there the rate grows back
 * along a cubic curve (as TCP CUBIC and the AWS SDK's adaptive retry mode do): fast while far below
 * the rate that last failed, slowly near it, then faster again to probe for more. Requests are
 * paced, not bursted: they wait in line and go one `1 / rate` seconds after the other.
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
/** Answers are counted in this many slots ... */
const SLOTS = 10;
/** ... of this many ms each: the measured rate is the last second's answers. */
const SLOT_MILLIS = 100;
/** At most this many resources are tracked; the least recently used is forgotten. */
const MAX_RESOURCES = 1000;

/** What the limiter needs of the client's clock. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A request waiting for its turn. */
interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** One resource's state. */
class ResourceRate {
  /** Allowed requests per second; Infinity until the first throttle. */
  rate = Infinity;
  /** The rate that failed at the last cut (the curve's plateau). */
  private plateau = 0;
  private lastCut = -Infinity;
  /** When the last request was let through. */
  private lastRelease = -Infinity;
  /** Requests waiting, first come first served; one pump lets them through one slot apart. */
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private readonly answers = new Array<number>(SLOTS).fill(0);
  private slotStart = -1;
  private slotIndex = 0;
  /** When the first answer was counted (the window is shorter than a second before that). */
  private firstAnswer = -1;

  constructor(private readonly clock: LimiterClock) {}

  /** Resolves when the request may be sent. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.rate === Infinity && this.queue.length === 0) {
      this.lastRelease = this.clock.now();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.queue.indexOf(waiter);
          if (at !== -1) this.queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      if (!this.pumping) void this.pump();
    });
  }

  /**
   * Lets the waiters through one at a time, each `1 / rate` after the previous one. The spacing is
   * read at each step, so a rate that grows (or is cut) applies to requests already waiting.
   */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const due = this.rate === Infinity ? 0 : this.lastRelease + 1000 / this.rate - this.clock.now();
        if (due > 0) {
          // Short steps, so a change of rate is noticed soon.
          await this.clock.sleep(Math.min(due, 1000 / MIN_RATE / 4));
          continue;
        }
        const waiter = this.queue.shift()!;
        if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
        this.lastRelease = this.clock.now();
        waiter.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }

  onSuccess(now: number): void {
    this.count(now);
    if (this.rate === Infinity) return;
    // Time since the cut, in seconds, shifted so the curve passes the plateau at `k`.
    const k = Math.cbrt((this.plateau * (1 - BETA)) / CUBIC_SCALE);
    const t = (now - this.lastCut) / 1000;
    const grown = CUBIC_SCALE * (t - k) ** 3 + this.plateau;
    // Never run far ahead of what is really being sent (an idle resource must not build up an
    // unbounded allowance).
    const sent = this.measured(now);
    this.rate = Math.max(MIN_RATE, Math.min(grown, Math.max(2 * sent, this.plateau)));
  }

  /** A 429 for a request sent at `sentAt`: cut the rate, unless an earlier cut already covers it. */
  onThrottle(now: number, sentAt: number): void {
    this.count(now);
    if (sentAt < this.lastCut) return;
    // The rate that failed: what was being sent, and at most what was allowed.
    const failed = Math.min(this.rate, this.measured(now));
    this.plateau = Math.max(MIN_RATE, failed);
    this.rate = Math.max(MIN_RATE, this.plateau * BETA);
    this.lastCut = now;
  }

  /** Counts one answer (throttled or not): the rate being sent is what the server refused. */
  private count(now: number): void {
    this.advance(now);
    if (this.firstAnswer < 0) this.firstAnswer = now;
    this.answers[this.slotIndex]!++;
  }

  /**
   * Answers per second over the last second (over the time since the first answer when that is
   * shorter, at least one slot: a burst at the start is measured at its real pace).
   */
  private measured(now: number): number {
    this.advance(now);
    let total = 0;
    for (const count of this.answers) total += count;
    const window = Math.min(SLOTS * SLOT_MILLIS, Math.max(SLOT_MILLIS, now - this.firstAnswer));
    return (total * 1000) / window;
  }

  private advance(now: number): void {
    if (this.slotStart < 0) this.slotStart = now;
    let steps = Math.floor((now - this.slotStart) / SLOT_MILLIS);
    if (steps <= 0) return;
    this.slotStart += steps * SLOT_MILLIS;
    steps = Math.min(steps, SLOTS);
    for (let i = 0; i < steps; i++) {
      this.slotIndex = (this.slotIndex + 1) % SLOTS;
      this.answers[this.slotIndex] = 0;
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
    await this.state(resource).acquire(signal);
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
      state = new ResourceRate(this.clock);
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
