/**
 * Adaptive client-side rate limiting and the retry budget: the algorithms on a virtual clock,
 * the HTTP layer with nock for outages, and a real server that simulates the platform's limit.
 */
import nock from 'nock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApifyClient, isApifyApiError, isApifyArgumentError, isApifyNetworkError } from '../../src/index.js';
import { AdaptiveRateLimiter, resourceOfPath } from '../../src/client/http/adaptive-rate.js';
import { RetryBudget } from '../../src/client/http/retry-budget.js';
import { startTestServer } from '../server/helpers.js';
import { caught } from './caught.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { API, apiError, JSON_HEADERS, makeClient, socketError, useNock, VirtualClock } from './helpers.js';

useNock();
afterEach(() => {
  vi.restoreAllMocks();
});

/** Drives a limiter the way a busy job would: `perSecond` successes spread over `millis`. */
function succeedFor(limiter: AdaptiveRateLimiter, clock: VirtualClock, resource: string, perSecond: number, millis: number): void {
  const step = 1000 / perSecond;
  for (let t = 0; t < millis; t += step) {
    clock.time += step;
    limiter.record(resource, false);
  }
}

describe('AdaptiveRateLimiter', () => {
  it('does not limit a resource that was never throttled', async () => {
    const clock = new VirtualClock();
    const limiter = new AdaptiveRateLimiter(clock);
    succeedFor(limiter, clock, 's1', 200, 2000);
    for (let i = 0; i < 50; i++) await limiter.acquire('s1');
    expect(clock.sleeps).toEqual([]);
    expect(limiter.rateOf('s1')).toBe(Infinity);
  });

  it('cuts to 70% of the achieved rate on a 429, not again for requests sent before the cut, and paces requests at that rate', async () => {
    const clock = new VirtualClock();
    const limiter = new AdaptiveRateLimiter(clock);
    succeedFor(limiter, clock, 's1', 60, 1500);
    const sentBeforeCut = clock.time - 50;
    limiter.record('s1', true, sentBeforeCut);
    const cut = limiter.rateOf('s1');
    expect(cut).toBeGreaterThan(60 * 0.7 * 0.9);
    expect(cut).toBeLessThan(60 * 0.7 * 1.1);
    // The rest of the group of 429s (sent before the cut, under the old rate) does not cut again.
    clock.time += 20;
    limiter.record('s1', true, sentBeforeCut);
    limiter.record('s1', true, sentBeforeCut + 10);
    expect(limiter.rateOf('s1')).toBe(cut);
    // Four requests at once: spaced 1/rate apart.
    const start = clock.time;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = clock.time;
      await limiter.acquire('s1');
      waits.push(clock.time - before);
    }
    expect(clock.time - start).toBeGreaterThan(2 * (1000 / cut));
    expect(waits.slice(1).every((w) => Math.abs(w - 1000 / cut) < 1)).toBe(true);
    // Another store is not slowed down by this one.
    const other = clock.time;
    await limiter.acquire('s2');
    expect(clock.time).toBe(other);
  });

  it('grows back to the rate that failed, then beyond it, and cuts again on the next 429', () => {
    const clock = new VirtualClock();
    const limiter = new AdaptiveRateLimiter(clock);
    succeedFor(limiter, clock, 's1', 60, 1000);
    limiter.record('s1', true);
    const rates: number[] = [];
    for (let second = 0; second < 8; second++) {
      succeedFor(limiter, clock, 's1', Math.min(60, limiter.rateOf('s1')), 1000);
      rates.push(limiter.rateOf('s1'));
    }
    // Rises monotonically: quickly at first, and past the old plateau after a few seconds.
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThanOrEqual(rates[i - 1]!);
    expect(rates[0]).toBeLessThan(60);
    expect(rates[rates.length - 1]).toBeGreaterThan(60);
    limiter.record('s1', true);
    expect(limiter.rateOf('s1')).toBeLessThan(60);
  });

  it('rejects a wait when the signal aborts', async () => {
    const clock = new VirtualClock();
    const limiter = new AdaptiveRateLimiter(clock);
    succeedFor(limiter, clock, 's1', 10, 1000);
    limiter.record('s1', true);
    await limiter.acquire('s1');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(limiter.acquire('s1', controller.signal)).rejects.toThrow('stop');
  });

  it('counts requests against their store', () => {
    expect(resourceOfPath('/v2/key-value-stores/abc/records/k')).toBe('abc');
    expect(resourceOfPath('/v2/key-value-stores/abc')).toBe('abc');
    expect(resourceOfPath('/v2/key-value-stores')).toBe('');
  });
});

describe('RetryBudget', () => {
  it('spends per retry (timeouts more), refuses when empty, and refills on success', () => {
    const budget = new RetryBudget({ capacity: 12, retryCost: 5, timeoutCost: 10 });
    expect(budget.take(false)).toBe(5);
    expect(budget.take(false)).toBe(5);
    expect(budget.take(false)).toBeUndefined();
    expect(budget.available).toBe(2);
    budget.succeeded(5);
    expect(budget.available).toBe(7);
    expect(budget.take(true)).toBeUndefined();
    budget.succeeded(0);
    budget.succeeded(0);
    budget.succeeded(0);
    expect(budget.take(true)).toBe(10);
    // Never above capacity.
    for (let i = 0; i < 100; i++) budget.succeeded(5);
    expect(budget.available).toBe(12);
  });
});

