/**
 * apify-client v2 and this client in a real browser (Chromium): the same calls through v2's
 * browser bundle and through this package's IIFE bundle, against the recording stand-in of the
 * platform (test/support/v2-platform.ts), on the page's own origin. The requests on the wire
 * (method, path, query, the headers that matter, body bytes) and the results must be the same,
 * call by call, as in Node (test/client/v2-wire.test.ts). The one deliberate difference, a
 * stream in the browser, is checked on its own.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_TOKEN, startRecordingPlatform, type RecordingPlatform } from '../support/v2-platform.js';
import { ensureBuilt, launchChromium, ROOT, watchForProblems } from './support.js';

/**
 * Runs in the page: every v2 method and option, as the Node suite calls them (bytes as a
 * Uint8Array, the browser's own kind), and a plain form of each result for comparing.
 */
const CALLS_SCRIPT = `
const big = 'x'.repeat(3000);
const kv = (c, id = 's1') => c.keyValueStore(id);
async function iterate(iterable) {
  const out = [];
  for await (const item of iterable) out.push(item);
  return out;
}
window.CALLS = {
  'list stores': (c) => c.keyValueStores().list(),
  'list stores with options': (c) => c.keyValueStores().list({ offset: 1, limit: 1, desc: true, unnamed: true, ownership: 'ownedByMe' }),
  'iterate stores': (c) => iterate(c.keyValueStores().list()),
  'iterate stores with a limit': (c) => iterate(c.keyValueStores().list({ limit: 2 })),
  'get or create by name': (c) => c.keyValueStores().getOrCreate('named'),
  'get or create with a schema': (c) => c.keyValueStores().getOrCreate('schemed', { schema: { version: 1, collections: {} } }),
  'create unnamed': (c) => c.keyValueStores().getOrCreate(),
  'get store': (c) => kv(c).get(),
  'get store by username/name': (c) => kv(c, 'alice/one').get(),
  'get missing store': (c) => kv(c, 'missing').get(),
  'update store': (c) => kv(c).update({ name: 'renamed', title: 'T', generalAccess: 'ANYONE_WITH_ID_CAN_READ' }),
  'delete store': (c) => kv(c).delete(),
  'delete missing store': (c) => kv(c, 'missing').delete(),
  'list keys': (c) => kv(c).listKeys(),
  'list keys with options': (c) => kv(c).listKeys({ limit: 2, exclusiveStartKey: 'a', prefix: 'p', collection: 'col', signature: 'sig' }),
  'list keys over 1000': (c) => kv(c).listKeys({ limit: 5000 }),
  'iterate keys': (c) => iterate(kv(c).listKeys()),
  'iterate keys with a total': (c) => iterate(kv(c).listKeys({ limit: 3 })),
  'iterate keys over 1000': (c) => iterate(kv(c).listKeys({ limit: 5000, prefix: '' })),
  'get json record': (c) => kv(c).getRecord('json'),
  'get text record': (c) => kv(c).getRecord('text'),
  'get binary record': (c) => kv(c).getRecord('bin'),
  'get record as buffer': (c) => kv(c).getRecord('json', { buffer: true }),
  'get record with signature': (c) => kv(c).getRecord('text', { signature: 'sig' }),
  'get record with disableRedirect': (c) => kv(c).getRecord('text', { disableRedirect: true }),
  'get missing record': (c) => kv(c).getRecord('absent'),
  'get record of missing store': (c) => kv(c, 'missing').getRecord('json'),
  'get record, server error': (c) => kv(c).getRecord('broken'),
  'record exists': (c) => kv(c).recordExists('json'),
  'record does not exist': (c) => kv(c).recordExists('absent'),
  'set json record': (c) => kv(c).setRecord({ key: 'k', value: { a: [1, 2], b: 'c' } }),
  'set large json record': (c) => kv(c).setRecord({ key: 'k', value: { big } }),
  'set text record': (c) => kv(c).setRecord({ key: 'k', value: 'hello' }),
  'set large text record': (c) => kv(c).setRecord({ key: 'k', value: big }),
  'set bytes record': (c) => kv(c).setRecord({ key: 'k', value: new Uint8Array([1, 2, 3]), contentType: 'application/octet-stream' }),
  'set bytes record without a content type': (c) => kv(c).setRecord({ key: 'k', value: new Uint8Array([1, 2, 3]) }),
  'set ArrayBuffer record': (c) => kv(c).setRecord({ key: 'k', value: new Uint8Array([4, 5]).buffer, contentType: 'image/png' }),
  'set record with a content type': (c) => kv(c).setRecord({ key: 'k', value: '<p>hi</p>', contentType: 'text/html' }),
  'set record with call options': (c) => kv(c).setRecord({ key: 'k', value: 1 }, { timeoutSecs: 30, doNotRetryTimeouts: true }),
  'delete record': (c) => kv(c).deleteRecord('k'),
  'delete record of missing store': (c) => kv(c, 'missing').deleteRecord('k'),
  'record public url': (c) => kv(c).getRecordPublicUrl('json'),
  'keys public url': (c) => kv(c).createKeysPublicUrl({ prefix: 'p', limit: 3 }),
};

/** Bytes as plain numbers (with their kind), errors as their v2 fields, the rest as JSON sees it. */
function plain(value) {
  if (value === undefined) return 'UNDEFINED';
  if (value instanceof ArrayBuffer) return { kind: 'ArrayBuffer', bytes: Array.from(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) return { kind: value.constructor.name, bytes: Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (value instanceof Error) {
    return { error: value.name, message: value.message, statusCode: value.statusCode, type: value.type, httpMethod: value.httpMethod, path: value.path, data: value.data, attempt: value.attempt };
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return JSON.parse(JSON.stringify(value, (_k, v) => (v instanceof Date ? 'DATE:' + v.toISOString() : v)) ?? 'null');
}

window.client = (which) => {
  const options = { baseUrl: location.origin, token: ${JSON.stringify(PLATFORM_TOKEN)}, maxRetries: 0 };
  return which === 'v2' ? new Apify.ApifyClient({ ...options, publicBaseUrl: location.origin }) : new ApifyKv.ApifyClient(options);
};

window.runCall = async (which, name) => {
  try {
    return plain(await window.CALLS[name](window.client(which)));
  } catch (error) {
    return plain(error);
  }
};
`;

