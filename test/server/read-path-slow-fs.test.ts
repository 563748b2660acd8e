// Own file: the switch it tests is per process, and stays thrown once thrown.
import fs, { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, expect, it, vi } from 'vitest';
import { RecordFileCache } from '../../src/storage/fs/record-cache.js';
import { lookAtRecordFile, usesSyncLstat } from '../../src/storage/fs/record-reader.js';

afterEach(() => {
  vi.restoreAllMocks();
});

it('looks at known files synchronously until that is slow for more than the odd call, then through the thread pool', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-slow-lstat-'));
  try {
    const file = path.join(dir, 'k.json');
    await fsp.writeFile(file, '{"v":1}');
    // A clock far ahead, so the file is not "racy" and gets remembered.
    const cache = new RecordFileCache(1024 * 1024, () => Date.now() + 60_000);
    const expected = { ino: -1, size: -1, etag: undefined };
    expect(await lookAtRecordFile(file, expected, cache)).toMatchObject({ body: Buffer.from('{"v":1}') });

    // One synchronous lstat in twenty now seems to take 5 ms (the clock is read twice per call).
    let calls = 0;
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += calls++ % 40 === 39 ? 5 : 0.001));
    const pooled = vi.spyOn(fs, 'lstat');
    for (let i = 0; i < 400; i++) expect(await lookAtRecordFile(file, expected, cache)).toMatchObject({ etag: expect.any(String) });
    expect(usesSyncLstat()).toBe(true);
    expect(pooled).not.toHaveBeenCalled();

    // Every call slow: after a few dozen, the thread pool takes over, and answers stay right.
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 5));
    for (let i = 0; i < 40 && usesSyncLstat(); i++) await lookAtRecordFile(file, expected, cache);
    expect(usesSyncLstat()).toBe(false);
    await fsp.writeFile(file, '{"v":22}');
    expect(await lookAtRecordFile(file, expected, cache)).toMatchObject({ body: Buffer.from('{"v":22}') });
    expect(pooled).toHaveBeenCalledWith(file, expect.any(Function));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
