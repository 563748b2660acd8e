/**
 * Storage faults answer precisely: a full disk is `507 insufficient-storage`, a read-only file
 * system `503 storage-read-only`, a failing device `500 storage-io-error`, descriptors run out
 * `503 storage-unavailable` with `Retry-After`; messages name the cause, never a path; the
 * server stays up and serves what it can. Real faults (tmpfs, read-only remount, an ext4 on a
 * loop device shut down) where the machine allows, else the same errnos through the fs layer.
 */
import { promises as fsp } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderBackend } from '../../src/storage/fs/folder-backend.js';
import { StorageService } from '../../src/storage/index.js';
import { FaultyFs, mountExt4OnLoop, mountTmpfs, realFaultsAvailable } from '../support/fault-mounts.js';
import { createStore, kvs, putRecord, raw, startTestServer, tempDir, type RawResponse, type TestServer } from './helpers.js';

const unmounts: Array<() => Promise<void>> = [];
afterEach(async () => {
  // Servers, then mounts, even when a test failed (the unmount is lazy: nothing keeps it busy).
  while (unmounts.length > 0) await unmounts.pop()!();
});

/** A server over storage whose faults the test switches on: for real, or through the fs layer. */
interface FaultStage {
  server: TestServer;
  /** Where the storage lives: no answer may name it. */
  dir: string;
  real: boolean;
  trigger(): Promise<void>;
  /** Ends an injected fault (fs-layer stages only). */
  heal?(): void;
}

async function fsLayerStage(fault: (fs: FaultyFs) => void): Promise<FaultStage> {
  const dir = await tempDir();
  const fs = new FaultyFs();
  const storage = new StorageService(new FolderBackend({ storageDir: dir, fs, watch: false, caseInsensitive: false }));
  await storage.open();
  const server = await startTestServer({ storage });
  unmounts.push(() => server.close().then(() => storage.close()));
  return { server, dir, real: false, trigger: async () => fault(fs), heal: () => fs.heal() };
}

async function tmpfsStage(sizeBytes: number, trigger: (mount: Awaited<ReturnType<typeof mountTmpfs>>) => Promise<void>): Promise<FaultStage> {
  const mount = await mountTmpfs(sizeBytes);
  unmounts.push(() => mount.unmount());
  const server = await startTestServer({ storageDir: mount.dir });
  unmounts.push(() => server.close());
  return { server, dir: mount.dir, real: true, trigger: () => trigger(mount) };
}

