/**
 * An actor written for the official Apify SDK (`apify`, a devDependency), unchanged, runs "at
 * home" against `apify-kv serve --token T` with exactly the variables docs/compatibility.md
 * gives: `getInput`, `setValue`, `openKeyValueStore`, `forEachKey` and `getPublicUrl` go
 * through the server, and the public links it makes work there. The loopback guard refuses
 * (and records) anything the SDK would send elsewhere.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt, ROOT } from '../cli/helpers.js';
import { readGuardLog } from '../support/loopback-guard.js';
import { documentedVariables, runNode, startServe, tempDir, type ServeProcess } from './apify-tools.js';

const TOKEN = 'sdk-test-token';
const ACTOR = path.join(ROOT, 'test/e2e/fixtures/apify-actor.mjs');
/** An actor run takes about 1 s of CPU; 7 s was seen on a loaded machine. */
const RUN_TIMEOUT_MS = 150_000;

let dir: string;
let guardLog: string;
let server: ServeProcess;

/** The variables docs/compatibility.md lists for an Apify SDK actor, and nothing else. */
function documentedActorEnv(defaultStoreId: string): Record<string, string> {
  return {
    APIFY_IS_AT_HOME: '1',
    APIFY_TOKEN: TOKEN,
    APIFY_API_BASE_URL: server.url,
    APIFY_API_PUBLIC_BASE_URL: server.url,
    ACTOR_DEFAULT_KEY_VALUE_STORE_ID: defaultStoreId,
    APIFY_ACTOR_PRICING_INFO: '{}',
    APIFY_CHARGED_ACTOR_EVENT_COUNTS: '{}',
  };
}

async function api(pathname: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${pathname}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, ...init.headers } });
}

beforeAll(async () => {
  ensureBuilt();
  dir = await tempDir('kv-apify-sdk-');
  guardLog = path.join(dir, 'guard.log');
  server = await startServe(path.join(dir, 'storage'), TOKEN, guardLog);
}, 300_000);

afterAll(async () => {
  await server?.stop();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('an Apify SDK actor at home on apify-kv serve', () => {
  it('reads its input and writes its records through the server; its public links work there', { timeout: 5 * 60_000 }, async () => {
    // What the platform prepares for a run: an unnamed default store holding the input.
    const created = await api('/v2/key-value-stores', { method: 'POST' });
    expect(created.status).toBe(201);
    const defaultStore = (await created.json()).data as { id: string };
    const input = { name: 'Ada', pages: ['https://example.com/a', 'https://example.com/b'] };
    const putInput = await api(`/v2/key-value-stores/${defaultStore.id}/records/INPUT`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(putInput.status).toBe(201);

    const env = documentedActorEnv(defaultStore.id);
    expect(Object.keys(env).sort()).toEqual(await documentedVariables('### An Apify SDK actor'));
    const workDir = path.join(dir, 'actor');
    await fsp.mkdir(workDir);
    const run = await runNode([ACTOR], { env, guardLog, cwd: workDir, timeoutMs: RUN_TIMEOUT_MS });
    console.log(`Apify SDK actor run: ${run.ms} ms`);
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);

    // Actor.setValue went to the default store.
    const output = await api(`/v2/key-value-stores/${defaultStore.id}/records/OUTPUT`);
    expect(await output.json()).toEqual({ greeting: 'Hello, Ada!' });

    // openKeyValueStore('actor-results') made a named store of the token's user.
    const results = await api('/v2/key-value-stores/local~actor-results');
    expect(results.status).toBe(200);
    const resultsId = (await results.json()).data.id as string;
    const page1 = await api(`/v2/key-value-stores/${resultsId}/records/page-1`);
    expect(await page1.json()).toEqual({ url: 'https://example.com/b' });
    const summary = await api(`/v2/key-value-stores/${resultsId}/records/summary.txt`);
    expect(summary.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await summary.text()).toBe('2 pages');

    const report = await (await api(`/v2/key-value-stores/${defaultStore.id}/records/REPORT`)).json();
    // forEachKey walked the server's key list, in order, with sizes.
    expect(report.seen).toEqual([
      { key: 'page-0', index: 0, size: Buffer.byteLength(JSON.stringify({ url: input.pages[0] }, null, 2)) },
      { key: 'page-1', index: 1, size: Buffer.byteLength(JSON.stringify({ url: input.pages[1] }, null, 2)) },
      { key: 'summary.txt', index: 2, size: 7 },
    ]);

    // getPublicUrl (a string) points at this server, signed: it reads without a token, and
    // without the signature the same link is refused.
    expect(report.summaryUrl).toMatch(new RegExp(`^${server.url}/v2/key-value-stores/${resultsId}/records/summary\\.txt\\?signature=\\w+$`));
    const viaLink = await fetch(report.summaryUrl);
    expect(viaLink.status).toBe(200);
    expect(await viaLink.text()).toBe('2 pages');
    const unsigned = await fetch(report.summaryUrl.replace(/\?.*$/, ''));
    expect(unsigned.status).toBe(404); // as for a store that does not exist: nothing is given away
    expect((await unsigned.json()).error.type).toBe('record-or-token-not-found');
    const outputViaLink = await fetch(report.outputUrl);
    expect(await outputViaLink.json()).toEqual({ greeting: 'Hello, Ada!' });

    // Nothing was written locally (at home the SDK keeps no ./storage), nothing left loopback.
    expect(await fsp.readdir(workDir)).toEqual([]);
    const guard = await readGuardLog(guardLog);
    expect(guard.armed.length).toBeGreaterThanOrEqual(2);
    expect(guard.refused).toEqual([]);
    expect(guard.children).toEqual([]);
  });

  it('without the pricing variables, stops in Actor.init asking for a run the server does not have', { timeout: 5 * 60_000 }, async () => {
    const created = await api('/v2/key-value-stores', { method: 'POST' });
    const env: Record<string, string> = documentedActorEnv((await created.json()).data.id);
    delete env.APIFY_ACTOR_PRICING_INFO;
    delete env.APIFY_CHARGED_ACTOR_EVENT_COUNTS;
    const workDir = path.join(dir, 'control');
    await fsp.mkdir(workDir);
    const run = await runNode([ACTOR], { env, guardLog, cwd: workDir, timeoutMs: RUN_TIMEOUT_MS });
    expect(run.code).not.toBe(0);
    expect(run.err).toContain('Actor run ID not found');
  });

  it('answers the platform endpoints it does not serve as the platform answers an unknown endpoint', async () => {
    for (const [method, pathname] of [
      ['GET', '/v2/actor-runs/some-run'],
      ['PUT', '/v2/actor-runs/some-run'],
      ['POST', '/v2/datasets'],
      ['POST', '/v2/request-queues'],
    ] as const) {
      const response = await api(pathname, { method });
      expect(response.status, `${method} ${pathname}`).toBe(404);
      expect((await response.json()).error.type).toBe('page-not-found');
    }
  });
});
