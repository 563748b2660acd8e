/**
 * The same calls through the official apify-client v2 and through ours, against a recording
 * server that answers canned platform answers: the requests on the wire (method, path, query,
 * the headers that matter, body bytes) and the results must be the same, call by call. Also
 * the v2 argument checks: unknown option names are refused before any request.
 */
import { Readable } from 'node:stream';
import type { AxiosRequestConfig } from 'axios';
import { ApifyClient as OfficialClient } from 'apify-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import { PLATFORM_TOKEN as TOKEN, startRecordingPlatform, type RecordingPlatform, type Recorded } from '../support/v2-platform.js';

let platform: RecordingPlatform;
let baseUrl: string;

beforeAll(async () => {
  platform = await startRecordingPlatform();
  baseUrl = platform.url;
});

afterAll(async () => {
  await platform.close();
});

type AnyClient = {
  keyValueStores(): { list(o?: object): Promise<unknown> & AsyncIterable<unknown>; getOrCreate(name?: string, o?: object): Promise<unknown> };
  keyValueStore(id: string): Record<string, (...args: never[]) => unknown>;
};

const official = (): AnyClient =>
  new OfficialClient({ baseUrl, publicBaseUrl: baseUrl, token: TOKEN, maxRetries: 0 }) as unknown as AnyClient;
const ours = (): AnyClient => new ApifyClient({ baseUrl, token: TOKEN, maxRetries: 0 }) as unknown as AnyClient;

/** Buffers as plain bytes, errors as their v2 fields, everything else as JSON sees it. */
function plain(value: unknown): unknown {
  if (value === undefined) return 'UNDEFINED';
  if (Buffer.isBuffer(value)) return { bytes: [...value] };
  if (value instanceof Error) {
    const e = value as Error & Record<string, unknown>;
    return { error: e.name, message: e.message, statusCode: e.statusCode, type: e.type, httpMethod: e.httpMethod, path: e.path, data: e.data, attempt: e.attempt };
  }
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? `DATE:${v.toISOString()}` : v)));
}

async function run(client: AnyClient, call: (c: AnyClient) => Promise<unknown>): Promise<{ result: unknown; requests: Recorded[] }> {
  platform.take();
  let result: unknown;
  try {
    result = plain(await call(client));
  } catch (error) {
    result = plain(error);
  }
  return { result, requests: platform.take() };
}

