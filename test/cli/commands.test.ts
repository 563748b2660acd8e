/** The `apify-kv` commands on local storage, through the built binary. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage, LOCAL_USER } from '../../src/storage/index.js';
import { BIN, ensureBuilt, pseudoRandomBytes, removeTempDirs, runCli, tempDir } from './helpers.js';

let storageDir: string;
let env: Record<string, string>;
const cli = (args: string[], input?: Buffer | string) => runCli(args, { env, input });

/** The stored content type of a record, read with the engine after the CLI has exited. */
async function contentTypeOf(store: string, key: string): Promise<string | null> {
  const storage = new FileStorage({ storageDir });
  await storage.open();
  try {
    const info = await storage.getStore(store, LOCAL_USER);
    const record = info && (await storage.getRecord(info.id, key));
    return record ? record.contentType : null;
  } finally {
    await storage.close();
  }
}

beforeAll(() => ensureBuilt(), 180_000);
afterAll(removeTempDirs);
beforeEach(async () => {
  storageDir = await tempDir();
  env = { APIFY_LOCAL_STORAGE_DIR: storageDir };
});

describe('apify-kv help', () => {
  it('lists every command and the exit codes', async () => {
    const { code, out } = await cli(['--help']);
    expect(code).toBe(0);
    for (const command of ['stores', 'create', 'rename', 'drop', 'keys', 'get', 'put', 'rm', 'push', 'pull', 'serve']) {
      expect(out).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(out).toContain('Exit codes');
  });

  it('has --help for every command', { timeout: 120_000 }, async () => {
    const commands = ['stores', 'create', 'rename', 'drop', 'keys', 'get', 'put', 'rm', 'push', 'pull'];
    const results = await Promise.all(commands.map((command) => cli([command, '--help'])));
    results.forEach(({ code, out }, i) => {
      expect(code).toBe(0);
      expect(out).toContain(`Usage: apify-kv ${commands[i]}`);
      expect(out).toContain('--api-url');
    });
    const serve = await cli(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.out).toContain('Usage: apify-kv serve');
    expect(serve.out).toContain('--port');
  });
});

describe('apify-kv store commands', () => {
  it('creates, lists, renames and drops stores', async () => {
    const created = await cli(['create', 'photos']);
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^Created store "photos" \(id \w+\)\./);

    const again = await cli(['create', 'photos', '--json']);
    expect(again.code).toBe(0);
    const json = JSON.parse(again.out);
    expect(json.created).toBe(false);
    expect(json.store).toMatchObject({ name: 'photos', storageBytes: 0 });

    const table = await cli(['stores']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^ID\s+NAME\s+MODIFIED\s+SIZE\n/);
    expect(table.out).toContain(`${json.store.id}  photos`);

    const renamed = await cli(['rename', 'photos', 'pictures']);
    expect(renamed.code).toBe(0);
    expect(renamed.out).toContain('to "pictures"');
    const listed = JSON.parse((await cli(['stores', '--json'])).out);
    expect(listed.map((s: { name: string }) => s.name)).toEqual(['pictures']);
    expect(listed[0].id).toBe(json.store.id);

    const dropped = await cli(['drop', json.store.id]);
    expect(dropped.code).toBe(0);
    expect(dropped.out).toContain('Dropped store "pictures"');
    expect(JSON.parse((await cli(['stores', '--json'])).out)).toEqual([]);

    const missing = await cli(['drop', 'pictures']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^apify-kv: Store "pictures" not found/);
  });

  it('lists unnamed stores only with --unnamed', async () => {
    const storage = new FileStorage({ storageDir });
    await storage.open();
    const { store } = await storage.getOrCreateStore({ user: LOCAL_USER });
    await storage.close();
    await cli(['create', 'named']);

    const named = JSON.parse((await cli(['stores', '--json'])).out);
    expect(named.map((s: { name: string }) => s.name)).toEqual(['named']);
    const all = JSON.parse((await cli(['stores', '--unnamed', '--json'])).out);
    expect(all.map((s: { id: string }) => s.id).sort()).toEqual([store.id, named[0].id].sort());
  });

  it('refuses bad store names with exit code 2', async () => {
    for (const args of [['create', 'bad-'], ['create', 'a b'], ['rename', 'x', 'no_underscores']]) {
      const { code, stderr } = await cli(args);
      expect(code).toBe(2);
      expect(stderr).toContain('Invalid store name');
    }
  });
});

