/**
 * The official Apify CLI (`apify-cli`, a devDependency) against `apify-kv serve --token T`, set
 * up with exactly the variables docs/compatibility.md gives: it logs in and runs the key-value
 * store commands, and the test checks each effect through the server's API. The CLI's own
 * config goes to a temp HOME, never the user's ~/.apify, and the loopback guard refuses (and
 * records) anything it would send elsewhere: telemetry, update checks, network probes.
 *
 * The CLI loads all of its commands on every start: about 4-5 s of CPU per call, much more on a
 * loaded machine, hence the generous bounds.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt, ROOT } from '../cli/helpers.js';
import { readGuardLog } from '../support/loopback-guard.js';
import { documentedVariables, plain, runNode, startServe, tempDir, type NodeRun, type ServeProcess } from './apify-tools.js';

const TOKEN = 'cli-test-token';
/** The `apify` binary of the devDependency (its package exports no paths to resolve). */
const APIFY_CLI = path.join(ROOT, 'node_modules/apify-cli/dist/apify.js');
/** Per CLI call; a call takes 5 s on an idle machine, 30 s was seen under heavy load. */
const CALL_TIMEOUT_MS = 150_000;

let dir: string;
let home: string;
let guardLog: string;
let server: ServeProcess;
const timings: string[] = [];

/** The variables docs/compatibility.md lists for the Apify CLI, and nothing else. */
function documentedCliEnv(): Record<string, string> {
  return {
    HOME: home,
    APIFY_CLIENT_BASE_URL: server.url,
    APIFY_CLI_DISABLE_TELEMETRY: '1',
    APIFY_CLI_SKIP_UPDATE_CHECK: '1',
    APIFY_DISABLE_KEYRING: '1',
  };
}

async function apify(...args: string[]): Promise<NodeRun> {
  const run = await runNode([APIFY_CLI, ...args], { env: documentedCliEnv(), guardLog, cwd: dir, timeoutMs: CALL_TIMEOUT_MS });
  timings.push(`apify ${args.slice(0, 2).join(' ')}: ${run.ms} ms`);
  return { ...run, out: plain(run.out), err: plain(run.err) };
}

/** The server's API, as the test's own view of what the CLI did. */
async function api(pathname: string): Promise<Response> {
  return fetch(`${server.url}${pathname}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
}

beforeAll(async () => {
  ensureBuilt();
  dir = await tempDir('kv-apify-cli-');
  home = path.join(dir, 'home');
  await fsp.mkdir(home);
  guardLog = path.join(dir, 'guard.log');
  server = await startServe(path.join(dir, 'storage'), TOKEN, guardLog);
}, 300_000);

afterAll(async () => {
  await server?.stop();
  if (timings.length) console.log(`Apify CLI calls:\n  ${timings.join('\n  ')}`);
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('the Apify CLI against apify-kv serve', () => {
  it('logs in and creates, writes, reads, lists, renames and deletes', { timeout: 20 * 60_000 }, async () => {
    expect(Object.keys(documentedCliEnv()).sort()).toEqual(await documentedVariables('### The Apify CLI'));

    const login = await apify('login', '--token', TOKEN);
    expect(login.code, login.err).toBe(0);
    expect(login.err + login.out).toContain('You are logged in to Apify as local');
    // The token went to the temp HOME's config (no OS keyring), and the user the server named.
    const auth = JSON.parse(await fsp.readFile(path.join(home, '.apify/auth.json'), 'utf8'));
    expect(auth).toMatchObject({ token: TOKEN, username: 'local' });

    const created = await apify('key-value-stores', 'create', 'cli-store', '--json');
    expect(created.code, created.err).toBe(0);
    const store = JSON.parse(created.out);
    expect(store).toMatchObject({ name: 'cli-store' });
    expect((await api(`/v2/key-value-stores/${store.id}`)).status).toBe(200);

    const set = await apify('key-value-stores', 'set-value', 'cli-store', 'greeting', '{"hello":"world","n":1}');
    expect(set.code, set.err).toBe(0);
    const stored = await api(`/v2/key-value-stores/${store.id}/records/greeting`);
    expect(stored.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await stored.json()).toEqual({ hello: 'world', n: 1 });

    // A second record, written past the CLI, for the key list.
    const put = await fetch(`${server.url}/v2/key-value-stores/${store.id}/records/notes.txt`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/plain' },
      body: 'from the API',
    });
    expect(put.status).toBe(201);

    const got = await apify('key-value-stores', 'get-value', 'cli-store', 'greeting');
    expect(got.code, got.err).toBe(0);
    expect(JSON.parse(got.out)).toEqual({ hello: 'world', n: 1 });

    const keys = await apify('key-value-stores', 'keys', 'cli-store', '--json');
    expect(keys.code, keys.err).toBe(0);
    const page = JSON.parse(keys.out);
    expect(page.items.map((item: { key: string }) => item.key)).toEqual(['greeting', 'notes.txt']);

    const renamed = await apify('key-value-stores', 'rename', 'cli-store', 'cli-store-renamed');
    expect(renamed.code, renamed.err).toBe(0);
    expect(await (await api(`/v2/key-value-stores/${store.id}`)).json()).toMatchObject({ data: { id: store.id, name: 'cli-store-renamed' } });

    const deleted = await apify('key-value-stores', 'delete-value', 'cli-store-renamed', 'greeting', '--yes');
    expect(deleted.code, deleted.err).toBe(0);
    expect((await api(`/v2/key-value-stores/${store.id}/records/greeting`)).status).toBe(404);
    expect((await api(`/v2/key-value-stores/${store.id}/records/notes.txt`)).status).toBe(200);

    const removed = await apify('key-value-stores', 'rm', 'cli-store-renamed', '--yes');
    expect(removed.code, removed.err).toBe(0);
    expect((await api(`/v2/key-value-stores/${store.id}`)).status).toBe(404);

    // Every CLI process (and the server) ran guarded, and nothing tried to leave loopback.
    const guard = await readGuardLog(guardLog);
    expect(guard.armed.length).toBeGreaterThanOrEqual(9);
    expect(guard.refused).toEqual([]);
    expect(guard.children).toEqual([]);
  });

  it('without the documented quieting variables, calls home, and the guard stops it', { timeout: 5 * 60_000 }, async () => {
    // The control for the test above: the same CLI, only the base URL and a fresh HOME set.
    const controlLog = path.join(dir, 'control-guard.log');
    const controlHome = path.join(dir, 'control-home');
    await fsp.mkdir(controlHome);
    const env = { HOME: controlHome, APIFY_CLIENT_BASE_URL: server.url, APIFY_DISABLE_KEYRING: '1' };
    const run = await runNode([APIFY_CLI, 'key-value-stores', 'ls'], { env, guardLog: controlLog, cwd: dir, timeoutMs: CALL_TIMEOUT_MS });
    timings.push(`apify key-value-stores ls (control): ${run.ms} ms`);
    const guard = await readGuardLog(controlLog);
    // The update check probes two public resolvers; telemetry posts to its collector.
    expect(guard.refused).toEqual(expect.arrayContaining(['connect 1.1.1.1:443', 'connect 8.8.8.8:443', 'connect api.segment.io:443']));
  });
});