async function iterate(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const kv = (c: AnyClient, id = 's1') => c.keyValueStore(id) as unknown as Record<string, (...args: unknown[]) => Promise<unknown> & AsyncIterable<unknown>>;
const big = 'x'.repeat(3000);

/** Every v2 method and option, each a call both clients make. */
const CALLS: Record<string, (c: AnyClient) => Promise<unknown>> = {
  'list stores': (c) => c.keyValueStores().list(),
  'list stores with options': (c) => c.keyValueStores().list({ offset: 1, limit: 1, desc: true, unnamed: true, ownership: 'ownedByMe' }),
  'iterate stores': (c) => iterate(c.keyValueStores().list()),
  'iterate stores with a limit': (c) => iterate(c.keyValueStores().list({ limit: 2 })),
  'get or create by name': (c) => c.keyValueStores().getOrCreate('named'),
  'get or create with a schema': (c) => c.keyValueStores().getOrCreate('schemed', { schema: { version: 1, collections: {} } }),
  'create unnamed': (c) => c.keyValueStores().getOrCreate(),
  'get store': (c) => kv(c).get!(),
  'get store by username/name': (c) => kv(c, 'alice/one').get!(),
  'get missing store': (c) => kv(c, 'missing').get!(),
  'update store': (c) => kv(c).update!({ name: 'renamed', title: 'T', generalAccess: 'ANYONE_WITH_ID_CAN_READ' }),
  'delete store': (c) => kv(c).delete!(),
  'delete missing store': (c) => kv(c, 'missing').delete!(),
  'list keys': (c) => kv(c).listKeys!(),
  'list keys with options': (c) => kv(c).listKeys!({ limit: 2, exclusiveStartKey: 'a', prefix: 'p', collection: 'col', signature: 'sig' }),
  'list keys over 1000': (c) => kv(c).listKeys!({ limit: 5000 }),
  'iterate keys': (c) => iterate(kv(c).listKeys!()),
  'iterate keys with a total': (c) => iterate(kv(c).listKeys!({ limit: 3 })),
  'iterate keys over 1000': (c) => iterate(kv(c).listKeys!({ limit: 5000, prefix: '' })),
  'get json record': (c) => kv(c).getRecord!('json'),
  'get text record': (c) => kv(c).getRecord!('text'),
  'get binary record': (c) => kv(c).getRecord!('bin'),
  'get record as buffer': (c) => kv(c).getRecord!('json', { buffer: true }),
  'get record with signature': (c) => kv(c).getRecord!('text', { signature: 'sig' }),
  'get record with disableRedirect': (c) => kv(c).getRecord!('text', { disableRedirect: true }),
  'get record as stream': async (c) => {
    const record = (await kv(c).getRecord!('bin', { stream: true })) as { value: AsyncIterable<Buffer> };
    const chunks: Buffer[] = [];
    for await (const chunk of record.value) chunks.push(Buffer.from(chunk));
    return { ...record, value: Buffer.concat(chunks) };
  },
  'get missing record': (c) => kv(c).getRecord!('absent'),
  'get record of missing store': (c) => kv(c, 'missing').getRecord!('json'),
  'get record, server error': (c) => kv(c).getRecord!('broken'),
  'record exists': (c) => kv(c).recordExists!('json'),
  'record does not exist': (c) => kv(c).recordExists!('absent'),
  'set json record': (c) => kv(c).setRecord!({ key: 'k', value: { a: [1, 2], b: 'c' } }),
  'set large json record': (c) => kv(c).setRecord!({ key: 'k', value: { big } }),
  'set text record': (c) => kv(c).setRecord!({ key: 'k', value: 'hello' }),
  'set large text record': (c) => kv(c).setRecord!({ key: 'k', value: big }),
  'set buffer record': (c) => kv(c).setRecord!({ key: 'k', value: Buffer.from([1, 2, 3]) }),
  'set stream record': (c) => kv(c).setRecord!({ key: 'k', value: Readable.from([Buffer.from('ab'), Buffer.from('c')]), contentType: 'text/plain' }),
  'set record with a content type': (c) => kv(c).setRecord!({ key: 'k', value: '<p>hi</p>', contentType: 'text/html' }),
  'set record with call options': (c) => kv(c).setRecord!({ key: 'k', value: 1 }, { timeoutSecs: 30, doNotRetryTimeouts: true }),
  'delete record': (c) => kv(c).deleteRecord!('k'),
  'delete record of missing store': (c) => kv(c, 'missing').deleteRecord!('k'),
  'record public url': (c) => kv(c).getRecordPublicUrl!('json'),
  'keys public url': (c) => kv(c).createKeysPublicUrl!({ prefix: 'p', limit: 3 }),
  'expiring keys public url': async (c) => {
    // The signature covers the expiry time: both clients must read the same clock.
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 2), toFake: ['Date'] });
    try {
      return await kv(c).createKeysPublicUrl!({ exclusiveStartKey: 'a', collection: 'col', expiresInSecs: 600 });
    } finally {
      vi.useRealTimers();
    }
  },
};

/**
 * Request hooks both clients are given: two marking the order they run in, an async one changing
 * the query, one pointing a record read at another record.
 */
function hooks(): Array<(config: AxiosRequestConfig) => AxiosRequestConfig | Promise<AxiosRequestConfig>> {
  const mark = (name: string) => (config: AxiosRequestConfig) => {
    const headers = config.headers as Record<string, string | undefined>;
    headers['x-hook'] = headers['x-hook'] ? `${headers['x-hook']},${name}` : name;
    return config;
  };
  return [
    mark('first'),
    mark('second'),
    async (config) => {
      await new Promise((resolve) => setImmediate(resolve));
      return { ...config, params: { ...(config.params as object), hooked: 'yes', limit: 1 } };
    },
    (config) => {
      config.url = config.url!.replace('/records/json', '/records/text');
      return config;
    },
  ];
}

