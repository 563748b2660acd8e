/**
 * push and pull as sync tools on local storage, through the built binary: --dry-run, --delete,
 * --include/--exclude, --prefix, exit codes, partial-file cleanup; plus the output flags every
 * command has (--json, --quiet, --version), EPIPE, and exit 2 for bad input.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { BIN, ensureBuilt, removeTempDirs, runCli, tempDir } from './helpers.js';

const SLOW = { timeout: 120_000 };
let storageDir: string;
const cli = (args: string[], input?: string) => runCli(args, { env: { APIFY_LOCAL_STORAGE_DIR: storageDir }, input });

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await fsp.writeFile(path.join(dir, name), text);
}

async function keysOf(store: string): Promise<string[]> {
  const result = await cli(['keys', store, '--json']);
  expect(result.code).toBe(0);
  return (JSON.parse(result.out) as Array<{ key: string }>).map((item) => item.key);
}

/** Every file and folder under a directory, relative, with file contents. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = entry.isFile() ? await fsp.readFile(full, 'utf8') : '<dir>';
  }
  return out;
}

/**
 * The record files of a storage folder: store bookkeeping (`__metadata__.json` access times) and
 * bare folders are the engine's to keep or not on a read, records are what a dry run must not touch.
 */
async function recordFiles(dir: string): Promise<Record<string, string>> {
  const all = await snapshot(dir);
  return Object.fromEntries(Object.entries(all).filter(([name, text]) => text !== '<dir>' && path.basename(name) !== '__metadata__.json'));
}

beforeAll(() => ensureBuilt(), 180_000);
afterAll(removeTempDirs);
beforeEach(async () => {
  storageDir = await tempDir();
});

