/**
 * S3 faults between the servers and the gateway (a fault-injecting proxy): after every failed,
 * retried, lost or stalled request, the stores as any instance sees them hold together (no
 * orphan, duplicate or blocked name), acknowledged record writes stay, and every call ends
 * with a precise error within a bound.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServer } from '../../src/server/server.js';
import { StorageError } from '../../src/storage/errors.js';
import type { S3Backend } from '../../src/storage/s3/index.js';
import { StorageService } from '../../src/storage/service.js';
import { LOCAL_USER } from '../../src/storage/types.js';
import { body, readRecord } from '../support/backend-contract.js';
import { startS3FaultProxy, type S3FaultProxy } from '../support/s3-fault-proxy.js';
import { BOUND_MILLIS, expectConsistent, expectPrecise, FAST, waitFor, within } from '../support/s3-invariants.js';
import { useS3 } from '../support/s3-service.js';

const s3 = useS3();
let proxy: S3FaultProxy;

beforeAll(async () => {
  proxy = await startS3FaultProxy(s3.service.endpoint);
});
afterAll(async () => {
  proxy.release();
  await proxy.close();
});

/** One instance through the proxy and one straight to the gateway, on one prefix. */
async function instances(metadataCacheMillis = 0): Promise<{ faulty: S3Backend; clean: S3Backend }> {
  const faulty = await s3.backend(undefined, { ...FAST, endpoint: proxy.url, metadataCacheMillis });
  const clean = await s3.backend(faulty.options.prefix, { metadataCacheMillis });
  return { faulty, clean };
}