const HOOKED_CALLS: Record<string, (c: AnyClient) => Promise<unknown>> = {
  'list stores': CALLS['list stores with options']!,
  'list keys': CALLS['list keys with options']!,
  'get record, pointed at another': CALLS['get json record']!,
  'get record as buffer': CALLS['get record as buffer']!,
  'set large json record': CALLS['set large json record']!,
  'set text record': CALLS['set text record']!,
  'get missing record': CALLS['get missing record']!,
};

describe('apify-client v2 and this client with request hooks (requestInterceptors)', () => {
  const hookedOfficial = (): AnyClient =>
    new OfficialClient({ baseUrl, publicBaseUrl: baseUrl, token: TOKEN, maxRetries: 0, requestInterceptors: hooks() }) as unknown as AnyClient;
  const hookedOurs = (): AnyClient => new ApifyClient({ baseUrl, token: TOKEN, maxRetries: 0, requestInterceptors: hooks() }) as unknown as AnyClient;
  for (const [name, call] of Object.entries(HOOKED_CALLS)) {
    it(`${name}: the same hooked requests and the same result`, async () => {
      const theirs = await run(hookedOfficial(), call);
      const mine = await run(hookedOurs(), call);
      for (const r of theirs.requests) if (r.body === '') r.headers['content-type'] = undefined;
      expect(theirs.requests.length).toBeGreaterThan(0);
      // The hooks ran on every request, last registered first.
      for (const r of theirs.requests) expect([r.headers['x-hook'], r.query.hooked, r.query.limit]).toEqual(['second,first', 'yes', '1']);
      expect(mine.requests).toEqual(theirs.requests);
      expect(mine.result).toEqual(theirs.result);
    });
  }

  it('a hook that throws fails the call with its error, before any request, in both clients', async () => {
    const refusal = new Error('refused by the hook');
    const refuse = () => {
      throw refusal;
    };
    for (const client of [
      new OfficialClient({ baseUrl, token: TOKEN, maxRetries: 0, requestInterceptors: [refuse] }),
      new ApifyClient({ baseUrl, token: TOKEN, maxRetries: 0, requestInterceptors: [refuse] }),
    ]) {
      platform.take();
      await expect(client.keyValueStore('s1').getRecord('json')).rejects.toBe(refusal);
      expect(platform.take()).toEqual([]);
    }
  });
});

