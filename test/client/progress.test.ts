/**
 * Progress callbacks of record bodies, against the real local server over HTTP: uploads (plain,
 * compressed, streamed, direct), downloads (buffered and streamed), retries, and callbacks that fail.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ApifyClient, type TransferProgress } from '../../src/index.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../cli/proxy.js';
import { createStore, startTestServer, tempDir } from '../server/helpers.js';

const MiB = 1024 * 1024;
const ADAPTERS = { node: nodeAdapter, http: 'http', fetch: 'fetch' } as const;

const proxies: FaultProxy[] = [];
afterEach(async () => {
  while (proxies.length > 0) await proxies.pop()!.close();
});

/** A server, a store on it, and a client that talks to it through a recording proxy. */
async function setUp(adapter: keyof typeof ADAPTERS = 'node', fault: (method: string, path: string) => Fault = () => null, maxPayloadBytes?: number) {
  const server = await startTestServer();
  const storeId = await createStore(server, 'progress');
  const proxy = await startFaultProxy(server.url, fault);
  proxies.push(proxy);
  const client = new ApifyClient({ baseUrl: proxy.url, storeId, adapter: ADAPTERS[adapter], minDelayBetweenRetriesMillis: 1, maxPayloadBytes });
  return { client, storeId, proxy, store: client.keyValueStore(storeId) };
}

/** Records progress events. */
function recorder() {
  const events: TransferProgress[] = [];
  return { events, on: (p: TransferProgress) => void events.push({ ...p }) };
}

/** Loaded only grows, never past the total; the last event is the whole body. */
function expectWhole(events: TransferProgress[], size: number, total: number | 'none' = size): void {
  expect(events.length).toBeGreaterThan(0);
  for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThan(events[i - 1]!.loaded);
  for (const e of events) {
    expect(e.total).toBe(total === 'none' ? undefined : total);
    expect(e.loaded).toBeLessThanOrEqual(size);
  }
  expect(events.at(-1)!.loaded).toBe(size);
}

describe.each(Object.keys(ADAPTERS) as (keyof typeof ADAPTERS)[])('progress with the %s adapter', (adapter) => {
  it('reports an upload of a few MiB in steps up to its size, and its download the same', async () => {
    const { store } = await setUp(adapter);
    const body = randomBytes(3 * MiB);
    const up = recorder();
    await store.setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' }, { onUploadProgress: up.on });
    expectWhole(up.events, body.length);
    // Counted as it goes, not only at the end.
    expect(up.events.length).toBeGreaterThan(1);

    const down = recorder();
    const record = await store.getRecord('big', { buffer: true, onDownloadProgress: down.on });
    expect(Buffer.compare(record!.value as Buffer, body)).toBe(0);
    expectWhole(down.events, body.length);
    expect(down.events.length).toBeGreaterThan(1);
  });
});

