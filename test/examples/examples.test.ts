/** Every example in examples/ (but the browser page and S3, tested apart) runs and does what it says. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt } from '../cli/helpers.js';
import { EXAMPLES, run, workDir } from './run.js';

const dirs: string[] = [];
const fresh = () => {
  const work = workDir();
  dirs.push(work.dir);
  return work;
};

beforeAll(() => ensureBuilt());
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('examples', () => {
  it('node-app.mjs writes, reads, lists and deletes records on a local server of its own', async () => {
    const { dir, env } = fresh();
    const result = await run(process.execPath, [path.join(EXAMPLES, 'node-app.mjs')], { cwd: dir, env });
    expect(result.code, result.err).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toContain('config: {"retries":3} application/json; charset=utf-8');
    expect(result.out).toMatch(/key config \(13 bytes\)\nkey notes \(10 bytes\)\nkey pixel \(4 bytes\)/);
    expect(result.out).toContain('notes after delete: null');
    expect(result.out).toContain('refused: key invalid-argument');
  });

  it('node-app.cjs does the same through require and apify-client v2 names', async () => {
    const { dir, env } = fresh();
    const result = await run(process.execPath, [path.join(EXAMPLES, 'node-app.cjs')], { cwd: dir, env });
    expect(result.code, result.err).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toBe('greeting: {"hello":"from CommonJS"}\nkey greeting\n');
  });

  it('actor.mjs reads its input, writes its output and picks its state up in the next run', async () => {
    const { dir, env } = fresh();
    const storage = path.join(dir, 'storage');
    // The input as Crawlee leaves it: a JSON file in the default store's folder.
    mkdirSync(path.join(storage, 'key_value_stores/default'), { recursive: true });
    writeFileSync(path.join(storage, 'key_value_stores/default/INPUT.json'), '{"urls":["https://example.com/a","https://example.com/b"]}');
    const first = await run(process.execPath, [path.join(EXAMPLES, 'actor.mjs')], { cwd: dir, env: { ...env, APIFY_LOCAL_STORAGE_DIR: storage } });
    expect(first.code, first.err).toBe(0);
    const second = await run(process.execPath, [path.join(EXAMPLES, 'actor.mjs')], { cwd: dir, env: { ...env, APIFY_LOCAL_STORAGE_DIR: storage } });
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain('run 2:');
    const output = JSON.parse(readFileSync(path.join(storage, 'key_value_stores/default/OUTPUT.json'), 'utf8')) as unknown;
    expect(output).toEqual({ pages: 2, runs: 2 });
    expect(existsSync(path.join(storage, 'key_value_stores/results/page-2.json'))).toBe(true);
    expect(existsSync(path.join(storage, 'key_value_stores/results/page-3.json'))).toBe(false);
  });

  it('batch-job.sh pushes, skips what is unchanged, pulls the JSON records and reads exit code 3 as "nothing yet"', async () => {
    const { dir, env } = fresh();
    const result = await run('bash', [path.join(EXAMPLES, 'batch-job.sh')], { cwd: dir, env });
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain('second push: 0 uploaded, 2 unchanged');
    expect(result.out).toContain('pulled: summary.json');
    expect(result.out).toContain('no report yet (exit 3)');
    expect(readFileSync(path.join(dir, 'copy/summary.json'), 'utf8')).toBe('{"city":"Prague","count":3}\n');
  });
});