describe('apify-client v2 and this client on the wire', () => {
  for (const [name, call] of Object.entries(CALLS)) {
    it(`${name}: the same requests and the same result`, async () => {
      const theirs = await run(official(), call);
      const mine = await run(ours(), call);
      // axios labels an empty POST as a form; without a body the label means nothing.
      for (const r of theirs.requests) if (r.body === '') r.headers['content-type'] = undefined;
      expect(mine.requests).toEqual(theirs.requests);
      expect(mine.result).toEqual(theirs.result);
    });
  }

  it('sends booleans as 1/0 (attachment as true) and compresses large bodies with brotli', async () => {
    const mine = await run(ours(), (c) => c.keyValueStores().list({ desc: true }));
    expect(mine.requests[0]!.query.desc).toBe('1');
    const record = await run(ours(), (c) => kv(c).getRecord!('text'));
    expect(record.requests[0]!.query.attachment).toBe('true');
    const put = await run(ours(), (c) => kv(c).setRecord!({ key: 'k', value: big }));
    expect(put.requests[0]!.headers['content-encoding']).toBe('br');
  });

  it('the expiring keys link is signed with its expiry, and the stream call really streams the record', async () => {
    const url = new URL(String((await run(ours(), CALLS['expiring keys public url']!)).result));
    const signature = Buffer.from(url.searchParams.get('signature')!, 'base64url').toString();
    expect(signature).toMatch(new RegExp(`^0\\.${Date.UTC(2026, 0, 2) + 600_000}\\.[0-9A-Za-z]+$`));
    expect(url.searchParams.get('expiresInSecs')).toBeNull();
    expect((await run(ours(), CALLS['get record as stream']!)).result).toMatchObject({ key: 'bin', value: { type: 'Buffer', data: [0, 1, 2, 250] } });
  });

  it('refuses unknown option names before any request, as v2 does', async () => {
    const typos: Array<(c: AnyClient) => Promise<unknown>> = [
      (c) => kv(c).setRecord!({ key: 'k', value: 'v', contenType: 'text/html' }),
      (c) => kv(c).getRecord!('k', { bufer: true }),
      (c) => kv(c).listKeys!({ limt: 5 }),
      (c) => c.keyValueStores().list({ ofset: 1 }),
      (c) => kv(c).createKeysPublicUrl!({ expiresInSec: 5 }),
      // A list-keys option that v2 refuses here: the URL is signed by the client itself.
      (c) => kv(c).createKeysPublicUrl!({ prefix: 'p', signature: 'sig' }),
      (c) => kv(c).setRecord!({ key: 'k', value: 'v' }, { timeoutSec: 5 }),
    ];
    for (const typo of typos) {
      for (const client of [official(), ours()]) {
        platform.take();
        await expect(Promise.resolve().then(() => typo(client))).rejects.toThrow();
        expect(platform.take()).toEqual([]);
      }
      const error = await Promise.resolve()
        .then(() => typo(ours()))
        .catch((e: unknown) => e);
      expect((error as Error).name).toBe('ApifyArgumentError');
    }
  });

  it('refuses an unknown client option when the client is made, as v2 does', () => {
    const typo = { baseUrl, tokn: TOKEN };
    expect(() => new OfficialClient(typo as never)).toThrow(/tokn/);
    expect(() => new ApifyClient(typo as never)).toThrow(expect.objectContaining({ name: 'ApifyArgumentError', argument: 'options.tokn', message: expect.stringMatching(/"tokn"/) }));
    // v2's axios request hooks: taken, as v2 takes them.
    const hooks = { baseUrl, requestInterceptors: [(config: AxiosRequestConfig) => config, null] };
    expect(() => new OfficialClient(hooks)).not.toThrow();
    expect(() => new ApifyClient(hooks)).not.toThrow();
    expect(() => new ApifyClient({ baseUrl, requestInterceptors: ['x'] as never })).toThrow(expect.objectContaining({ argument: 'requestInterceptors' }));
    // Every option this client documents is taken.
    expect(() => new ApifyClient({ baseUrl, token: TOKEN, publicBaseUrl: baseUrl, userAgentSuffix: ['a'], maxRetries: 1, minDelayBetweenRetriesMillis: 1, timeoutSecs: 1 })).not.toThrow();
  });

  it('deleteRecord swallows only a missing record: a missing store is an error', async () => {
    await expect(kv(ours()).deleteRecord!('absent-on-delete')).resolves.toBeUndefined();
    const error = (await kv(ours(), 'missing').deleteRecord!('k').catch((e: unknown) => e)) as Record<string, unknown>;
    expect([error.name, error.statusCode, error.type]).toEqual(['ApifyApiError', 404, 'record-or-token-not-found']);
  });

  it('client.keyValueStores is both v2\'s collection factory and the flat API', async () => {
    const client = new ApifyClient({ baseUrl, token: TOKEN, maxRetries: 0 });
    expect(typeof client.keyValueStores).toBe('function');
    const viaV2 = await client.keyValueStores().getOrCreate('both');
    const viaFlat = await client.keyValueStores.getOrCreateStore({ storeName: 'both' });
    expect(viaV2).toEqual(viaFlat);
    expect((await client.keyValueStores.listKeys({ storeId: 's1', limit: 2 })).items.map((i) => i.key)).toEqual(['a', 'b']);
  });

  it('gives errors apify-client v2 fields: clientMethod, data, originalStack', async () => {
    const error = (await kv(ours()).getRecord!('broken').catch((e: unknown) => e)) as Record<string, unknown>;
    expect(error.clientMethod).toBe('KeyValueStoreClient.getRecord');
    expect(error.data).toEqual({ reason: 'test' });
    expect(error.message).toBe('Boom');
    expect(error.originalStack).toEqual(expect.stringContaining('at '));
    const theirs = (await kv(official()).getRecord!('broken').catch((e: unknown) => e)) as Record<string, unknown>;
    expect(theirs.clientMethod).toBe(error.clientMethod);
  });
});
