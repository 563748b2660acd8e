/** The pieces of push and pull that need no process: filters, exit codes, partial-file cleanup. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';

import { newPartial, partialDone, releasePartial, stalePartials } from '../../src/cli/partial.js';
import { filtersOf, isIncluded, withFilterOptions } from '../../src/cli/sync/filters.js';
import { exitCodeOf } from '../../src/cli/sync/summary.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => fsp.rm(dir, { recursive: true, force: true }))));

function parseFilters(args: string[]) {
  const command = withFilterOptions(new Command('x').exitOverride());
  command.parse(args, { from: 'user' });
  return filtersOf(command.opts());
}

describe('--include / --exclude', () => {
  it('includes everything without filters, and the last matching filter decides', () => {
    expect(isIncluded('a.txt', [])).toBe(true);
    const filters = parseFilters(['--exclude', '*', '--include', '*.txt', '--exclude', 'secret*']);
    expect(filters.map((f) => `${f.type} ${f.glob}`)).toEqual(['exclude *', 'include *.txt', 'exclude secret*']);
    expect(isIncluded('a.txt', filters)).toBe(true);
    expect(isIncluded('a.json', filters)).toBe(false);
    expect(isIncluded('secret.txt', filters)).toBe(false);
  });

  it('matches dot files and brace sets, and an --include alone narrows nothing (as aws does)', () => {
    expect(isIncluded('.env', parseFilters(['--exclude', '*']))).toBe(false);
    expect(isIncluded('b.png', parseFilters(['--exclude', '*', '--include', '*.{png,jpg}']))).toBe(true);
    expect(isIncluded('b.gif', parseFilters(['--include', '*.png']))).toBe(true);
  });

  it('refuses an empty glob', () => {
    expect(() => parseFilters(['--include', ''])).toThrow(/needs a glob/);
  });
});

describe('exit codes of a sync', () => {
  it('is 1 for a failure, else 2 for a skip, else 0', () => {
    const problem = [{ file: 'x', reason: 'r' }];
    expect(exitCodeOf({ failed: problem, skipped: problem })).toBe(1);
    expect(exitCodeOf({ failed: [], skipped: problem })).toBe(2);
    expect(exitCodeOf({ failed: [], skipped: [] })).toBe(0);
  });
});

describe('partial files', () => {
  it('finds the files of gone writers, keeps this process\'s live ones and those of running processes', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-partial-'));
    dirs.push(dir);
    const live = newPartial(dir);
    await fsp.writeFile(live, 'in progress');
    const done = newPartial(dir);
    await fsp.writeFile(done, 'finished');
    await fsp.rename(done, path.join(dir, 'real.txt'));
    partialDone(done);
    const names = ['.apify-kv-partial~4194305-aa', '.apify-kv-partial~1-bb', '.apify-kv-partial~old', 'keep.txt'];
    for (const name of names) await fsp.writeFile(path.join(dir, name), 'x');

    expect((await stalePartials(dir, { remove: false })).sort()).toEqual(['.apify-kv-partial~4194305-aa', '.apify-kv-partial~old']);
    expect((await fsp.readdir(dir)).length).toBe(6);
    await stalePartials(dir, { remove: true });
    expect((await fsp.readdir(dir)).sort()).toEqual(['.apify-kv-partial~1-bb', path.basename(live), 'keep.txt', 'real.txt']);
    await releasePartial(live);
    expect(await fsp.readdir(dir)).not.toContain(path.basename(live));
  });
});
