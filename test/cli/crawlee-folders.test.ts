/**
 * The built `apify-kv` on a folder Crawlee wrote (stores `my_store`, `Store.v2` and an unnamed
 * one, last accessed years ago): read-only commands write nothing, `serve` sweeps without
 * removing any of them, picks up what Crawlee writes while it runs, and over restarts every
 * record file stays byte-identical.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { crawleeWrite, ODD_NAMES, recordFiles, snapshot, waitFor, writeCrawleeFolder } from '../storage/crawlee.js';
import { BIN, ensureBuilt, removeTempDirs, runCli, tempDir } from './helpers.js';

beforeAll(() => ensureBuilt());
afterAll(() => removeTempDirs());

for (const writeMetadata of [true, false]) {
  describe(`read-only commands on a Crawlee folder (metadata ${writeMetadata ? 'on' : 'off'})`, () => {
    it('lists, reads and pulls the stores under their own names, and writes nothing', async () => {
      const dir = await tempDir();
      const unnamedFolder = await writeCrawleeFolder(dir, writeMetadata);
      const before = await snapshot(dir);
      const env = { APIFY_LOCAL_STORAGE_DIR: dir };

      const stores = await runCli(['stores', '--json', '--unnamed'], { env });
      expect(stores.stderr).toBe('');
      const listed = JSON.parse(stores.out) as Array<{ id: string; name: string | null; storageBytes: number }>;
      expect(listed.map((s) => s.name).sort()).toEqual([...ODD_NAMES, null].sort());
      // No stats were saved (Crawlee keeps none): sizes come from the folders, read-only.
      for (const store of listed) {
        const folder = store.name ?? (writeMetadata ? unnamedFolder : store.id);
        expect(store.storageBytes).toBeGreaterThan(0);
        expect(store.storageBytes).toBe(await recordBytes(path.join(dir, 'key_value_stores', folder)));
      }
      const table = await runCli(['stores', '--storage-dir', dir], { env: {} });
      expect(table.out).not.toMatch(/\s0 B$/m);

      const keys = await runCli(['keys', 'my_store'], { env });
      expect(keys.code).toBe(0);
      expect(keys.out.trim().split('\n')).toEqual(['INPUT', 'blob', writeMetadata ? 'page.html' : 'page']);

      const input = await runCli(['get', 'Store.v2', 'INPUT'], { env });
      expect(input.code).toBe(0);
      expect(JSON.parse(input.out)).toEqual({ start: 'https://example.com', depth: 2 });

      const unnamedId = listed.find((s) => s.name === null)!.id;
      if (!writeMetadata) expect(unnamedId).toBe(unnamedFolder);
      const blob = await runCli(['get', unnamedId, 'blob'], { env });
      expect(blob.stdout.equals(Buffer.from([0, 1, 2, 250, 251]))).toBe(true);

      const out = path.join(await tempDir(), 'pulled');
      const pull = await runCli(['pull', 'my_store', out], { env });
      expect(pull.code).toBe(0);
      expect((await fsp.readdir(out)).length).toBe(3);

      // Not one file or folder was created, changed, renamed or touched.
      expect(await snapshot(dir)).toEqual(before);
    }, 90_000);
  });
}

/** Bytes of the record files in a store folder (not metadata, not hidden). */
async function recordBytes(folder: string): Promise<number> {
  let total = 0;
  for (const name of await fsp.readdir(folder)) {
    if (name.startsWith('.') || name.endsWith('__metadata__.json')) continue;
    total += (await fsp.stat(path.join(folder, name))).size;
  }
  return total;
}

describe('keys and get with --storage-dir on stores named as only Crawlee allows', () => {
  for (const writeMetadata of [true, false]) {
    it(`find each store by its own name, including one with a "~" (metadata ${writeMetadata ? 'on' : 'off'})`, async () => {
      const dir = await tempDir();
      const names = ['my_store', 'Store.v2', 'crawl~2021'];
      for (const name of names) {
        await crawleeWrite(dir, name, { INPUT: { value: { from: name }, contentType: 'application/json; charset=utf-8' } }, writeMetadata);
      }
      const before = await snapshot(dir);
      for (const name of names) {
        const keys = await runCli(['keys', name, '--storage-dir', dir], { env: {} });
        expect(keys.code).toBe(0);
        expect(keys.out.trim()).toBe('INPUT');
        const input = await runCli(['get', name, 'INPUT', '--storage-dir', dir], { env: {} });
        expect(input.code).toBe(0);
        expect(JSON.parse(input.out)).toEqual({ from: name });
      }
      const missing = await runCli(['keys', 'crawl~2022', '--storage-dir', dir], { env: {} });
      expect(missing.code).not.toBe(0);
      expect(await snapshot(dir)).toEqual(before);
    }, 90_000);
  }
});

describe('serve on a Crawlee folder', () => {
  async function serve(storageDir: string): Promise<{ url: string; child: ChildProcess }> {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--storage-dir', storageDir], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    return { url, child };
  }

  async function stop(child: ChildProcess): Promise<void> {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }

  const api = async (url: string, route: string) => {
    const response = await fetch(`${url}/v2/key-value-stores${route}`);
    return { status: response.status, text: await response.text() };
  };

  it('sweeps without removing found stores, serves what Crawlee writes meanwhile, and keeps record files byte-identical over two restarts', async () => {
    const dir = await tempDir();
    await writeCrawleeFolder(dir, true);
    const folders = (await fsp.readdir(path.join(dir, 'key_value_stores'))).sort();

    let { url, child } = await serve(dir);
    try {
      const list = JSON.parse((await api(url, '?unnamed=true')).text).data;
      expect(list.items.map((s: { name: string | null }) => s.name).sort()).toEqual([...ODD_NAMES, null].sort());
      expect(JSON.parse((await api(url, '/local~my_store/records/INPUT')).text)).toEqual({ start: 'https://example.com', depth: 2 });
      expect((await api(url, '/~Store.v2/keys')).status).toBe(200);

      // Crawlee writes while the server runs.
      await crawleeWrite(dir, 'my_store', { LIVE: { value: { live: 1 }, contentType: 'application/json; charset=utf-8' } });
      const live = await api(url, '/local~my_store/records/LIVE');
      expect(live.status).toBe(200);
      expect(JSON.parse(live.text)).toEqual({ live: 1 });
      await waitFor(async () => {
        const keys = JSON.parse((await api(url, '/local~my_store/keys')).text).data.items.map((i: { key: string }) => i.key);
        return keys.includes('LIVE') ? true : undefined;
      });
    } finally {
      await stop(child);
    }
    const records = await recordFiles(dir);
    expect(Object.keys(records).some((file) => file.endsWith(`my_store${path.sep}LIVE.json`))).toBe(true);

    for (let restart = 0; restart < 2; restart++) {
      ({ url, child } = await serve(dir));
      try {
        const list = JSON.parse((await api(url, '?unnamed=true')).text).data;
        expect(list.items.map((s: { name: string | null }) => s.name).sort()).toEqual([...ODD_NAMES, null].sort());
        expect((await api(url, '/local~my_store/records/LIVE')).status).toBe(200);
      } finally {
        await stop(child);
      }
    }
    expect((await fsp.readdir(path.join(dir, 'key_value_stores'))).sort()).toEqual(folders);
    expect(await recordFiles(dir)).toEqual(records);
  }, 90_000);
});
