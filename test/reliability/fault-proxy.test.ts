/**
 * The fault proxy's bound on faults in a row: with it, the fault run's "nothing failed" holds by
 * construction, not by the odds of nine faults in a row for one request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';

let upstream: http.Server;
let proxy: FaultProxy;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  // Every request draws a fault; only the bound lets one through.
  proxy = await startFaultProxy({ target: `http://127.0.0.1:${port}`, seed: 1, rates: { status503: 1 }, maxFaultsInARow: 3 });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

async function statusOf(path: string, method = 'GET'): Promise<number> {
  const res = await fetch(`${proxy.url}${path}`, { method });
  await res.arrayBuffer();
  return res.status;
}

describe('the fault proxy', () => {
  it('lets the try after maxFaultsInARow faults of one request through, then faults it again', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push(await statusOf('/a'));
    expect(statuses).toEqual([503, 503, 503, 200, 503, 503, 503, 200]);
  });

  it('counts each request (method and URL) on its own', async () => {
    expect([await statusOf('/b'), await statusOf('/b', 'PUT'), await statusOf('/c')]).toEqual([503, 503, 503]);
    expect(proxy.eventsFor('/b')).toHaveLength(4); // two received, two answered
  });
});