let browser: Browser;
let platform: RecordingPlatform;
let page: Page;
let problems: string[];

beforeAll(async () => {
  ensureBuilt();
  platform = await startRecordingPlatform({
    '/index.html': {
      type: 'text/html; charset=utf-8',
      body: '<!doctype html><title>v2 wire</title><script src="/apify-client.js"></script><script src="/apify-kv.min.js"></script><script src="/calls.js"></script>',
    },
    '/apify-client.js': { type: 'text/javascript', body: readFileSync(path.join(ROOT, 'node_modules/apify-client/dist/bundle.js')) },
    '/apify-kv.min.js': { type: 'text/javascript', body: readFileSync(path.join(ROOT, 'dist/browser/apify-kv.min.js')) },
    '/calls.js': { type: 'text/javascript', body: CALLS_SCRIPT },
  });
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  problems = watchForProblems(page);
  await page.goto(`${platform.url}/index.html`);
  await page.waitForFunction(() => typeof (window as any).runCall === 'function' && typeof (window as any).Apify?.ApifyClient === 'function');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await platform?.close();
});

/** One call in the page through one client: its result and the requests it sent. */
async function run(which: 'v2' | 'ours', name: string) {
  platform.take();
  const result = await page.evaluate(([w, n]) => (window as any).runCall(w, n), [which, name] as const);
  return { result, requests: platform.take() };
}

