/**
 * The retry budget: a token bucket shared by every request of one client. A retry spends tokens
 * (a timeout more, as it held a connection the longest); a success gives back what its own
 * retries spent, or one token when it needed none. When the bucket runs dry, failures are no
 * longer retried: in an outage, the client then sends each request once instead of multiplying
 * the load by its retry count, and it recovers as soon as requests succeed again.
 *
 * `429` answers spend nothing: the server asked for a pause and said how long, which the retry
 * policy honours; that is flow control, not an outage.
 */

/** Settings of the retry budget. */
export interface RetryBudgetOptions {
  /** Tokens the bucket holds (and starts with). Default 500. */
  capacity?: number;
  /** Tokens a retry after an error answer or a network failure costs. Default 5. */
  retryCost?: number;
  /** Tokens a retry after a timeout costs. Default 10. */
  timeoutCost?: number;
}

export const DEFAULT_RETRY_BUDGET: Readonly<Required<RetryBudgetOptions>> = { capacity: 500, retryCost: 5, timeoutCost: 10 };

export class RetryBudget {
  private readonly settings: Required<RetryBudgetOptions>;
  private tokens: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.settings = { ...DEFAULT_RETRY_BUDGET, ...options };
    this.tokens = this.settings.capacity;
  }

  /** Tokens left. */
  get available(): number {
    return this.tokens;
  }

  /** Takes the cost of one retry; returns what was taken, or `undefined` when the budget cannot pay. */
  take(timeout: boolean): number | undefined {
    const cost = timeout ? this.settings.timeoutCost : this.settings.retryCost;
    if (cost > this.tokens) return undefined;
    this.tokens -= cost;
    return cost;
  }

  /** A request succeeded after its retries cost `spent` tokens (0 = none were needed). */
  succeeded(spent: number): void {
    this.tokens = Math.min(this.settings.capacity, this.tokens + (spent > 0 ? spent : 1));
  }
}
