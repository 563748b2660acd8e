/** The server's simulation of the platform's per-store rate limit (`--rate-limit N`). */
import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/server/cli.js';
import { RateLimiter } from '../../src/server/rate-limit.js';
import { createStore, kvs, putRecord, raw, startTestServer } from './helpers.js';

describe('RateLimiter', () => {
  it('lets N requests through per second per resource, then refuses with a Retry-After', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(3, () => now);
    for (let i = 0; i < 3; i++) limiter.take('a');
    expect(() => limiter.take('a')).toThrow(expect.objectContaining({ status: 429, type: 'rate-limit-exceeded', headers: { 'Retry-After': '1' } }));
    // Another resource has its own bucket.
    limiter.take('b');
    // A third of a second refills one token.
    now += 334;
    limiter.take('a');
    expect(() => limiter.take('a')).toThrow(expect.objectContaining({ status: 429 }));
    expect(limiter.refused).toBe(2);
  });

  it('names a wait long enough for a token at low rates', () => {
    const now = 0;
    const limiter = new RateLimiter(1, () => now);
    limiter.take('a');
    expect(() => limiter.take('a')).toThrow(expect.objectContaining({ headers: { 'Retry-After': '1' } }));
  });

  it('refuses a limit that is not a positive number', () => {
    expect(() => new RateLimiter(0)).toThrow(/positive/);
  });
});

describe('server with rateLimitPerSecond', () => {
  it("answers 429 with the platform's error body and Retry-After once a store's budget is spent; other stores are unaffected", async () => {
    let now = 5_000_000;
    const server = await startTestServer({ rateLimitPerSecond: 5, now: () => now });
    const a = await createStore(server, 'alpha');
    const b = await createStore(server, 'beta');
    // Fresh second for each store: creating them counted against the collection, not the stores.
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push((await putRecord(server, a, `k${i}`, 'v')).status);
    expect(answers).toEqual([201, 201, 201, 201, 201, 429, 429]);
    const refused = await raw(server, 'GET', `${kvs}/${a}/records/k0`);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json).toEqual({
      error: { type: 'rate-limit-exceeded', message: 'You have exceeded the rate limit of 5 requests per second for this resource.' },
    });
    expect((await putRecord(server, b, 'k', 'v')).status).toBe(201);
    // A second later the store takes requests again; what was refused was never written.
    now += 1000;
    expect((await raw(server, 'GET', `${kvs}/${a}/records/k0`)).status).toBe(200);
    expect((await raw(server, 'GET', `${kvs}/${a}/records/k5`)).status).toBe(404);
  });

  it('is off by default', async () => {
    const server = await startTestServer();
    const a = await createStore(server, 'alpha');
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => putRecord(server, a, `k${i}`, 'v').then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([201]));
  });

  it('parses --rate-limit and refuses a bad value', () => {
    expect(parseServeArgs(['--rate-limit', '60']).rateLimitPerSecond).toBe(60);
    expect(parseServeArgs([]).rateLimitPerSecond).toBeUndefined();
    expect(() => parseServeArgs(['--rate-limit', '0'])).toThrow(/--rate-limit/);
    expect(() => parseServeArgs(['--rate-limit', 'fast'])).toThrow(/--rate-limit/);
  });
});