describe('apify-kv record commands', () => {
  it('round-trips binary data byte for byte through stdin and stdout', async () => {
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), pseudoRandomBytes(300_000, 7)]);
    const put = await cli(['put', 'bin', 'blob'], bytes);
    expect(put.code).toBe(0);
    expect(put.stderr).toContain('Created store "bin"');
    expect(put.out).toContain('Stored record "blob"');

    const get = await cli(['get', 'bin', 'blob']);
    expect(get.code).toBe(0);
    expect(get.stdout.equals(bytes)).toBe(true);
    expect(await contentTypeOf('bin', 'blob')).toBe('application/octet-stream');
  });

  it('takes the content type from --content-type, the file extension, or the key', async () => {
    const dir = await tempDir();
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pseudoRandomBytes(1000)]);
    await fsp.writeFile(path.join(dir, 'pixel.png'), png);

    expect((await cli(['put', 's', 'pixel', path.join(dir, 'pixel.png')])).code).toBe(0);
    expect((await cli(['put', 's', 'page.html', '-'], '<p>hi</p>')).code).toBe(0);
    expect((await cli(['put', 's', 'note', '--content-type', 'text/markdown'], '# hi')).code).toBe(0);

    expect(await contentTypeOf('s', 'pixel')).toBe('image/png');
    expect(await contentTypeOf('s', 'page.html')).toBe('text/html; charset=utf-8');
    expect(await contentTypeOf('s', 'note')).toBe('text/markdown');

    const out = path.join(dir, 'copy.png');
    const get = await cli(['get', 's', 'pixel', '-o', out]);
    expect(get.code).toBe(0);
    expect(get.stdout.length).toBe(0);
    expect((await fsp.readFile(out)).equals(png)).toBe(true);
    expect((await fsp.readdir(dir)).sort()).toEqual(['copy.png', 'pixel.png']);
  });

  it('lists keys, with --prefix and --json', async () => {
    for (const key of ['b', 'a.json', 'a.txt', 'c']) await cli(['put', 'k', key], 'xyz');
    const plain = await cli(['keys', 'k']);
    expect(plain.code).toBe(0);
    expect(plain.out).toBe('a.json\na.txt\nb\nc\n');
    const json = await cli(['keys', 'k', '--prefix', 'a.', '--json']);
    expect(JSON.parse(json.out)).toEqual([
      { key: 'a.json', size: 3 },
      { key: 'a.txt', size: 3 },
    ]);
  });

  it('deletes a record with rm, and reports a missing one with exit code 3', async () => {
    await cli(['put', 'r', 'gone'], 'x');
    const rm = await cli(['rm', 'r', 'gone']);
    expect(rm.code).toBe(0);
    expect(rm.out).toContain('Deleted record "gone"');
    const get = await cli(['get', 'r', 'gone']);
    expect(get.code).toBe(3);
    expect(get.stderr).toMatch(/Record "gone" not found in store "r"/);
    expect((await cli(['rm', 'r', 'gone'])).code).toBe(3);
  });

  it.each([
    [['get', 'nostore', 'k'], 3, /Store "nostore" not found/],
    [['keys', 'nostore'], 3, /Store "nostore" not found/],
    [['put', 's', 'bad key'], 2, /Invalid record key "bad key"/],
    [['get', 's', 'x'.repeat(257)], 2, /Invalid record key/],
    [['put', 's', 'k', '/no/such/file.txt'], 2, /No such file or directory: \/no\/such\/file.txt/],
    [['push', 's', '/no/such/dir'], 2, /Not a directory: \/no\/such\/dir/],
    [['push', 's', '.', '--concurrency', '0'], 2, /--concurrency must be an integer from 1 to 64/],
    [['keys'], 2, /missing required argument 'store'/],
    [['frobnicate'], 2, /unknown command 'frobnicate'/],
    [['stores', '--storage-dir', '/tmp', '--api-url', 'http://127.0.0.1:1'], 2, /not both/],
    [['stores', '--api-url', 'ftp://example'], 2, /must start with http/],
  ])('%j exits %i with a clear message', async (args, code, message) => {
    const result = await cli(args as string[]);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.out).toBe('');
  });
});

describe('startup', () => {
  /** The package names a built module and the modules it loads statically (not through import()) import. */
  async function staticPackages(file: string, seen = new Set<string>()): Promise<Set<string>> {
    const packages = new Set<string>();
    if (seen.has(file)) return packages;
    seen.add(file);
    const source = await fsp.readFile(file, 'utf8');
    for (const [, spec] of source.matchAll(/^import\s(?:[^'"]*?\sfrom\s)?["']([^"']+)["'];?$/gm)) {
      if (spec!.startsWith('.')) {
        for (const name of await staticPackages(path.resolve(path.dirname(file), spec!), seen)) packages.add(name);
      } else {
        packages.add(spec!);
      }
    }
    return packages;
  }

  it('loads the API client (and axios) only for commands that talk to an API', async () => {
    const packages = await staticPackages(BIN);
    expect(packages).toContain('commander');
    expect(packages).not.toContain('axios');
    expect(packages).not.toContain('axios-retry');
    // The client is still in the build, loaded on demand.
    expect(await fsp.readFile(BIN, 'utf8')).toMatch(/await Promise\.all\(\[import\("\.\/chunks\//);
  });
});