/** Answers are bounded in time: a request that hangs fails the test instead of stalling it. */
async function timed(request: Promise<RawResponse>, limitMillis = 10_000): Promise<RawResponse> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('request hung')), limitMillis)));
  try {
    return await Promise.race([request, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function expectFault(res: RawResponse, status: number, type: string, cause: RegExp, stage: FaultStage): void {
  expect(res.status, res.text).toBe(status);
  expect(res.json?.error?.type, res.text).toBe(type);
  expect(res.json.error.message).toMatch(cause);
  // Never a path: not the storage folder, not any absolute path at all.
  expect(res.text).not.toContain(stage.dir);
  expect(res.json.error.message).not.toMatch(/(^|[\s'"(])\/[a-z]/i);
}

/** A store with one record written before the fault. */
async function seed(server: TestServer): Promise<string> {
  const id = await createStore(server, 'faults');
  expect((await putRecord(server, id, 'keep', 'kept before the fault')).status).toBe(201);
  return id;
}

async function expectKeptRecordServed(server: TestServer, id: string, allowIoError = false): Promise<void> {
  const res = await timed(raw(server, 'GET', `${kvs}/${id}/records/keep`));
  if (allowIoError && res.status === 500) expect(res.json?.error?.type).toBe('storage-io-error');
  else {
    expect(res.status).toBe(200);
    expect(res.text).toBe('kept before the fault');
  }
}

describe('a full disk', () => {
  it('answers 507 insufficient-storage, keeps serving reads, and takes writes again once space is freed', async () => {
    const real = await realFaultsAvailable();
    const stage = real ? await tmpfsStage(2 * 1024 * 1024, async () => {}) : await fsLayerStage((fs) => fs.failWrites('ENOSPC'));
    const { server } = stage;
    const id = await seed(server);
    await stage.trigger();
    const big = Buffer.alloc(300 * 1024, 97);
    let full: RawResponse | undefined;
    const stored: string[] = [];
    for (let i = 0; i < 20 && !full; i++) {
      const res = await timed(putRecord(server, id, `big-${i}`, big, 'application/octet-stream'));
      if (res.status === 201) stored.push(`big-${i}`);
      else full = res;
    }
    expect(full, 'the disk never filled up').toBeDefined();
    expectFault(full!, 507, 'insufficient-storage', /full.*ENOSPC/, stage);
    // What was stored before is intact and served.
    await expectKeptRecordServed(server, id);
    for (const key of stored) expect((await timed(raw(server, 'GET', `${kvs}/${id}/records/${key}`))).body.equals(big)).toBe(true);
    // Freeing space (or ending the fault) makes writes work again.
    if (stage.real) for (const key of stored) expect((await timed(raw(server, 'DELETE', `${kvs}/${id}/records/${key}`))).status).toBe(204);
    else stage.heal!();
    expect((await timed(putRecord(server, id, 'after', 'small'))).status).toBe(201);
  });

  it('through the fs layer too: EDQUOT is insufficient-storage', async () => {
    const stage = await fsLayerStage((fs) => fs.failWrites('EDQUOT'));
    const id = await seed(stage.server);
    await stage.trigger();
    expectFault(await timed(putRecord(stage.server, id, 'k', 'v')), 507, 'insufficient-storage', /quota.*EDQUOT/, stage);
    expectFault(await timed(raw(stage.server, 'POST', `${kvs}?name=another`)), 507, 'insufficient-storage', /EDQUOT/, stage);
  });
});

describe('a read-only file system', () => {
  it('answers 503 storage-read-only to writes and still serves reads', async () => {
    const real = await realFaultsAvailable();
    const stage = real
      ? await tmpfsStage(4 * 1024 * 1024, (mount) => mount.remountReadOnly())
      : await fsLayerStage((fs) => fs.failWrites('EROFS'));
    const { server } = stage;
    const id = await seed(server);
    await stage.trigger();
    expectFault(await timed(putRecord(server, id, 'k', 'v')), 503, 'storage-read-only', /read-only.*EROFS/, stage);
    expectFault(await timed(raw(server, 'DELETE', `${kvs}/${id}/records/keep`)), 503, 'storage-read-only', /EROFS/, stage);
    expectFault(await timed(raw(server, 'POST', `${kvs}?name=another`)), 503, 'storage-read-only', /EROFS/, stage);
    await expectKeptRecordServed(server, id);
    const keys = await timed(raw(server, 'GET', `${kvs}/${id}/keys`));
    expect(keys.json.data.items.map((item: { key: string }) => item.key)).toEqual(['keep']);
  });

  it('a folder the server may not write to (EACCES) is storage-read-only as well', async () => {
    const stage = await fsLayerStage((fs) => fs.failWrites('EACCES'));
    const id = await seed(stage.server);
    await stage.trigger();
    expectFault(await timed(putRecord(stage.server, id, 'k', 'v')), 503, 'storage-read-only', /permission denied \(EACCES\)/, stage);
    await expectKeptRecordServed(stage.server, id);
  });
});

describe('a failing device', () => {
  it('answers 500 storage-io-error, never an anonymous 500, and the server stays up', async () => {
    const real = await realFaultsAvailable();
    let stage: FaultStage;
    if (real) {
      const mount = await mountExt4OnLoop(16 * 1024 * 1024);
      unmounts.push(() => mount.unmount());
      const server = await startTestServer({ storageDir: mount.dir });
      unmounts.push(() => server.close());
      stage = { server, dir: mount.dir, real: true, trigger: () => mount.failDevice() };
    } else {
      stage = await fsLayerStage((fs) => fs.failAll('EIO'));
    }
    const { server } = stage;
    const id = await seed(server);
    // A record big enough not to be served from memory.
    const big = Buffer.alloc(2 * 1024 * 1024, 98);
    expect((await putRecord(server, id, 'big', big, 'application/octet-stream')).status).toBe(201);
    await stage.trigger();
    expectFault(await timed(putRecord(server, id, 'k', 'v')), 500, 'storage-io-error', /device failed.*EIO/, stage);
    expectFault(await timed(raw(server, 'POST', `${kvs}?name=another`)), 500, 'storage-io-error', /EIO/, stage);
    const read = await timed(raw(server, 'GET', `${kvs}/${id}/records/big`)).catch((error: Error) => error);
    // Read from the device: the fault, or (once the body started) a cut transfer; never a wrong 200.
    if (!(read instanceof Error)) {
      if (read.status === 200) expect(read.body.equals(big)).toBe(true);
      else expectFault(read, 500, 'storage-io-error', /EIO/, stage);
    }
    await expectKeptRecordServed(server, id, true);
    // Still up: requests that need no storage are answered.
    expect((await timed(raw(server, 'GET', `${kvs}/${id}/records/bad%20key`))).status).toBe(400);
  });
});

describe('descriptors run out', () => {
  it('answers 503 storage-unavailable with Retry-After (through the fs layer)', async () => {
    const stage = await fsLayerStage((fs) => fs.failAll('EMFILE'));
    const id = await seed(stage.server);
    const big = Buffer.alloc(2 * 1024 * 1024, 99);
    expect((await putRecord(stage.server, id, 'big', big, 'application/octet-stream')).status).toBe(201);
    await stage.trigger();
    const put = await timed(putRecord(stage.server, id, 'k', 'v'));
    expectFault(put, 503, 'storage-unavailable', /too many files open \(EMFILE\)/, stage);
    expect(put.headers['retry-after']).toBe('1');
    const get = await timed(raw(stage.server, 'GET', `${kvs}/${id}/records/big`));
    expectFault(get, 503, 'storage-unavailable', /EMFILE/, stage);
    expect(get.headers['retry-after']).toBe('1');
  });
});

it('keeps its fault tests real on this machine when it is root on Linux', async () => {
  // Guards against the real variants quietly turning into fs-layer ones where they should not.
  if (process.env.KV_TEST_FS_LAYER_FAULTS !== '1' && process.platform === 'linux' && process.getuid?.() === 0 && (await fsp.stat('/proc/mounts').catch(() => null))) {
    expect(await realFaultsAvailable()).toBe(true);
  }
});