describe('push --dry-run and --delete', () => {
  it('lists deletions first and changes nothing in a dry run; the real run deletes exactly the extras', SLOW, async () => {
    const src = path.join(await tempDir(), 'src');
    await writeFiles(src, { 'a.txt': 'a', 'b.txt': 'b', 'c.json': '{}' });
    expect((await cli(['push', 'mirror', src, '-q'])).code).toBe(0);
    // The store gains records the folder lacks; the folder changes one file and gains one.
    await cli(['put', 'mirror', 'extra-1.txt'], 'x');
    await cli(['put', 'mirror', 'extra-2'], 'y');
    await fsp.writeFile(path.join(src, 'a.txt'), 'A changed');
    await fsp.writeFile(path.join(src, 'new.txt'), 'new');
    const before = await recordFiles(storageDir);

    const dry = await cli(['push', 'mirror', src, '--delete', '--dry-run']);
    expect(dry.code).toBe(0);
    const lines = dry.out.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['(dry run) delete extra-1.txt', '(dry run) delete extra-2']);
    expect(dry.out).toContain('(dry run) upload a.txt');
    expect(dry.out).toContain('(dry run) upload new.txt');
    expect(lines.at(-1)).toMatch(/^Dry run, nothing changed: .*2 would be uploaded, 2 unchanged, 2 would be deleted, 0 skipped, 0 failed\.$/);
    expect(await recordFiles(storageDir)).toEqual(before);

    const json = JSON.parse((await cli(['push', 'mirror', src, '--delete', '--dry-run', '--json'])).out);
    expect(json).toMatchObject({ command: 'push', dryRun: true, exitCode: 0, skipped: [], failed: [] });
    expect(json.deleted).toEqual([{ key: 'extra-1.txt' }, { key: 'extra-2' }]);
    expect(json.uploaded.map((f: { key: string }) => f.key)).toEqual(['a.txt', 'new.txt']);
    expect(await recordFiles(storageDir)).toEqual(before);

    const real = JSON.parse((await cli(['push', 'mirror', src, '--delete', '--json'])).out);
    expect(real.deleted).toEqual([{ key: 'extra-1.txt' }, { key: 'extra-2' }]);
    expect(await keysOf('mirror')).toEqual(['a.txt', 'b.txt', 'c.json', 'new.txt']);
    expect((await cli(['get', 'mirror', 'a.txt'])).out).toBe('A changed');
  });

  it('a dry run against a store that does not exist creates nothing', SLOW, async () => {
    const src = path.join(await tempDir(), 'src');
    await writeFiles(src, { 'a.txt': 'a' });
    const before = await recordFiles(storageDir);
    const dry = await cli(['push', 'never', src, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({ store: { id: null, name: null }, uploaded: [{ key: 'a.txt' }] });
    expect(dry.stderr).toContain('push would create it');
    expect(await recordFiles(storageDir)).toEqual(before);
    expect((await cli(['keys', 'never'])).code).toBe(3);
  });
});

describe('push and pull filters and prefix', () => {
  it('applies --include/--exclude in order, the last match deciding, and --delete stays inside them', SLOW, async () => {
    const src = path.join(await tempDir(), 'src');
    await writeFiles(src, { 'a.txt': 'a', 'b.txt': 'b', 'keep.txt': 'k', 'c.json': '{}', '.hidden': 'h' });
    const only = JSON.parse((await cli(['push', 'globs', src, '--exclude', '*', '--include', '*.txt', '--exclude', 'keep*', '--json'])).out);
    expect(only.uploaded.map((f: { key: string }) => f.key)).toEqual(['a.txt', 'b.txt']);
    const dot = JSON.parse((await cli(['push', 'globs', src, '--exclude', '*', '--include', '.*', '--json'])).out);
    expect(dot.uploaded.map((f: { key: string }) => f.key)).toEqual(['.hidden']);

    // Mirror only the json files: the txt records are outside the filter and stay.
    await cli(['put', 'globs', 'old.json'], '[]');
    const mirrored = JSON.parse((await cli(['push', 'globs', src, '--delete', '--exclude', '*', '--include', '*.json', '--json'])).out);
    expect(mirrored.uploaded.map((f: { key: string }) => f.key)).toEqual(['c.json']);
    expect(mirrored.deleted).toEqual([{ key: 'old.json' }]);
    expect(await keysOf('globs')).toEqual(['.hidden', 'a.txt', 'b.txt', 'c.json']);

    const dest = path.join(await tempDir(), 'dest');
    const pulled = JSON.parse((await cli(['pull', 'globs', dest, '--exclude', '*.txt', '--json'])).out);
    expect(pulled.downloaded.map((f: { file: string }) => f.file)).toEqual(['.hidden', 'c.json']);
    expect((await fsp.readdir(dest)).sort()).toEqual(['.hidden', 'c.json']);
  });

  it('maps files under --prefix and back, and pull --delete removes exactly the extra files', SLOW, async () => {
    const src = path.join(await tempDir(), 'src');
    await writeFiles(src, { 'one.txt': '1', 'two.txt': '2' });
    await cli(['put', 'pre', 'other.txt'], 'not under the prefix');
    const pushed = JSON.parse((await cli(['push', 'pre', src, '--prefix', 'run1.', '--json'])).out);
    expect(pushed.uploaded.map((f: { key: string; file: string }) => [f.file, f.key])).toEqual([
      ['one.txt', 'run1.one.txt'],
      ['two.txt', 'run1.two.txt'],
    ]);

    const dest = path.join(await tempDir(), 'dest');
    await writeFiles(dest, { 'stale.txt': 's', 'one.txt': 'old' });
    await fsp.mkdir(path.join(dest, 'sub'));
    await fsp.writeFile(path.join(dest, 'sub', 'inner.txt'), 'i');
    const pulled = JSON.parse((await cli(['pull', 'pre', dest, '--prefix', 'run1.', '--delete', '--json'])).out);
    expect(pulled.downloaded.map((f: { key: string; file: string }) => [f.key, f.file])).toEqual([
      ['run1.one.txt', 'one.txt'],
      ['run1.two.txt', 'two.txt'],
    ]);
    expect(pulled.deleted).toEqual([{ file: 'stale.txt' }]);
    // Subfolders are never touched; other.txt (outside the prefix) was never pulled.
    expect(await snapshot(dest)).toEqual({ 'one.txt': '1', 'two.txt': '2', sub: '<dir>', 'sub/inner.txt': 'i' });

    // A re-run compares before downloading: nothing is transferred.
    const again = JSON.parse((await cli(['pull', 'pre', dest, '--prefix', 'run1.', '--delete', '--json'])).out);
    expect(again).toMatchObject({ downloaded: [], deleted: [], exitCode: 0 });
    expect(again.unchanged).toHaveLength(2);

    expect((await cli(['push', 'pre', src, '--prefix', 'bad/'])).code).toBe(2);
    const notADir = await cli(['pull', 'pre', path.join(src, 'one.txt')]);
    expect(notADir.code).toBe(2);
    expect(notADir.stderr).toMatch(/^apify-kv: Not a directory: .*one\.txt\n$/);
  });

  it('pull --dry-run changes nothing on disk', SLOW, async () => {
    await cli(['put', 'drypull', 'k.txt'], 'v');
    const dest = path.join(await tempDir(), 'dest');
    await writeFiles(dest, { 'extra.txt': 'e', '.apify-kv-partial~4194305-abc': 'left over' });
    const before = await snapshot(dest);
    const dry = await cli(['pull', 'drypull', dest, '--delete', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out.split('\n')[0]).toBe('(dry run) delete extra.txt');
    expect(dry.out).toContain('(dry run) download k.txt');
    expect(dry.stderr).toContain('would remove 1 partial file');
    expect(await snapshot(dest)).toEqual(before);
    const missing = path.join(await tempDir(), 'not-yet');
    expect((await cli(['pull', 'drypull', missing, '--dry-run'])).code).toBe(0);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('exit codes and partial files', () => {
  it('exits 2 when files were skipped and 0 only when everything was done', SLOW, async () => {
    const src = path.join(await tempDir(), 'src');
    await writeFiles(src, { 'ok.txt': 'ok', 'bad name.txt': 'x' });
    const skipped = await cli(['push', 'codes', src, '--json']);
    expect(skipped.code).toBe(2);
    const summary = JSON.parse(skipped.out);
    expect(summary).toMatchObject({ exitCode: 2, uploaded: [{ key: 'ok.txt' }], failed: [] });
    expect(summary.skipped).toEqual([{ file: 'bad name.txt', reason: expect.stringContaining('not a valid record key') }]);
    await fsp.rm(path.join(src, 'bad name.txt'));
    expect((await cli(['push', 'codes', src])).code).toBe(0);
  });

  it('removes partial files left by a killed run, keeps a running one, and never pushes them', SLOW, async () => {
    await cli(['put', 'partials', 'k.txt'], 'v');
    const dest = path.join(await tempDir(), 'dest');
    // PID 1 is always running; 2^22+1 is above Linux's pid_max, so its writer is surely gone.
    const dead = '.apify-kv-partial~4194305-aaaaaa';
    const live = '.apify-kv-partial~1-bbbbbb';
    const legacy = '.apify-kv-partial~0123456789ab';
    await writeFiles(dest, { [dead]: 'x', [live]: 'y', [legacy]: 'z' });

    const push = await cli(['push', 'partials-copy', dest, '--json']);
    expect(push.code).toBe(0);
    expect(JSON.parse(push.out).uploaded).toEqual([]);
    expect(push.stderr).toContain('ignored 3 partial download file(s)');

    const pull = await cli(['pull', 'partials', dest]);
    expect(pull.code).toBe(0);
    expect(pull.stderr).toContain('removed 2 partial file(s)');
    expect((await fsp.readdir(dest)).sort()).toEqual([live, 'k.txt']);
  });
});

describe('output flags', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await fsp.readFile(path.join(BIN, '../../../package.json'), 'utf8'));
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.out.trim()).toBe(pkg.version);
  });

  it('--json works on every command and --quiet silences notices and progress', SLOW, async () => {
    const src = path.join(await tempDir(), 'src');
    await writeFiles(src, { 'a.txt': 'a' });
    const created = JSON.parse((await cli(['create', 'js', '--json'])).out);
    expect(created).toMatchObject({ created: true, store: { name: 'js' } });
    const put = JSON.parse((await cli(['put', 'js', 'obj', '--json'], '{"n":1}')).out);
    expect(put).toMatchObject({ key: 'obj', contentType: 'application/json; charset=utf-8', size: 7 });
    expect(JSON.parse((await cli(['get', 'js', 'obj', '--json'])).out)).toEqual({
      key: 'obj',
      contentType: 'application/json; charset=utf-8',
      size: 7,
      value: { n: 1 },
    });
    await cli(['put', 'js', 'bin', '--content-type', 'application/octet-stream'], 'raw');
    expect(JSON.parse((await cli(['get', 'js', 'bin', '--json'])).out)).toMatchObject({ base64: Buffer.from('raw').toString('base64') });
    expect(JSON.parse((await cli(['keys', 'js', '--json'])).out)).toEqual([
      { key: 'bin', size: 3 },
      { key: 'obj', size: 7 },
    ]);
    expect(JSON.parse((await cli(['rm', 'js', 'bin', '--json'])).out)).toMatchObject({ deleted: true, key: 'bin' });
    expect(JSON.parse((await cli(['rename', 'js', 'js2', '--json'])).out)).toMatchObject({ from: 'js', store: { name: 'js2' } });
    expect(JSON.parse((await cli(['stores', '--json'])).out).map((s: { name: string }) => s.name)).toEqual(['js2']);
    expect(JSON.parse((await cli(['drop', 'js2', '--json'])).out)).toMatchObject({ dropped: true, store: { name: 'js2' } });

    const quiet = await cli(['push', 'q', src, '--quiet']);
    expect(quiet).toMatchObject({ code: 0, out: '', stderr: '' });
    const quietPut = await cli(['put', 'q', 'k', '-q'], 'v');
    expect(quietPut).toMatchObject({ code: 0, out: '', stderr: '' });
    // Problems still show with --quiet.
    const bad = await cli(['push', 'q', src, '--quiet', '--include', '*', '--prefix', 'x'.repeat(260)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--prefix');
  });

  it('ends quietly with exit 0 when the reader closes the pipe early (| head)', SLOW, async () => {
    // 3,000 keys of 60 characters: far more than a pipe buffer holds, so writes hit the closed pipe.
    const folder = path.join(storageDir, 'key_value_stores', 'many');
    await fsp.mkdir(folder, { recursive: true });
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) => fsp.writeFile(path.join(folder, `k${String(i).padStart(5, '0')}-${'x'.repeat(54)}.txt`), 'v')),
    );
    for (const args of [['keys', 'many'], ['keys', 'many', '--json']]) {
      const { code, stderr, firstBytes } = await readHeadThenClose(args);
      expect(firstBytes).toMatch(args.includes('--json') ? /^\[/ : /^k00000-x+\n/);
      expect(stderr).toBe('');
      expect(code).toBe(0);
    }
  });
});

describe('bad input exits 2 with one clear line', () => {
  it('a missing storage folder for reading commands is an error and is not created', SLOW, async () => {
    const typo = path.join(os.tmpdir(), `kv-no-such-dir-${process.pid}`);
    for (const args of [['stores'], ['keys', 's'], ['get', 's', 'k'], ['pull', 's', path.join(storageDir, 'out')], ['rm', 's', 'k'], ['drop', 's']]) {
      const result = await runCli([...args, '--storage-dir', typo]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(`apify-kv: No storage folder at ${typo} (check --storage-dir or APIFY_LOCAL_STORAGE_DIR).\n`);
      expect(existsSync(typo)).toBe(false);
    }
  });

  it('renaming onto a taken name, a bad --timeout, and INPUT that is not JSON exit 2', SLOW, async () => {
    await cli(['create', 'one']);
    await cli(['create', 'two']);
    const taken = await cli(['rename', 'one', 'two']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/^apify-kv: The name "two" is taken by store "two" \(id \w+\)\.\n$/);

    const timeout = await cli(['stores', '--timeout', 'soon']);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toBe('apify-kv: --timeout must be a number of seconds above 0, at most 86400 (got "soon").\n');
    for (const args of [['stores', '--bogus'], ['keys'], ['frobnicate']]) {
      const usage = await cli(args);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^apify-kv: [^\n]+ \(see --help\)\n$/);
    }

    const input = await cli(['put', 'one', 'INPUT'], 'not json');
    expect(input.code).toBe(2);
    expect(input.stderr).toContain('must be JSON');
    expect(await keysOf('one')).toEqual([]);
    expect((await cli(['put', 'one', 'INPUT'], '"a string"')).code).toBe(0);
    expect(JSON.parse((await cli(['get', 'one', 'INPUT', '--json'])).out).value).toBe('a string');
  });

  it('sniffs JSON objects and arrays on stdin for a key without an extension', SLOW, async () => {
    await cli(['put', 'sniff', 'obj'], ' {"a": [1]}\n');
    await cli(['put', 'sniff', 'text'], 'plain words');
    await cli(['put', 'sniff', 'number'], '42');
    const types = Object.fromEntries(
      await Promise.all(
        ['obj', 'text', 'number'].map(async (key) => [key, JSON.parse((await cli(['get', 'sniff', key, '--json'])).out).contentType]),
      ),
    );
    expect(types).toEqual({ obj: 'application/json; charset=utf-8', text: 'application/octet-stream', number: 'application/octet-stream' });
  });
});

/** Runs the CLI, reads its first chunk of stdout, then closes the pipe as `head` does. */
function readHeadThenClose(args: string[]): Promise<{ code: number | null; stderr: string; firstBytes: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), APIFY_LOCAL_STORAGE_DIR: storageDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let firstBytes = '';
    let stderr = '';
    child.stdout.once('data', (chunk: Buffer) => {
      firstBytes = chunk.toString('utf8');
      child.stdout.destroy();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, firstBytes }));
  });
}