describe('apify-client v2 and this client on the wire, in a real browser', () => {
  it('the page runs every call of the Node suite', async () => {
    const names = await page.evaluate(() => Object.keys((window as any).CALLS));
    expect(names.length).toBeGreaterThanOrEqual(40);
    expect(problems).toEqual([]);
  });

  it('every call: the same requests and the same result', async () => {
    const names: string[] = await page.evaluate(() => Object.keys((window as any).CALLS));
    const differences: string[] = [];
    for (const name of names) {
      const theirs = await run('v2', name);
      const mine = await run('ours', name);
      for (const r of [...theirs.requests, ...mine.requests]) {
        // axios labels an empty POST as a form; without a body the label means nothing.
        if (r.body === '') r.headers['content-type'] = undefined;
        // v2 sends through XMLHttpRequest, and Chromium's rewrites the charset of a string body to
        // "UTF-8"; this client sends through fetch, which keeps "utf-8". Charset names are
        // case-insensitive (RFC 9110), so the header means the same.
        r.headers['content-type'] = r.headers['content-type']?.replace(/charset=([^;]+)/i, (_m, v: string) => `charset=${v.toLowerCase()}`);
      }
      expect(theirs.requests.length, `${name}: v2 sent nothing`).toBeGreaterThan(0);
      try {
        expect(mine.requests, name).toEqual(theirs.requests);
        expect(mine.result, name).toEqual(theirs.result);
      } catch (error) {
        differences.push(`${name}: ${(error as Error).message}\n  v2:   ${JSON.stringify(theirs)}\n  ours: ${JSON.stringify(mine)}`);
      }
    }
    expect(differences).toEqual([]);
    expect(problems).toEqual([]);
    // The results are real ones, not two equal failures.
    expect((await run('ours', 'get json record')).result).toEqual({ key: 'json', value: { hello: ['world', 1] }, contentType: 'application/json; charset=utf-8' });
    expect((await run('v2', 'get record as buffer')).result).toMatchObject({ key: 'json', value: { kind: 'ArrayBuffer' } });
    expect((await run('ours', 'get record, server error')).result).toMatchObject({ error: 'ApifyApiError', statusCode: 500, message: 'Boom' });
  }, 120_000);

  it('buffer: true and the other raw-byte reads give an ArrayBuffer, as with v2 (the type without Node types: PlatformBytes)', async () => {
    const result = await page.evaluate(async () => {
      const w = window as any;
      /** What a byte result really is, in this page's realm. */
      const kind = (value: unknown) => ({
        arrayBuffer: value instanceof ArrayBuffer,
        view: ArrayBuffer.isView(value),
        bytes: value instanceof ArrayBuffer ? Array.from(new Uint8Array(value)) : null,
      });
      const kv = (which: string) => w.client(which).keyValueStore('s1');
      return {
        v2Buffer: kind((await kv('v2').getRecord('bin', { buffer: true })).value),
        oursBuffer: kind((await kv('ours').getRecord('bin', { buffer: true })).value),
        oursJsonAsBuffer: kind((await kv('ours').getRecord('json', { buffer: true })).value),
        oursBinary: kind((await kv('ours').getRecord('bin')).value),
        oursFlat: kind((await w.client('ours').keyValueStores.getRecord({ storeId: 's1', key: 'bin', disableBodyParser: true })).body),
        oursFlatDecoded: kind((await w.client('ours').keyValueStores.getRecord({ storeId: 's1', key: 'bin' })).body),
      };
    });
    const bin = { arrayBuffer: true, view: false, bytes: [0, 1, 2, 250] };
    expect(result).toEqual({
      v2Buffer: bin,
      oursBuffer: bin,
      oursJsonAsBuffer: { arrayBuffer: true, view: false, bytes: [...Buffer.from(JSON.stringify({ hello: ['world', 1] }))] },
      oursBinary: bin,
      oursFlat: bin,
      oursFlatDecoded: bin,
    });
    expect(problems).toEqual([]);
  });

  it('stream: true gives a web ReadableStream of the record, where v2 throws (a deliberate difference)', async () => {
    const result = await page.evaluate(async () => {
      const w = window as any;
      const ours = await w.client('ours').keyValueStore('s1').getRecord('bin', { stream: true });
      const bytes = new Uint8Array(await new Response(ours.value).arrayBuffer());
      let v2 = '';
      await w.client('v2').keyValueStore('s1').getRecord('bin', { stream: true }).catch((e: Error) => (v2 = e.message));
      return { isStream: ours.value instanceof ReadableStream, bytes: Array.from(bytes), contentType: ours.contentType, v2 };
    });
    expect(result).toEqual({ isStream: true, bytes: [0, 1, 2, 250], contentType: 'application/octet-stream', v2: expect.stringMatching(/only be used in Node/) });
  });
});