describe('S3 faults: store creation', { timeout: 120_000 }, () => {
  const steps = [
    { label: 'the metadata write', path: /__metadata__\.json/ },
    { label: 'the name claim', path: /\.apify-kv\/names\// },
    { label: 'the id index', path: /\.apify-kv\/stores\// },
  ];
  for (const kind of ['status500', 'slowDown', 'reset'] as const) {
    it(`leaves no orphan, duplicate or blocked name when ${kind} fails each write of a create`, async () => {
      const { faulty, clean } = await instances();
      const service = new StorageService(faulty);
      const cleanService = new StorageService(clean);
      const errors: unknown[] = [];
      for (const step of steps) {
        const name = `c-${kind.toLowerCase()}-${steps.indexOf(step)}`;
        proxy.add({ action: kind, method: 'PUT', path: step.path, times: Infinity });
        const seen = proxy.requests.length;
        const first = await within(service.getOrCreateStore({ name, user: LOCAL_USER }));
        proxy.clear();
        // Every design writes the metadata and the claim; the id index only some.
        if (step.label !== 'the id index') expect(proxy.requests.slice(seen).some((r) => r.fault === kind)).toBe(true);
        await expectConsistent(clean);
        // A retry (here, or on another instance) gives exactly one store of that name.
        const retried = await service.getOrCreateStore({ name, user: LOCAL_USER });
        const elsewhere = await cleanService.getOrCreateStore({ name, user: LOCAL_USER });
        expect(elsewhere.store.id).toBe(retried.store.id);
        const listed = await expectConsistent(clean);
        expect(listed.filter((s) => s.name === name).map((s) => s.id)).toEqual([retried.store.id]);
        if (first.value) expect(retried.store.id).toBe(first.value.store.id);
        if (first.error) errors.push(first.error);
      }
      // Checked last, so that the stores' state is checked after every step first.
      for (const error of errors) expectPrecise(error);
      await service.close();
      await cleanService.close();
    });
  }

  it('lists a store once when its metadata write was applied but the answer lost', async () => {
    const { faulty, clean } = await instances();
    const service = new StorageService(faulty);
    for (const name of ['lost-named', null]) {
      proxy.add({ action: 'dropAnswer', method: 'PUT', path: /__metadata__\.json/, times: 1 });
      const made = await within(service.getOrCreateStore({ ...(name ? { name } : {}), user: LOCAL_USER }));
      proxy.clear();
      expect(made.error).toBeUndefined();
      const listed = await expectConsistent(clean);
      expect(listed.filter((s) => s.id === made.value!.store.id)).toHaveLength(1);
      if (name) expect(listed.filter((s) => s.name === name)).toHaveLength(1);
    }
    await service.close();
  });

  it('takes a name claim whose answer was lost (the SDK retries and gets 412)', async () => {
    const { faulty, clean } = await instances();
    const service = new StorageService(faulty);
    proxy.add({ action: 'dropAnswer', method: 'PUT', path: /\.apify-kv\/names\/lost-claim/, times: 1 });
    const made = await within(service.getOrCreateStore({ name: 'lost-claim', user: LOCAL_USER }));
    proxy.clear();
    expect(made.error).toBeUndefined();
    expect(made.value!.created).toBe(true);
    expect((await clean.catalog.findByName(LOCAL_USER.id, 'lost-claim'))?.id).toBe(made.value!.store.id);
    await expectConsistent(clean);
    await service.close();
  });
});

describe('S3 faults: rename', { timeout: 120_000 }, () => {
  const failures = [
    { label: 'the metadata write after the new claim', rule: { method: 'PUT', path: /__metadata__\.json/ } },
    { label: 'the release of the old name', rule: { method: 'DELETE', path: /\.apify-kv\/names\// } },
    { label: 'every read of a name claim', rule: { method: 'GET', path: /\.apify-kv\/names\// } },
  ];
  for (const [i, failure] of failures.entries()) {
    it(`blocks no name when ${failure.label} fails`, async () => {
      const { faulty, clean } = await instances();
      const service = new StorageService(faulty);
      const cleanService = new StorageService(clean);
      const oldName = `r${i}-old`;
      const newName = `r${i}-new`;
      const { store } = await service.getOrCreateStore({ name: oldName, user: LOCAL_USER });
      proxy.add({ action: 'status500', ...failure.rule, times: Infinity });
      const renamed = await within(service.updateStore(store.id, { name: newName }));
      proxy.clear();
      await expectConsistent(clean);
      // The store has exactly one of the two names; the other is free for a new store.
      const now = (await clean.catalog.get(store.id))!;
      expect([oldName, newName]).toContain(now.name);
      const freeName = now.name === oldName ? newName : oldName;
      expect((await clean.catalog.findByName(LOCAL_USER.id, now.name!))?.id).toBe(store.id);
      const other = await within(cleanService.getOrCreateStore({ name: freeName, user: LOCAL_USER }));
      expect(other.error).toBeUndefined();
      expect(other.value!.created).toBe(true);
      expect(other.value!.store.id).not.toBe(store.id);
      await expectConsistent(clean);
      if (renamed.error) expectPrecise(renamed.error);
      await service.close();
      await cleanService.close();
    });
  }

  it('renames through a lost answer of the new claim', async () => {
    const { faulty, clean } = await instances();
    const service = new StorageService(faulty);
    const { store } = await service.getOrCreateStore({ name: 'lost-r-old', user: LOCAL_USER });
    proxy.add({ action: 'dropAnswer', method: 'PUT', path: /\.apify-kv\/names\/lost-r-new/, times: 1 });
    const renamed = await within(service.updateStore(store.id, { name: 'lost-r-new' }));
    proxy.clear();
    expect(renamed.error).toBeUndefined();
    expect((await clean.catalog.findByName(LOCAL_USER.id, 'lost-r-new'))?.id).toBe(store.id);
    expect(await clean.catalog.findByName(LOCAL_USER.id, 'lost-r-old')).toBeNull();
    await expectConsistent(clean);
    await service.close();
  });
});

describe('S3 faults: the late sweep of a deleted store', { timeout: 120_000 }, () => {
  it('never deletes a record of a store made again under that name while it runs', async () => {
    const bound = 300;
    const { faulty, clean } = await instances(bound);
    const info = (await new StorageService(faulty).getOrCreateStore({ name: 'swept', user: LOCAL_USER })).store;
    await faulty.records(info.id).put('sweepkey', body('old'), 'text/plain');
    expect(await clean.catalog.get(info.id)).not.toBeNull();
    // The clean instance uses the store's records first (it learns their layout once per store).
    expect(await clean.records(info.id).get('sweepkey')).not.toBeNull();
    expect(await faulty.catalog.remove(info.id)).toBe(true);
    // The clean instance still holds the store for up to the bound: its write is a leftover.
    await clean.records(info.id).put('sweepkey', body('stale'), 'text/plain');
    // The late sweep's delete of that leftover is held at the proxy...
    proxy.add({ action: 'hold', method: 'DELETE', path: /sweepkey/, times: 1 });
    const settled = faulty.catalog.settle();
    await waitFor(() => proxy.waiting() > 0, 10_000);
    // ...while a store of that name is made again and given a record of that key.
    await waitFor(async () => (await clean.catalog.get(info.id)) === null, 10_000);
    const again = await new StorageService(clean).getOrCreateStore({ name: 'swept', user: LOCAL_USER });
    expect(again.store.id).not.toBe(info.id);
    await clean.records(again.store.id).put('sweepkey', body('new'), 'text/plain');
    proxy.release();
    await settled;
    proxy.clear();
    expect((await readRecord(clean, again.store.id, 'sweepkey'))?.body.toString()).toBe('new');
  });
});

describe('S3 faults: timeouts and errors answered', { timeout: 120_000 }, () => {
  it('ends a call to a gateway that accepts and never answers with storage-unavailable', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const { S3Backend } = await import('../../src/storage/s3/index.js');
      const backend = new S3Backend({ ...FAST, bucket: s3.bucket, prefix: 'silent', endpoint, forcePathStyle: true, region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y' });
      const started = Date.now();
      const outcome = await within(backend.catalog.get('AAAAAAAAAAAAAAAAA'));
      expect(outcome.error).toBeInstanceOf(StorageError);
      expect((outcome.error as StorageError).code).toBe('storage-unavailable');
      expect((outcome.error as StorageError).retryAfterSecs).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(BOUND_MILLIS);
      await backend.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('answers 503 with Retry-After through the server on a stalled or failing S3, and recovers', async () => {
    const { faulty } = await instances();
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      storage: `s3://${s3.bucket}/${faulty.options.prefix}`,
      s3: { ...FAST, endpoint: proxy.url, region: s3.service.region, accessKeyId: s3.service.accessKeyId, secretAccessKey: s3.service.secretAccessKey, forcePathStyle: true, metadataCacheMillis: 0 },
    });
    try {
      const api = `${server.url}/v2/key-value-stores`;
      const made = await fetch(`${api}?name=timeouts`, { method: 'POST' });
      expect(made.status).toBe(201);
      const id = ((await made.json()) as { data: { id: string } }).data.id;
      const put = await fetch(`${api}/${id}/records/k`, { method: 'PUT', body: 'v1', headers: { 'content-type': 'text/plain' } });
      expect(put.status).toBe(201);

      // Every metadata read stalls: concurrent requests of that store all end, each with a 503.
      proxy.add({ action: 'stall', method: 'GET', path: /__metadata__\.json/, times: Infinity });
      const started = Date.now();
      const answers = await Promise.all([1, 2, 3].map(() => fetch(`${api}/${id}/records/k`, { signal: AbortSignal.timeout(BOUND_MILLIS) })));
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(((await answer.json()) as { error: { type: string } }).error.type).toBe('storage-unavailable');
      }
      expect(Date.now() - started).toBeLessThan(BOUND_MILLIS);
      proxy.clear();
      // Nothing stays stuck: the next request reads again and succeeds.
      const after = await fetch(`${api}/${id}/records/k`, { signal: AbortSignal.timeout(BOUND_MILLIS) });
      expect(after.status).toBe(200);
      expect(await after.text()).toBe('v1');

      // A throttled write: 503 with a longer Retry-After, and nothing half-written.
      proxy.add({ action: 'slowDown', method: 'PUT', path: /\/k(\.|\?|$)/, times: Infinity });
      const slowed = await fetch(`${api}/${id}/records/k`, { method: 'PUT', body: 'v2', headers: { 'content-type': 'text/plain' }, signal: AbortSignal.timeout(BOUND_MILLIS) });
      proxy.clear();
      expect(slowed.status).toBe(503);
      expect(Number(slowed.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
      const still = await fetch(`${api}/${id}/records/k`);
      expect(await still.text()).toBe('v1');

      // A record whose body stops halfway: 503, not a hang and not a torn body.
      const big = 'x'.repeat(100_000);
      expect((await fetch(`${api}/${id}/records/big`, { method: 'PUT', body: big, headers: { 'content-type': 'text/plain' } })).status).toBe(201);
      proxy.add({ action: 'stallBody', method: 'GET', path: /\/big(\.|\?|$)/, times: Infinity });
      const torn = await fetch(`${api}/${id}/records/big`, { signal: AbortSignal.timeout(BOUND_MILLIS) });
      proxy.clear();
      expect(torn.status).toBe(503);
      expect(Number(torn.headers.get('retry-after'))).toBeGreaterThan(0);
      const whole = await fetch(`${api}/${id}/records/big`);
      expect(await whole.text()).toBe(big);
    } finally {
      proxy.clear();
      proxy.release();
      await server.close();
    }
  });
});