const RECORD = '/v2/key-value-stores/s1/records/k';

describe('the client with a retry budget', () => {
  it('stops retrying in an outage once the budget is spent, says so in the error, and recovers after successes', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { client } = makeClient('node', { storeId: 's1', retryBudget: { capacity: 10, retryCost: 5 } });
    // The first call can pay two retries: three attempts, then the budget is empty.
    nock(API).get(RECORD).times(3).reply(503, apiError('server-error', 'Down.'), JSON_HEADERS);
    const first = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect(isApifyApiError(first) && first.attempt).toBe(3);
    expect(first.retryBudgetExhausted).toBe(true);
    expect(first.message).toContain('retry budget exhausted');
    // The next call in the outage is sent once only.
    nock(API).get(RECORD).once().replyWithError(socketError('ECONNRESET'));
    const second = await caught(client.keyValueStores.getRecord({ key: 'k' }));
    expect(isApifyNetworkError(second) && second.attempt).toBe(1);
    expect(second.retryBudgetExhausted).toBe(true);
    // Successes refill it: five of them pay for one retry again.
    nock(API).get(RECORD).times(5).reply(200, 'ok', { 'content-type': 'text/plain' });
    for (let i = 0; i < 5; i++) await client.keyValueStores.getRecord({ key: 'k' });
    nock(API).get(RECORD).reply(503, apiError('server-error', 'Down.'), JSON_HEADERS);
    nock(API).get(RECORD).reply(200, 'back', { 'content-type': 'text/plain' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('back');
  });

  it('spends nothing on 429s, which the server asks to wait out', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { client } = makeClient('node', { storeId: 's1', retryBudget: { capacity: 0 } });
    nock(API).get(RECORD).times(3).reply(429, apiError('rate-limit-exceeded', 'Slow down.'), { ...JSON_HEADERS, 'retry-after': '1' });
    nock(API).get(RECORD).reply(200, 'ok', { 'content-type': 'text/plain' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
  });

  it('is unbounded with retryBudget: false; bad settings are refused', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { client } = makeClient('node', { storeId: 's1', retryBudget: false, maxRetries: 4 });
    nock(API).get(RECORD).times(4).reply(503, apiError('server-error', 'Down.'), JSON_HEADERS);
    nock(API).get(RECORD).reply(200, 'ok', { 'content-type': 'text/plain' });
    expect((await client.keyValueStores.getRecord({ key: 'k' }))?.body).toBe('ok');
    expect(isApifyArgumentError(await caught(Promise.resolve().then(() => new ApifyClient({ retryBudget: { capacity: -1 } }))))).toBe(true);
    expect(isApifyArgumentError(await caught(Promise.resolve().then(() => new ApifyClient({ retryBudget: { size: 3 } as never }))))).toBe(true);
    expect(isApifyArgumentError(await caught(Promise.resolve().then(() => new ApifyClient({ rateLimit: 'fast' as never }))))).toBe(true);
  });
});

describe('adaptive rate limiting against a server that limits each store', () => {
  /**
   * 16 workers read a record 60 times from one store of a server taking 10 requests/s per store
   * (a low limit and reads, so that even a slow or busy machine runs into it).
   */
  async function putAll(rateLimit: 'adaptive' | 'off') {
    const server = await startTestServer({ rateLimitPerSecond: 10 });
    let sent = 0;
    let throttled = 0;
    // Counts every attempt and every 429 on the wire.
    const adapter = async (config: Parameters<typeof nodeAdapter>[0]) => {
      sent++;
      try {
        return await nodeAdapter(config);
      } catch (error) {
        if ((error as { response?: { status?: number } }).response?.status === 429) throttled++;
        throw error;
      }
    };
    const client = new ApifyClient({ baseUrl: server.url, rateLimit, maxRetries: 20, adapter });
    const store = await client.keyValueStores.getOrCreateStore({ storeName: `limited-${rateLimit}` });
    await client.keyValueStores.putRecord({ storeId: store.id, key: 'shared', body: { n: 1 } });
    let left = 60;
    const failures: unknown[] = [];
    let read = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (left-- > 0) {
          await client.keyValueStores
            .getRecord({ storeId: store.id, key: 'shared' })
            .then((record) => {
              if ((record?.body as { n?: number } | undefined)?.n === 1) read++;
            })
            .catch((err: unknown) => failures.push(err));
        }
      }),
    );
    return { failures, sent, throttled, read };
  }

  it('finishes every read of many workers and is refused far less often than without it', async () => {
    const adaptive = await putAll('adaptive');
    expect(adaptive.failures).toEqual([]);
    expect(adaptive.read).toBe(60);
    const plain = await putAll('off');
    expect(plain.failures).toEqual([]);
    // Without the limiter the workers keep running into the limit; with it, 429s are the probes
    // that find it. (Load only slows the workers, which makes 429s rarer for both.)
    expect(plain.throttled).toBeGreaterThan(0);
    console.log(`429s: adaptive ${adaptive.throttled}/${adaptive.sent}, off ${plain.throttled}/${plain.sent}`);
    expect(adaptive.throttled).toBeLessThan(plain.throttled);
  });
});