describe('progress', () => {
  it('counts a compressed upload in bytes of the body, not of the wire', async () => {
    const { store } = await setUp();
    const body = Buffer.from('all work and no play '.repeat(100_000));
    const up = recorder();
    await store.setRecord({ key: 'text', value: body.toString(), contentType: 'text/plain' }, { onUploadProgress: up.on });
    expectWhole(up.events, body.length);
  });

  it('counts a file stream against its size, and a stream of unknown length without a total', async () => {
    // A small payload limit: the stream of unknown length goes as a stream, through a direct upload.
    const { store, proxy } = await setUp('node', () => null, 256 * 1024);
    const dir = await tempDir();
    const file = path.join(dir, 'body.bin');
    const body = randomBytes(2 * MiB);
    await writeFile(file, body);
    const fromFile = recorder();
    await store.setRecord({ key: 'file', value: createReadStream(file) }, { onUploadProgress: fromFile.on });
    expectWhole(fromFile.events, body.length);

    const unknown = recorder();
    const pieces = Array.from({ length: 8 }, (_, i) => body.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));
    await store.setRecord({ key: 'stream', value: Readable.from(pieces) }, { onUploadProgress: unknown.on });
    // Read ahead past the limit, then sent as it streams: the count ends at the length, no total.
    expect(proxy.seen.some((line) => line.endsWith('/records/stream/direct-upload-url'))).toBe(true);
    expectWhole(unknown.events, 8 * 64 * 1024, 'none');
    expect(unknown.events.length).toBeGreaterThan(1);
  });

  it('reports a streamed download as the stream is read', async () => {
    const { store } = await setUp();
    const body = randomBytes(2 * MiB);
    await store.setRecord({ key: 's', value: body });
    const down = recorder();
    const record = await store.getRecord('s', { stream: true, onDownloadProgress: down.on });
    const stream = record!.value as Readable;
    const before = down.events.length;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    expect(down.events.length).toBeGreaterThan(before);
    expectWhole(down.events, body.length);
  });

  it('reports a direct upload of a record over 9 MiB', async () => {
    const { store, proxy } = await setUp();
    const body = randomBytes(9 * MiB + 1);
    const up = recorder();
    await store.setRecord({ key: 'huge', value: body, contentType: 'application/octet-stream' }, { onUploadProgress: up.on });
    expect(proxy.seen.some((line) => line.endsWith('/records/huge/direct-upload-url'))).toBe(true);
    expectWhole(up.events, body.length);
    expect(up.events.length).toBeGreaterThan(1);
    const back = await store.getRecord('huge', { buffer: true });
    expect(Buffer.compare(back!.value as Buffer, body)).toBe(0);
  });

  it('never goes back when a failed upload is retried, and ends at the size', async () => {
    let failures = 1;
    const { store, proxy } = await setUp('node', (method) => (method === 'PUT' && failures-- > 0 ? { kind: 'status', status: 503 } : null));
    const body = randomBytes(MiB);
    const up = recorder();
    await store.setRecord({ key: 'again', value: body }, { onUploadProgress: up.on });
    expect(proxy.seen.filter((line) => line.startsWith('PUT'))).toHaveLength(2);
    // The first attempt's body went out whole before its 503; the retry adds nothing new.
    expectWhole(up.events, body.length);
  });

  it('goes on with the request when a callback throws or rejects, and calls a throwing one no more', async () => {
    const { store } = await setUp();
    const body = randomBytes(MiB);
    let calls = 0;
    await store.setRecord({ key: 'k', value: body }, {
      onUploadProgress: () => {
        calls++;
        throw new Error('broken bar');
      },
    });
    expect(calls).toBe(1);
    let asyncCalls = 0;
    const record = await store.getRecord('k', {
      buffer: true,
      onDownloadProgress: async () => {
        asyncCalls++;
        throw new Error('broken async bar');
      },
    });
    expect(Buffer.compare(record!.value as Buffer, body)).toBe(0);
    expect(asyncCalls).toBeGreaterThan(1);
  });

  it('counts no error answer: a missing record reports nothing', async () => {
    const { store } = await setUp();
    const down = recorder();
    expect(await store.getRecord('missing', { onDownloadProgress: down.on })).toBeUndefined();
    expect(down.events).toEqual([]);
  });

  it('takes the callbacks in the flat keyValueStores API too', async () => {
    const { client, storeId } = await setUp();
    const body = randomBytes(MiB);
    const up = recorder();
    await client.keyValueStores.putRecord({ storeId, key: 'flat', body, onUploadProgress: up.on });
    expectWhole(up.events, body.length);
    const down = recorder();
    await client.keyValueStores.getRecord({ storeId, key: 'flat', disableBodyParser: true, onDownloadProgress: down.on });
    expectWhole(down.events, body.length);
  });

  it('refuses a misspelt option and a callback that is not a function', async () => {
    const { store } = await setUp();
    const value = 'x';
    await expect(store.setRecord({ key: 'k', value }, { onUploadProgres: () => undefined } as never)).rejects.toMatchObject({
      name: 'ApifyArgumentError',
      message: expect.stringContaining('onUploadProgres'),
    });
    await expect(store.setRecord({ key: 'k', value }, { onUploadProgress: 'bar' } as never)).rejects.toMatchObject({
      message: expect.stringContaining('onUploadProgress must be a function'),
    });
    await expect(store.getRecord('k', { onUploadProgress: () => undefined } as never)).rejects.toMatchObject({
      message: expect.stringContaining('onUploadProgress'),
    });
  });
});
