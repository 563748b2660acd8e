/**
 * The behaviours of axios and axios-retry the HTTP layer (`http/http-client.ts`) relies on. Each
 * test names one; a dependency update that changes it fails here by name, before it breaks
 * retries in a subtle way. No network: a stand-in adapter answers.
 */
import axios, { AxiosError, type AxiosRequestConfig, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { describe, expect, it } from 'vitest';

/** Stands in for the client's per-call object: a class instance riding on the axios config. */
class CallState {
  attempt = 1;
  constructor(readonly label: string) {}
}

type Config = InternalAxiosRequestConfig & { call?: CallState };

/** An adapter that fails the first `failures` attempts with ECONNRESET, then answers 200; it records each config. */
function flakyAdapter(failures: number, seen: Config[]) {
  return async (config: InternalAxiosRequestConfig) => {
    // A shallow copy: axios-retry sends the same config object again, changed.
    seen.push({ ...config } as Config);
    if (seen.length <= failures) throw new AxiosError('socket hang up', 'ECONNRESET', config);
    return { data: 'ok', status: 200, statusText: 'OK', headers: {}, config };
  };
}

/** An instance set up as the HTTP layer does it: no defaults, axios-retry, its request hook ejected. */
function layerLikeInstance(options: Parameters<typeof axiosRetry>[1]) {
  const instance = axios.create();
  const defaults = instance.defaults as Record<string, unknown>;
  for (const key of Object.keys(defaults)) delete defaults[key];
  const { requestInterceptorId } = axiosRetry(instance, options);
  instance.interceptors.request.eject(requestInterceptorId);
  return { instance, requestInterceptorId };
}

describe('axios and axios-retry behaviours the HTTP layer depends on', () => {
  it('axios-retry returns its request hook id, and retries still run with that hook ejected', async () => {
    const seen: Config[] = [];
    const { instance, requestInterceptorId } = layerLikeInstance({ retries: 2, retryCondition: () => true, retryDelay: () => 0 });
    expect(typeof requestInterceptorId).toBe('number');
    const response = await instance.request({ method: 'GET', url: 'http://127.0.0.1/x', adapter: flakyAdapter(2, seen) });
    expect(response.data).toBe('ok');
    expect(seen).toHaveLength(3);
  });

  it('axios sends a request of an instance whose defaults were all deleted, adding no default headers or transforms', async () => {
    const seen: Config[] = [];
    const { instance } = layerLikeInstance({ retries: 0 });
    const response = await instance.request({ method: 'PUT', url: 'http://127.0.0.1/x', data: 'raw', adapter: flakyAdapter(0, seen) });
    expect(response.status).toBe(200);
    const config = seen[0]!;
    expect(config.headers.get('Accept')).toBeUndefined();
    expect(config.data).toBe('raw');
    expect(config.transformRequest ?? []).toEqual([]);
    expect(config.timeout ?? 0).toBe(0);
  });

  it('axios config merging keeps a class instance by reference, on every attempt', async () => {
    const seen: Config[] = [];
    const { instance } = layerLikeInstance({ retries: 1, retryCondition: () => true, retryDelay: () => 0 });
    const call = new CallState('one call');
    await instance.request({ method: 'GET', url: 'http://127.0.0.1/x', adapter: flakyAdapter(1, seen), call } as AxiosRequestConfig);
    expect(seen.map((config) => config.call)).toEqual([call, call]);
    expect(seen[1]!.call).toBe(call);
  });

  it('axios-retry waits what retryDelay returns, awaits onRetry before the next attempt, and sends the data onRetry set', async () => {
    const seen: Config[] = [];
    const events: string[] = [];
    const { instance } = layerLikeInstance({
      retries: Infinity,
      retryCondition: (error) => {
        events.push(`condition:${(error.config as Config).call?.label}`);
        return true;
      },
      retryDelay: (count) => {
        events.push(`delay:${count}`);
        return 0;
      },
      onRetry: async (count, _error, config) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push(`onRetry:${count}`);
        config.data = `attempt ${count + 1}`;
      },
    });
    const started = Date.now();
    await instance.request({ method: 'PUT', url: 'http://127.0.0.1/x', data: 'attempt 1', adapter: flakyAdapter(1, seen), call: new CallState('c') } as AxiosRequestConfig);
    expect(events).toEqual(['condition:c', 'delay:1', 'onRetry:1']);
    expect(seen.map((config) => config.data)).toEqual(['attempt 1', 'attempt 2']);
    // retryDelay said 0: the only wait is the one onRetry took.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('axios-retry asks retryCondition on every failure and stops when it says no, with retries: Infinity', async () => {
    const seen: Config[] = [];
    let asked = 0;
    const { instance } = layerLikeInstance({ retries: Infinity, retryCondition: () => ++asked < 3, retryDelay: () => 0 });
    const error = await instance.request({ method: 'GET', url: 'http://127.0.0.1/x', adapter: flakyAdapter(10, seen) }).catch((e: unknown) => e);
    expect((error as AxiosError).code).toBe('ECONNRESET');
    expect([asked, seen.length]).toEqual([3, 3]);
  });
});
