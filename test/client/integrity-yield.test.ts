/**
 * The client's MD5 of a large body lets the event loop turn: against the real server, a ticker
 * (a `setImmediate` that queues itself again) counts the turns that run while the client hashes a
 * record's body for an upload (plain or direct) and for the check of a full download. Hashing in
 * one call, as before, lets none run. An abort meanwhile stops the call with the signal's reason.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AxiosAdapter } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';
import { platform } from '../../src/client/platform/node.js';
import { startTestServer } from '../server/helpers.js';

const MIB = 1024 * 1024;
/** Above Node's threshold for hashing in slices (4 MiB), below the client's payload limit (9 MiB). */
const SIZE = 6 * MIB + 5;

/** One hash the client took: the body's size and the ticker's turns from its start to its end. */
interface Hash {
  bytes: number;
  turns: number;
}

let undo: (() => void) | undefined;
afterEach(() => undo?.());

/**
 * Counts event-loop turns and wraps the platform's MD5 functions (one-shot and sliced, as far as
 * they exist) to note the turns each hash spanned. `onStart` runs as a hash starts.
 */
function watchHashes(onStart: (bytes: number) => void = () => undefined) {
  const hashes: Hash[] = [];
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const { md5Hex, md5HexSliced } = platform;
  const started = (bytes: Uint8Array) => {
    onStart(bytes.length);
    return turns;
  };
  platform.md5Hex = (bytes) => {
    const from = started(bytes);
    const md5 = md5Hex!(bytes);
    hashes.push({ bytes: bytes.length, turns: turns - from });
    return md5;
  };
  if (md5HexSliced) {
    platform.md5HexSliced = async (bytes, signal) => {
      const from = started(bytes);
      const md5 = await md5HexSliced(bytes, signal);
      hashes.push({ bytes: bytes.length, turns: turns - from });
      return md5;
    };
  }
  undo = () => {
    ticking = false;
    Object.assign(platform, { md5Hex, md5HexSliced });
    undo = undefined;
  };
  return hashes;
}

/** The lean adapter, noting the Content-MD5 of each PUT, and where it went: `record` (the API) or `direct` (a signed URL). */
function md5Noting(sent: string[]): AxiosAdapter {
  return (config) => {
    if (config.method?.toUpperCase() === 'PUT') {
      const where = /\/records\/[^/?]+(\?|$)/.test(config.url ?? '') ? 'record' : 'direct';
      sent.push(`${where} ${String(config.headers?.['Content-MD5'] ?? '')}`);
    }
    return nodeAdapter(config);
  };
}

async function setUp(options: { maxPayloadBytes?: number } = {}) {
  const server = await startTestServer();
  const sent: string[] = [];
  const client = new ApifyClient({ baseUrl: server.url, adapter: md5Noting(sent), maxRetries: 0, ...options });
  const { id } = await client.keyValueStores.getOrCreate('large-hashes');
  return { client, store: client.keyValueStore(id), storeId: id, sent };
}

const bodyOf = (size: number) => randomBytes(size);
const base64Md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

describe('hashing a large body lets the event loop turn', () => {
  it('an upload: turns run while its MD5 is taken; the Content-MD5 sent is right and the record is stored', async () => {
    const { store, sent } = await setUp();
    const body = bodyOf(SIZE);
    const hashes = watchHashes();
    await store.setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' });
    const hash = hashes.find((h) => h.bytes === SIZE);
    // 7 slices of 1 MiB, each followed by one turn: at least a turn after each of the first 5.
    expect(hash?.turns).toBeGreaterThanOrEqual(5);
    expect(sent).toEqual([`record ${base64Md5(body)}`]);
    undo!();
    expect(Buffer.compare((await store.getRecord('big', { buffer: true }))!.value as Buffer, body)).toBe(0);
  });

  it('a direct upload (a body over the payload limit): the same, with the digest sent to the signed URL', async () => {
    const { store, sent } = await setUp({ maxPayloadBytes: MIB });
    const body = bodyOf(SIZE);
    const hashes = watchHashes();
    await store.setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' });
    expect(hashes.find((h) => h.bytes === SIZE)?.turns).toBeGreaterThanOrEqual(5);
    expect(sent).toEqual([`direct ${base64Md5(body)}`]);
  });

  it('a full download: turns run while its body is checked against the ETag', async () => {
    const { store } = await setUp();
    const body = bodyOf(SIZE);
    await store.setRecord({ key: 'big', value: body, contentType: 'application/octet-stream' });
    const hashes = watchHashes();
    const read = await store.getRecord('big', { buffer: true });
    expect(Buffer.compare(read!.value as Buffer, body)).toBe(0);
    expect(hashes.find((h) => h.bytes === SIZE)?.turns).toBeGreaterThanOrEqual(5);
  });

  it('a small body is still hashed in one call', async () => {
    const { store } = await setUp();
    const hashes = watchHashes();
    await store.setRecord({ key: 'small', value: 'x'.repeat(1000), contentType: 'text/plain' });
    expect((await store.getRecord('small'))?.value).toBe('x'.repeat(1000));
    expect(hashes.map((h) => [h.bytes, h.turns])).toEqual([
      [1000, 0],
      [1000, 0],
    ]);
  });
});

describe('an abort while a large body is hashed', () => {
  it('stops an upload with the signal reason, before anything is sent', async () => {
    const { client, storeId, sent } = await setUp();
    const controller = new AbortController();
    const reason = new Error('the user left');
    watchHashes((bytes) => bytes === SIZE && setImmediate(() => controller.abort(reason)));
    const put = client.keyValueStores.putRecord({ storeId, key: 'big', body: bodyOf(SIZE), contentType: 'application/octet-stream', signal: controller.signal });
    await expect(put).rejects.toBe(reason);
    undo!();
    expect(sent).toEqual([]);
    expect(await client.keyValueStores.getRecord({ storeId, key: 'big' })).toBeNull();
  });

  it('stops a download with the signal reason', async () => {
    const { client, storeId } = await setUp();
    await client.keyValueStores.putRecord({ storeId, key: 'big', body: bodyOf(SIZE), contentType: 'application/octet-stream' });
    const controller = new AbortController();
    const reason = new Error('the user left');
    watchHashes((bytes) => bytes === SIZE && setImmediate(() => controller.abort(reason)));
    await expect(client.keyValueStores.getRecord({ storeId, key: 'big', signal: controller.signal })).rejects.toBe(reason);
  });
});
