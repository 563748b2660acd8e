/** The server over S3: readiness follows the bucket, and the S3 calls, errors and retries show in the metrics. */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

import { startServer } from '../../src/server/index.js';
import { createBucket, useS3 } from '../support/s3-service.js';

const s3 = useS3();

/** A TCP relay to the S3 endpoint (so signatures stay valid) that can drop every connection. */
async function relay(target: string): Promise<{ endpoint: string; setDown(down: boolean): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setDown(value) {
      down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('operations over S3', { timeout: 120_000 }, () => {
  it('is ready while the bucket answers, not ready while it does not, and counts S3 errors and retries', async () => {
    const { service } = s3;
    const bucket = await createBucket(service, 'ops');
    const proxy = await relay(service.endpoint);
    const warnings: string[] = [];
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      storage: `s3://${bucket}/ops`,
      s3: { endpoint: proxy.endpoint, region: service.region, accessKeyId: service.accessKeyId, secretAccessKey: service.secretAccessKey },
      metrics: true,
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    });
    try {
      const get = async (path: string) => {
        const res = await fetch(`${server.url}${path}`);
        return { status: res.status, text: await res.text() };
      };
      expect((await get('/health/ready')).status).toBe(200);
      let metrics = (await get('/metrics')).text;
      const callsBefore = sample(metrics, 'apify_kv_s3_requests_total')!;
      expect(callsBefore).toBeGreaterThan(0);
      expect(sample(metrics, 'apify_kv_s3_request_errors_total')).toBe(0);

      proxy.setDown(true);
      await expect.poll(async () => (await get('/health/ready')).text, { timeout: 20_000, interval: 200 }).toContain('storage-unavailable');
      expect((await get('/health/live')).status).toBe(200);
      metrics = (await get('/metrics')).text;
      expect(sample(metrics, 'apify_kv_s3_request_errors_total')).toBeGreaterThanOrEqual(1);
      // The SDK retried the refused calls before giving up.
      expect(sample(metrics, 'apify_kv_s3_request_retries_total')).toBeGreaterThanOrEqual(1);
      expect(warnings.some((w) => w.startsWith('Not ready'))).toBe(true);
      expect(warnings.join('\n')).not.toContain(service.secretAccessKey);

      proxy.setDown(false);
      await expect.poll(async () => (await get('/health/ready')).status, { timeout: 20_000, interval: 200 }).toBe(200);
    } finally {
      await server.close();
      await proxy.close();
    }
  });
});
